package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/adapters/httpapi"
	"github.com/galaxy/rtmanager/core/domain"
)

func TestAuth(t *testing.T) {
	const token = "s3cret-token"
	srv, lc := server(t, httpapi.Config{Token: token})
	denied := []struct {
		name    string
		headers []string
	}{
		{"no header", nil},
		{"wrong token", []string{"Authorization", "Bearer nope"}},
		{"token prefix", []string{"Authorization", "Bearer s3cret"}},
		{"other scheme", []string{"Authorization", "Basic " + token}},
		{"no scheme", []string{"Authorization", token}},
		{"empty bearer", []string{"Authorization", "Bearer "}},
	}
	for _, d := range denied {
		t.Run(d.name, func(t *testing.T) {
			headers := append([]string{"X-Request-Id", "r-" + strings.ReplaceAll(d.name, " ", "-")}, d.headers...)
			for _, p := range []struct{ method, path, body string }{
				{"GET", runtimes, ""},
				{"POST", runtimes + "/game-1/start", `{"image_ref":"galaxy/game:1.0.0"}`},
				// Authentication comes first: bad input tells nothing to a stranger.
				{"POST", runtimes + "/..%2Fx/start", `{"bad":1}`},
			} {
				r := do(t, srv, p.method, p.path, p.body, headers...)
				r.expectError(t, http.StatusUnauthorized, domain.CodeInvalidRequest)
				if got := r.header.Get("WWW-Authenticate"); got != "Bearer" {
					t.Errorf("WWW-Authenticate = %q", got)
				}
			}
		})
	}
	if calls := lc.Calls(); len(calls) != 0 {
		t.Fatalf("an unauthenticated call reached the lifecycle: %+v", calls)
	}
	for _, auth := range []string{"Bearer " + token, "bearer " + token} {
		r := do(t, srv, "POST", runtimes+"/game-1/restart", "", "Authorization", auth)
		if r.status != http.StatusOK {
			t.Errorf("%q: %d %s", auth, r.status, r.body)
		}
	}
	// Probes and metrics are outside /api/ and never need the token.
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if r := do(t, srv, "GET", p, ""); r.status != http.StatusOK {
			t.Errorf("GET %s without token: %d %s", p, r.status, r.body)
		}
	}
}

func TestNoTokenNoAuth(t *testing.T) {
	srv, _ := server(t, httpapi.Config{})
	if r := do(t, srv, "POST", runtimes+"/game-1/restart", ""); r.status != http.StatusOK {
		t.Errorf("without a configured token: %d %s", r.status, r.body)
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	srv, _ := server(t, httpapi.Config{})
	r := do(t, srv, "GET", "/healthz", "", "X-Request-Id", "probe-1")
	if got := decode[map[string]any](t, r); !reflect.DeepEqual(got, map[string]any{"status": "ok"}) {
		t.Errorf("healthz %v", got)
	}
	r = do(t, srv, "GET", "/metrics", "")
	if r.status != http.StatusOK || string(r.body) != metricsBody || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("metrics: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
	}
}

func TestReadyz(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("dial tcp 127.0.0.1:6379: connect: connection refused") }
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hangs := func(context.Context) error { <-release; return nil } // ignores its context on purpose
	cases := []struct {
		name   string
		checks map[string]httpapi.ReadinessCheck
		status int
		want   map[string]string
	}{
		{"all up", map[string]httpapi.ReadinessCheck{"postgres": ok, "redis": ok, "docker": ok}, http.StatusOK,
			map[string]string{"postgres": "ok", "redis": "ok", "docker": "ok"}},
		{"redis down", map[string]httpapi.ReadinessCheck{"postgres": ok, "redis": down, "docker": ok}, http.StatusServiceUnavailable,
			map[string]string{"postgres": "ok", "redis": "dial tcp 127.0.0.1:6379: connect: connection refused", "docker": "ok"}},
		{"docker hangs", map[string]httpapi.ReadinessCheck{"postgres": ok, "docker": hangs}, http.StatusServiceUnavailable,
			map[string]string{"postgres": "ok", "docker": "check timed out after 50ms"}},
		{"nothing to check", nil, http.StatusOK, map[string]string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, _ := server(t, httpapi.Config{Readiness: c.checks, ReadinessTimeout: 50 * time.Millisecond})
			start := time.Now()
			r := do(t, srv, "GET", "/readyz", "")
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("readyz took %v", took)
			}
			if r.status != c.status {
				t.Fatalf("status %d %s, want %d", r.status, r.body, c.status)
			}
			var got httpapi.Readiness
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			wantStatus := httpapi.ReadinessStatusReady
			if c.status != http.StatusOK {
				wantStatus = httpapi.ReadinessStatusNotReady
			}
			if got.Status != wantStatus || !reflect.DeepEqual(got.Checks, c.want) {
				t.Errorf("got %+v, want %s %v", got, wantStatus, c.want)
			}
		})
	}
}
