package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/galaxy/rtmanager/test/harness"
)

// call sends one JSON request to the service and decodes the answer.
type reply struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

func call(t *testing.T, s *harness.Service, method, path string, body any, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return r
}

// errorField reads one field of the error envelope ("" when there is none).
func (r reply) errorField(key string) string {
	e, _ := r.Body["error"].(map[string]any)
	v, _ := e[key].(string)
	return v
}

func (r reply) errorCode() string    { return r.errorField("code") }
func (r reply) errorMessage() string { return r.errorField("message") }

func expect(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.Status != status || r.errorCode() != code {
		t.Fatalf("got %d %q (%s), want %d %q", r.Status, r.errorCode(), r.Raw, status, code)
	}
}

// expectOutcome checks what a lifecycle answer says it did (X-Galaxy-Outcome).
func expectOutcome(t *testing.T, r reply, want string) {
	t.Helper()
	if got := r.Header.Get("X-Galaxy-Outcome"); got != want {
		t.Errorf("X-Galaxy-Outcome %q, want %q (%d %s)", got, want, r.Status, r.Raw)
	}
}

func str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

func rt(id string) string { return "/api/v1/internal/runtimes/" + id }

func start(t *testing.T, s *harness.Service, id, ref string, headers ...string) reply {
	t.Helper()
	return call(t, s, http.MethodPost, rt(id)+"/start", map[string]string{"image_ref": ref}, headers...)
}

func stop(t *testing.T, s *harness.Service, id, reason string) reply {
	t.Helper()
	return call(t, s, http.MethodPost, rt(id)+"/stop", map[string]string{"reason": reason})
}

// operations returns the game's operation log, newest first.
func operations(t *testing.T, s *harness.Service, id string) []map[string]any {
	t.Helper()
	r := call(t, s, http.MethodGet, rt(id)+"/operations?limit=500", nil)
	expect(t, r, 200, "")
	var out []map[string]any
	for _, o := range r.Body["operations"].([]any) {
		out = append(out, o.(map[string]any))
	}
	return out
}

func inspect(t *testing.T, s *harness.Service, id string) container.InspectResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := s.Docker.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatalf("inspect %s: %v", id, err)
	}
	return c
}

// engineCounter reads the sample engine's persisted counter through its IP.
type counter struct {
	Counter int64 `json:"counter"`
	Boots   int64 `json:"boots"`
}

func engineURL(t *testing.T, s *harness.Service, containerID string) string {
	t.Helper()
	c := inspect(t, s, containerID)
	ep := c.NetworkSettings.Networks[s.Config.DockerNetwork]
	if ep == nil || ep.IPAddress == "" {
		t.Fatalf("container %s has no address on %s", containerID, s.Config.DockerNetwork)
	}
	return fmt.Sprintf("http://%s:8080", ep.IPAddress)
}

func engineCounter(t *testing.T, s *harness.Service, containerID, method string) counter {
	t.Helper()
	return readCounter(t, engineURL(t, s, containerID), method)
}

// readCounter asks the engine at baseURL for its counter (POST increments it).
func readCounter(t *testing.T, baseURL, method string) counter {
	t.Helper()
	req, _ := http.NewRequest(method, baseURL+"/counter", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("engine counter: %v", err)
	}
	defer resp.Body.Close()
	var c counter
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatalf("engine counter: %v", err)
	}
	return c
}

// healthEvents reads the test's health stream entries of one game.
func healthEvents(t *testing.T, s *harness.Service, gameID string) []map[string]any {
	t.Helper()
	return entries(t, s, s.Config.Streams.HealthEvents, func(v map[string]any) bool { return v["game_id"] == gameID })
}

// intents reads the test's notification intents of one game.
func intents(t *testing.T, s *harness.Service, gameID string) []map[string]any {
	t.Helper()
	return entries(t, s, s.Config.Streams.NotificationIntents, func(v map[string]any) bool {
		return strings.Contains(fmt.Sprint(v["idempotency_key"]), ":"+gameID+":")
	})
}

// entries returns the fields of a stream's entries that match.
func entries(t *testing.T, s *harness.Service, stream string, match func(map[string]any) bool) []map[string]any {
	t.Helper()
	msgs, err := s.Redis.XRange(context.Background(), stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, m := range msgs {
		if match(m.Values) {
			out = append(out, m.Values)
		}
	}
	return out
}
