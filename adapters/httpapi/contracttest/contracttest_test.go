package contracttest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/galaxy/rtmanager/adapters/httpapi/contracttest"
)

// recorder is a testing.TB that keeps the failures it is told about.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Helper() {}

const record = `{"game_id":"g","status":"running","current_container_id":"c","current_image_ref":"galaxy/game:1.0.0",
"engine_endpoint":"http://galaxy-game-g:8080","state_path":"/s/g","docker_network":"galaxy-net","engine_node":null,
"started_at":"2031-03-14T15:09:26Z","stopped_at":null,"removed_at":null,
"last_op_at":"2031-03-14T15:09:26Z","created_at":"2031-03-14T15:09:26Z"}`

const jsonType = "application/json; charset=utf-8"

// answer is a handler that answers with a fixed status, content type and
// body, echoing X-Request-Id unless told not to.
func answer(status int, contentType, body string, echo bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("X-Request-Id"); echo && id != "" {
			w.Header().Set("X-Request-Id", id)
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

// withHeader is h with one more response header.
func withHeader(h http.Handler, name, value string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(name, value)
		h.ServeHTTP(w, r)
	})
}

func TestChecks(t *testing.T) {
	envelope := `{"error":{"code":"not_found","message":"no runtime for game g"}}`
	cases := []struct {
		name         string
		method, path string
		handler      http.Handler
		requestID    string
		violation    string // "" when the answer keeps to the contract
	}{
		{name: "record", method: "GET", path: "/api/v1/internal/runtimes/g", handler: answer(200, jsonType, record, true), requestID: "r1"},
		{name: "declared error", method: "GET", path: "/api/v1/internal/runtimes/g", handler: answer(404, jsonType, envelope, true)},
		{name: "metrics", method: "GET", path: "/metrics", handler: answer(200, "text/plain; version=0.0.4", "x 1\n", true)},
		{name: "unrouted envelope", method: "GET", path: "/nope", handler: answer(404, jsonType, envelope, true)},
		{name: "undeclared status", method: "GET", path: "/api/v1/internal/runtimes/g", handler: answer(409, jsonType, envelope, true),
			violation: "status is not supported"},
		{name: "body off schema", method: "GET", path: "/api/v1/internal/runtimes/g",
			handler:   answer(200, jsonType, strings.Replace(record, `"status":"running"`, `"status":"paused"`, 1), true),
			violation: "doesn't match schema"},
		{name: "unknown code", method: "GET", path: "/api/v1/internal/runtimes/g",
			handler: answer(404, jsonType, `{"error":{"code":"gone","message":"x"}}`, true), violation: "doesn't match schema"},
		{name: "no charset", method: "GET", path: "/api/v1/internal/runtimes/g", handler: answer(200, "application/json", record, true),
			violation: "Content-Type"},
		{name: "request id not echoed", method: "GET", path: "/api/v1/internal/runtimes/g", handler: answer(200, jsonType, record, false),
			requestID: "r2", violation: "not echoed"},
		{name: "unrouted, not an envelope", method: "GET", path: "/nope", handler: answer(404, "text/plain", "404 page not found", true),
			violation: "not JSON"},
		{name: "lifecycle record with its outcome", method: "POST", path: "/api/v1/internal/runtimes/g/stop",
			handler: withHeader(answer(200, jsonType, record, true), "X-Galaxy-Outcome", "replay_no_op")},
		{name: "lifecycle error with its outcome", method: "DELETE", path: "/api/v1/internal/runtimes/g/container",
			handler: withHeader(answer(404, jsonType, envelope, true), "X-Galaxy-Outcome", "failure")},
		{name: "lifecycle answer without its outcome", method: "POST", path: "/api/v1/internal/runtimes/g/start",
			handler: answer(200, jsonType, record, true), violation: `response header "X-Galaxy-Outcome" missing`},
		{name: "unknown outcome", method: "POST", path: "/api/v1/internal/runtimes/g/restart",
			handler:   withHeader(answer(409, jsonType, `{"error":{"code":"conflict","message":"busy"}}`, true), "X-Galaxy-Outcome", "done"),
			violation: `response header "X-Galaxy-Outcome" doesn't match schema`},
		{name: "unrouted, wrong status", method: "GET", path: "/api/v1/internal/runtimes/g/start", handler: answer(404, jsonType, envelope, true),
			violation: "must be 405"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, via := range []string{"handler", "transport"} {
				rec := &recorder{TB: t}
				var srv *httptest.Server
				client := http.DefaultClient
				if via == "handler" {
					srv = httptest.NewServer(contracttest.Handler(rec, c.handler))
				} else {
					srv = httptest.NewServer(c.handler)
					client = &http.Client{Transport: contracttest.Transport(rec, nil)}
				}
				req, err := http.NewRequestWithContext(t.Context(), c.method, srv.URL+c.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if c.requestID != "" {
					req.Header.Set("X-Request-Id", c.requestID)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				srv.Close()
				if err != nil {
					t.Fatal(err)
				}
				// The wrappers only watch: the caller gets the answer as sent.
				direct := httptest.NewRecorder()
				c.handler.ServeHTTP(direct, req)
				if resp.StatusCode != direct.Code || string(body) != direct.Body.String() {
					t.Errorf("%s: passed on %d %q, want %d %q", via, resp.StatusCode, body, direct.Code, direct.Body)
				}
				check(t, via, rec.errors, c.violation)
			}
		})
	}
}

func check(t *testing.T, via string, errs []string, violation string) {
	t.Helper()
	switch {
	case violation == "" && len(errs) > 0:
		t.Errorf("%s: unexpected violations: %q", via, errs)
	case violation != "" && (len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), violation)):
		t.Errorf("%s: violations %q, want one about %q", via, errs, violation)
	}
}
