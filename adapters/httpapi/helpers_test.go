package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/adapters/httpapi"
	"github.com/galaxy/rtmanager/adapters/httpapi/contracttest"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

// call is one lifecycle call the fake saw.
type call struct {
	op string
	// in is the lifecycle input (StartInput, StopInput, …).
	in any
}

// fakeLifecycle records calls and answers every one with result (or with
// answer, when set).
type fakeLifecycle struct {
	mu     sync.Mutex
	calls  []call
	result domain.Result
	answer func(op string) domain.Result
}

func (f *fakeLifecycle) record(ctx context.Context, op string, in any) domain.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{op: op, in: in})
	if f.answer != nil {
		return f.answer(op)
	}
	return f.result
}

func (f *fakeLifecycle) Start(ctx context.Context, in lifecycle.StartInput) domain.Result {
	return f.record(ctx, "start", in)
}

func (f *fakeLifecycle) Stop(ctx context.Context, in lifecycle.StopInput) domain.Result {
	return f.record(ctx, "stop", in)
}

func (f *fakeLifecycle) Restart(ctx context.Context, in lifecycle.RestartInput) domain.Result {
	return f.record(ctx, "restart", in)
}

func (f *fakeLifecycle) Patch(ctx context.Context, in lifecycle.PatchInput) domain.Result {
	return f.record(ctx, "patch", in)
}

func (f *fakeLifecycle) Cleanup(ctx context.Context, in lifecycle.CleanupInput) domain.Result {
	return f.record(ctx, "cleanup", in)
}

func (f *fakeLifecycle) Refuse(ctx context.Context, kind domain.OpKind, gameID string, m lifecycle.Meta, reason string) domain.Result {
	return f.record(ctx, "refuse", refusal{Kind: kind, GameID: gameID, Meta: m, Reason: reason})
}

// refusal is what Refuse was called with.
type refusal struct {
	Kind   domain.OpKind
	GameID string
	Meta   lifecycle.Meta
	Reason string
}

func (f *fakeLifecycle) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// Stores whose every read fails with err: the read endpoints' error
// mapping is tested with them; real data comes from PostgreSQL (reads_test.go).
type (
	failingRuntimes   struct{ err error }
	failingOperations struct{ err error }
	failingHealth     struct{ err error }
)

func (s failingRuntimes) Get(context.Context, string) (domain.Record, error) {
	return domain.Record{}, s.err
}

func (s failingRuntimes) List(context.Context, ports.ListRuntimesQuery) ([]domain.Record, error) {
	return nil, s.err
}

func (s failingOperations) List(context.Context, ports.ListOperationsQuery) ([]domain.Operation, error) {
	return nil, s.err
}

func (s failingHealth) Get(context.Context, string) (domain.HealthSnapshot, error) {
	return domain.HealthSnapshot{}, s.err
}

// metricsBody is what the stub /metrics handler serves.
const metricsBody = "# TYPE rtmanager_up gauge\nrtmanager_up 1\n"

var metricsStub = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = io.WriteString(w, metricsBody)
})

// server starts the API on cfg, filling what a test leaves out: a fake
// lifecycle answering success with record("game-1"), stores that find
// nothing, the metrics stub and a logger on the test's output. Every answer
// is validated against the contract.
func server(t *testing.T, cfg httpapi.Config) (*httptest.Server, *fakeLifecycle) {
	t.Helper()
	lc, _ := cfg.Lifecycle.(*fakeLifecycle)
	if cfg.Lifecycle == nil {
		lc = &fakeLifecycle{result: domain.Success(record("game-1"), domain.CodeNone)}
		cfg.Lifecycle = lc
	}
	if cfg.Runtimes == nil {
		cfg.Runtimes = failingRuntimes{ports.ErrNotFound}
	}
	if cfg.Operations == nil {
		cfg.Operations = failingOperations{ports.ErrNotFound}
	}
	if cfg.Health == nil {
		cfg.Health = failingHealth{ports.ErrNotFound}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metricsStub
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(contracttest.Handler(t, h))
	t.Cleanup(srv.Close)
	return srv, lc
}

var t0 = time.Date(2031, 3, 14, 15, 9, 26, 535897000, time.UTC)

func record(gameID string) domain.Record {
	started := t0.Add(time.Minute)
	return domain.Record{
		GameID:             gameID,
		Status:             domain.StatusRunning,
		CurrentContainerID: "c-" + gameID,
		CurrentImageRef:    "galaxy/game:1.0.0",
		EngineEndpoint:     domain.EngineEndpoint(gameID),
		StatePath:          "/var/lib/galaxy/games/" + gameID,
		DockerNetwork:      "galaxy-net",
		StartedAt:          &started,
		LastOpAt:           started,
		CreatedAt:          t0,
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request. A non-empty body is sent as application/json unless
// headers say otherwise; headers are name, value pairs.
func do(t *testing.T, srv *httptest.Server, method, path, body string, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// errorCode is the code of an error envelope ("" if the body is none).
func (r response) errorCode() string {
	var env httpapi.ErrorResponse
	if json.Unmarshal(r.body, &env) != nil {
		return ""
	}
	return string(env.Error.Code)
}

func (r response) errorMessage() string {
	var env httpapi.ErrorResponse
	_ = json.Unmarshal(r.body, &env)
	return env.Error.Message
}

// expectError checks the status and the envelope's code.
func (r response) expectError(t *testing.T, status int, code domain.ErrorCode) {
	t.Helper()
	if r.status != status || r.errorCode() != string(code) {
		t.Errorf("got %d %s, want %d %s", r.status, r.body, status, code)
	}
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}
