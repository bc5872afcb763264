package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/adapters/httpapi"
	"github.com/galaxy/rtmanager/adapters/httpapi/contracttest"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

// fuzzMethods are the methods FuzzRequest picks from: the contract's, two
// it never uses and one no one uses.
var fuzzMethods = []string{"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "BREW"}

// fuzzToken is the token of the server that requires one.
const fuzzToken = "fuzz-token"

// FuzzRequest throws arbitrary requests at the API and checks what must hold
// for every one of them:
//   - nothing panics, and every answer keeps to the contract (contracttest);
//   - a 5xx comes only from a lifecycle result that is a 5xx failure, and a
//     lifecycle result is answered exactly as contract §2.4 maps it;
//   - every non-2xx answer is the error envelope with a stable code that
//     fits the status (401 and 405 are invalid_request);
//   - the lifecycle and the stores are reached only with a valid game_id, a
//     known stop reason and page queries within the contract, the caller
//     mapped to the op source, and a source_ref that is a valid X-Request-Id;
//   - with a token configured, nothing is reached without it.
//
// outcome picks the answer of the fake lifecycle among those plausible for
// the operation; a non-empty authorization sends the request to the server
// that requires fuzzToken.
func FuzzRequest(f *testing.F) {
	addSeeds(f)
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, method byte, suffix, query string, body []byte,
		caller, requestID, contentType, authorization string, outcome byte) {
		target := runtimes + suffix
		if query != "" {
			target += "?" + query
		}
		req, ok := wireRequest(fuzzMethods[int(method)%len(fuzzMethods)], target, body, [][2]string{
			{"X-Galaxy-Caller", caller}, {"X-Request-Id", requestID},
			{"Content-Type", contentType}, {"Authorization", authorization},
		})
		if !ok {
			return // net/http answers it with 400 itself; no handler runs
		}
		fx.reset(t, outcome)
		defer func() {
			if t.Failed() {
				t.Logf("request: %s %s %q\nserver log:\n%s", req.Method, req.URL.RequestURI(), body, fx.log.String())
			}
		}()
		rec := httptest.NewRecorder()
		withToken := authorization != ""
		switch {
		case !withToken:
			fx.open.ServeHTTP(rec, req)
		case authorized(req):
			fx.authed.ServeHTTP(rec, req)
		default:
			// contracttest routes before it authenticates, so for a path
			// naming no operation it wants 400, 404 or 405; the server
			// authenticates first (TestAuth: bad input tells a stranger
			// nothing) and answers 401 whatever the path. The 401 is
			// checked below instead.
			fx.authedRaw.ServeHTTP(rec, req)
		}
		r := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
		fx.checkAnswer(t, req, r, withToken)
	})
}

// fuzzFixture is built once per fuzz target: httpapi.New and a contract
// checker each parse the contract, which would dominate every iteration.
// Iterations of one fuzz process run one at a time, so the fixture's state
// is simply reset at the start of each.
type fuzzFixture struct {
	lc      *fakeLifecycle
	store   *memStore
	log     bytes.Buffer
	checker *iterationT
	// open has no token; authed requires fuzzToken, authedRaw is the same
	// server without the contract checker.
	open, authed, authedRaw http.Handler
	// results holds, per lifecycle op, the answers the fake may give.
	results map[string][]domain.Result
	outcome byte
}

func newFuzzFixture(f *testing.F) *fuzzFixture {
	fx := &fuzzFixture{store: newMemStore(), checker: &iterationT{TB: f}, results: plausibleResults()}
	fx.lc = &fakeLifecycle{answer: func(op string) domain.Result {
		if op == "refuse" {
			return domain.Failure(domain.CodeInvalidRequest, "refused")
		}
		return fx.result(op)
	}}
	build := func(token string) http.Handler {
		h, err := httpapi.New(httpapi.Config{
			Lifecycle: fx.lc, Runtimes: memRuntimes{fx.store}, Operations: memOperations{fx.store}, Health: memHealth{fx.store},
			Metrics: metricsStub, Token: token, Logger: slog.New(slog.NewTextHandler(&fx.log, nil)),
		})
		if err != nil {
			f.Fatal(err)
		}
		return h
	}
	fx.authedRaw = build(fuzzToken)
	fx.open = contracttest.Handler(fx.checker, build(""))
	fx.authed = contracttest.Handler(fx.checker, fx.authedRaw)
	return fx
}

func (fx *fuzzFixture) reset(t *testing.T, outcome byte) {
	fx.checker.t = t
	fx.outcome = outcome
	fx.log.Reset()
	fx.lc.mu.Lock()
	fx.lc.calls = nil
	fx.lc.mu.Unlock()
	fx.store.reads = nil
}

// result is what the fake lifecycle answers op with in this iteration.
func (fx *fuzzFixture) result(op string) domain.Result {
	rs := fx.results[op]
	return rs[int(fx.outcome)%len(rs)]
}

// plausibleResults: success, a replay, and a failure with each code whose
// status the operation declares (lifecycleOps). A code the operation cannot
// answer with would be a lifecycle bug, which the API turns into 500.
func plausibleResults() map[string][]domain.Result {
	out := map[string][]domain.Result{}
	for _, op := range lifecycleOps {
		rs := []domain.Result{domain.Success(record("game-1"), domain.CodeNone), domain.Success(record("game-1"), domain.CodeReplayNoOp)}
		for _, code := range domain.AllErrorCodes {
			if code != domain.CodeReplayNoOp && slices.Contains(op.statuses, httpapi.HTTPStatus(code)) {
				rs = append(rs, domain.Failure(code, "fake "+string(code)))
			}
		}
		out[op.op] = rs
	}
	return out
}

func (fx *fuzzFixture) checkAnswer(t *testing.T, req *http.Request, r response, withToken bool) {
	t.Helper()
	calls := fx.lc.Calls()
	reached := len(calls) > 0 || len(fx.store.reads) > 0
	if withToken && !authorized(req) {
		if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != "Bearer" || reached {
			t.Errorf("without the token: %d, WWW-Authenticate %q, %d lifecycle calls, %d reads; want only 401",
				r.status, r.header.Get("WWW-Authenticate"), len(calls), len(fx.store.reads))
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("401 with Content-Type %q", ct)
		}
		if id := req.Header.Get("X-Request-Id"); r.header.Get("X-Request-Id") != id {
			t.Errorf("X-Request-Id %q echoed as %q", id, r.header.Get("X-Request-Id"))
		}
	} else if r.status == http.StatusUnauthorized {
		t.Errorf("401 for a request that needs no token or carries it")
	}

	if r.status < 200 || r.status > 299 {
		code := domain.ErrorCode(r.errorCode())
		switch {
		case !code.IsKnown() || code == domain.CodeReplayNoOp || r.errorMessage() == "":
			t.Errorf("status %d without the error envelope: %s", r.status, r.body)
		case r.status == http.StatusUnauthorized || r.status == http.StatusMethodNotAllowed:
			if code != domain.CodeInvalidRequest {
				t.Errorf("status %d with code %s, want invalid_request", r.status, code)
			}
		case httpapi.HTTPStatus(code) != r.status:
			t.Errorf("status %d with code %s, which maps to %d", r.status, code, httpapi.HTTPStatus(code))
		}
	} else if r.status != http.StatusOK {
		t.Errorf("status %d: the contract answers success with 200 only", r.status)
	}

	if len(calls) > 1 {
		t.Errorf("one request, %d lifecycle calls: %+v", len(calls), calls)
	}
	operated := false
	for _, c := range calls {
		fx.checkCall(t, req, c)
		if c.op == "refuse" {
			continue
		}
		operated = true
		// The fake answers only what the operation declares, so the API must
		// pass the result on as contract §2.4 maps it.
		res := fx.result(c.op)
		if want := httpapi.HTTPStatus(res.ErrorCode); r.status != want {
			t.Errorf("%s answered %q: status %d, want %d", c.op, res.ErrorCode, r.status, want)
		}
		if !res.Succeeded() && r.errorCode() != string(res.ErrorCode) {
			t.Errorf("%s answered %q: code %q", c.op, res.ErrorCode, r.errorCode())
		}
	}
	if !operated && r.status >= 500 {
		t.Errorf("status %d, but no lifecycle operation failed: %s", r.status, r.body)
	}
	fx.store.checkReads(t)
}

// checkCall: what the lifecycle may be handed, refusals included.
func (fx *fuzzFixture) checkCall(t *testing.T, req *http.Request, c call) {
	t.Helper()
	var gameID string
	var m lifecycle.Meta
	switch in := c.in.(type) {
	case lifecycle.StartInput:
		gameID, m = in.GameID, in.Meta
	case lifecycle.StopInput:
		gameID, m = in.GameID, in.Meta
		if !domain.StopReason(in.Reason).IsKnown() {
			t.Errorf("stop with reason %q", in.Reason)
		}
	case lifecycle.RestartInput:
		gameID, m = in.GameID, in.Meta
	case lifecycle.PatchInput:
		gameID, m = in.GameID, in.Meta
	case lifecycle.CleanupInput:
		gameID, m = in.GameID, in.Meta
	case refusal:
		gameID, m = in.GameID, in.Meta
		if !in.Kind.IsKnown() || in.Reason == "" {
			t.Errorf("refusal %+v", in)
		}
	default:
		t.Fatalf("unknown lifecycle call %+v", c)
	}
	if err := domain.ValidateGameID(gameID); err != nil {
		t.Errorf("%s reached the lifecycle: %v", c.op, err)
	}
	wantSource := domain.SourceAdminRest
	if req.Header.Get("X-Galaxy-Caller") == "gm" {
		wantSource = domain.SourceGMRest
	}
	// source_ref is stored and shown by the API: only a valid X-Request-Id
	// (the contract's 1–128 visible ASCII characters) may become one.
	wantRef := req.Header.Get("X-Request-Id")
	if len(wantRef) > 128 || strings.IndexFunc(wantRef, func(r rune) bool { return r < '!' || r > '~' }) >= 0 {
		wantRef = ""
	}
	if m.Source != wantSource || m.SourceRef != wantRef {
		t.Errorf("%s with source %q, source_ref %q; want %q, %q", c.op, m.Source, m.SourceRef, wantSource, wantRef)
	}
}

// authorized mirrors contract §5: "Authorization: Bearer <token>", the scheme
// case-insensitive (RFC 9110 §11.1).
func authorized(req *http.Request) bool {
	scheme, token, _ := strings.Cut(req.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Bearer") && token == fuzzToken
}

// wireRequest puts the request on the wire as a client would and reads it
// back with net/http's own parser, so the API gets exactly what a listener
// would hand it (header values are trimmed, a CR LF in one starts another
// header, and so on). false: the server refuses it before any handler runs.
func wireRequest(method, target string, body []byte, header [][2]string) (*http.Request, bool) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: rtm.test\r\nContent-Length: %d\r\n", method, target, len(body))
	for _, h := range header {
		if h[1] != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
		}
	}
	b.WriteString("\r\n")
	b.Write(body)
	req, err := http.ReadRequest(bufio.NewReader(&b))
	return req, err == nil
}

// iterationT lets a contract checker built once report to the iteration
// running now: *testing.F must not be used inside the fuzz function. Before
// the first iteration (the checker's set-up) it is the F itself. Any method
// contracttest might call besides these falls through to the F, which panics
// inside the fuzz function rather than losing a report.
type iterationT struct {
	testing.TB
	t *testing.T
}

func (it *iterationT) tb() testing.TB {
	if it.t != nil {
		return it.t
	}
	return it.TB
}

// Helper is a no-op: the frames to skip are the checker's, not this one's.
func (it *iterationT) Helper() {}

func (it *iterationT) Errorf(format string, args ...any) {
	if it.t != nil {
		it.t.Helper()
	}
	it.tb().Errorf(format, args...)
}

func (it *iterationT) Fatalf(format string, args ...any) { it.tb().Fatalf(format, args...) }

func (it *iterationT) Fatal(args ...any) { it.tb().Fatal(args...) }

// memStore stands in for the three PostgreSQL stores: a few records of every
// status, operations and a health snapshot of game-1. It logs each query so
// that the fuzz target can check what reached it.
type memStore struct {
	records []domain.Record // ordered by game_id
	ops     []domain.Operation
	health  domain.HealthSnapshot
	reads   []any // ports.ListRuntimesQuery, ports.ListOperationsQuery or a game_id
}

type (
	memRuntimes   struct{ *memStore }
	memOperations struct{ *memStore }
	memHealth     struct{ *memStore }
)

func newMemStore() *memStore {
	s := &memStore{}
	for _, id := range []string{"A-0", "B-2", "a-1", "c-3", "game-1"} {
		rec := record(id)
		switch id {
		case "B-2":
			stopped := t0.Add(time.Hour)
			rec.Status, rec.StoppedAt = domain.StatusStopped, &stopped
		case "c-3":
			removed := t0.Add(2 * time.Hour)
			rec.Status, rec.CurrentContainerID, rec.CurrentImageRef, rec.RemovedAt = domain.StatusRemoved, "", "", &removed
		}
		s.records = append(s.records, rec)
	}
	for id := int64(1); id <= 3; id++ {
		op := domain.Operation{ID: id, GameID: "game-1", Kind: domain.OpStart, Source: domain.SourceGMRest,
			Outcome: domain.OutcomeSuccess, ImageRef: "galaxy/game:1.0.0", StartedAt: t0, FinishedAt: t0.Add(time.Second)}
		if id == 3 {
			op.Kind, op.Outcome, op.ErrorCode, op.ErrorMessage = domain.OpStop, domain.OutcomeFailure, domain.CodeConflict, "busy"
			op.Details = map[string]any{"ünïcode": "✓", "nested": map[string]any{"n": 1.5, "a": []any{true, nil}}}
		}
		s.ops = append(s.ops, op)
	}
	s.health = domain.HealthSnapshot{GameID: "game-1", ContainerID: "c-game-1", Status: domain.HealthProbeFailed,
		Source: domain.HealthSourceProbe, LastEventType: domain.EventProbeFailed,
		Details: map[string]any{"consecutive_failures": 3.0}, ObservedAt: t0}
	return s
}

func (s memRuntimes) Get(_ context.Context, gameID string) (domain.Record, error) {
	s.reads = append(s.reads, gameID)
	for _, r := range s.records {
		if r.GameID == gameID {
			return r, nil
		}
	}
	return domain.Record{}, ports.ErrNotFound
}

func (s memRuntimes) List(_ context.Context, q ports.ListRuntimesQuery) ([]domain.Record, error) {
	s.reads = append(s.reads, q)
	var out []domain.Record
	for _, r := range s.records {
		if r.GameID > q.AfterGameID && (q.Status == "" || r.Status == q.Status) && len(out) < q.Limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s memOperations) List(_ context.Context, q ports.ListOperationsQuery) ([]domain.Operation, error) {
	s.reads = append(s.reads, q)
	var out []domain.Operation
	for _, o := range slices.Backward(s.ops) {
		if o.GameID == q.GameID && (q.BeforeID == 0 || o.ID < q.BeforeID) && len(out) < q.Limit {
			out = append(out, o)
		}
	}
	return out, nil
}

func (s memHealth) Get(_ context.Context, gameID string) (domain.HealthSnapshot, error) {
	s.reads = append(s.reads, gameID)
	if gameID != s.health.GameID {
		return domain.HealthSnapshot{}, ports.ErrNotFound
	}
	return s.health, nil
}

// checkReads: a read reaches the store only with what the contract allows
// (one more row than the page, to tell whether a next page exists).
func (s *memStore) checkReads(t *testing.T) {
	t.Helper()
	validPage := func(limit int) bool { return limit >= 2 && limit <= 501 }
	for _, q := range s.reads {
		var bad bool
		switch q := q.(type) {
		case string:
			bad = domain.ValidateGameID(q) != nil
		case ports.ListRuntimesQuery:
			bad = !validPage(q.Limit) || q.Status != "" && !q.Status.IsKnown() ||
				q.AfterGameID != "" && domain.ValidateGameID(q.AfterGameID) != nil
		case ports.ListOperationsQuery:
			bad = !validPage(q.Limit) || q.BeforeID < 0 || domain.ValidateGameID(q.GameID) != nil
		}
		if bad {
			t.Errorf("the store was asked %#v", q)
		}
	}
}

// fuzzSeed is one seed request; path is appended to runtimes and may carry a
// query. A body is sent as application/json unless headers say otherwise.
type fuzzSeed struct {
	method, path, body string
	headers            []string
}

// addSeeds: the cases of validation_test.go and the other tests, plus what a
// hostile client would try first.
func addSeeds(f *testing.F) {
	big := `{"image_ref":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`
	deep := `{"image_ref":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`
	auth := func(v string) []string { return []string{"Authorization", v} }
	seeds := []fuzzSeed{
		// Malformed bodies.
		{method: "POST", path: "/game-1/start", body: `{"image_ref":"galaxy/game:1.0.0","extra":1}`},
		{method: "POST", path: "/game-1/start", body: `{"IMAGE_REF":"galaxy/game:1.0.0"}`},
		{method: "POST", path: "/game-1/start", body: `{"image_ref":5}`},
		{method: "POST", path: "/game-1/start", body: `{}`},
		{method: "POST", path: "/game-1/start", body: `null`},
		{method: "POST", path: "/game-1/start", body: `[]`},
		{method: "POST", path: "/game-1/start"},
		{method: "POST", path: "/game-1/start", body: big},
		{method: "POST", path: "/game-1/start", body: deep},
		{method: "POST", path: "/game-1/start", body: `{"image_ref":"galaxy/game:1.0.0"} {}`},
		{method: "POST", path: "/game-1/start", body: `image_ref=galaxy/game:1.0.0`},
		{method: "POST", path: "/game-1/start", body: `{"image_ref":"galaxy/game:1.0.0"}`, headers: []string{"Content-Type", "text/plain"}},
		{method: "POST", path: "/game-1/start", body: `{"image_ref":"galaxy/game:1.0.0"}`, headers: []string{"Content-Type", "application/json; charset=utf-16"}},
		{method: "POST", path: "/game-1/start", body: `{"image_ref":"galaxy/game:1.0.0"}`, headers: []string{"Content-Type", "APPLICATION/JSON"}},
		{method: "POST", path: "/game-1/start", body: `--x--`, headers: []string{"Content-Type", "multipart/form-data; boundary=x"}},
		{method: "POST", path: "/game-1/start", body: "{\"image_ref\":\"galaxy/game:1.0.0\\u0000\"}"},
		{method: "POST", path: "/game-1/start", body: "{\"image_ref\":\"\xff\xfe\"}"},
		{method: "POST", path: "/game-1/stop", body: `{"reason":"bored"}`},
		{method: "POST", path: "/game-1/stop", body: `{"reason":["timeout"]}`},
		{method: "POST", path: "/game-1/stop", body: `{"reaſon":"timeout"}`},
		{method: "POST", path: "/game-1/stop", body: `{"reason":"timeout","REASON":"bored"}`},
		{method: "POST", path: "/game-1/stop", body: `{"reason":"bored","reason":"timeout"}`},
		{method: "POST", path: "/game-1/patch", body: `{"image_ref":"galaxy/game:1.0.1","force":true}`},
		{method: "POST", path: "/game-1/restart", body: `{"image_ref":"galaxy/game:1.0.1"}`},
		{method: "POST", path: "/game-1/restart", body: " {\n} \n"},
		{method: "POST", path: "/game-1/restart", body: `  `},
		{method: "DELETE", path: "/game-1/container", body: `{}`},
		{method: "GET", path: "", body: `{}`},
		// Headers.
		{method: "POST", path: "/game-1/restart", headers: []string{"X-Request-Id", strings.Repeat("r", 129)}},
		{method: "POST", path: "/game-1/restart", headers: []string{"X-Request-Id", "a b"}},
		{method: "POST", path: "/game-1/restart", headers: []string{"X-Request-Id", "\xffé"}},
		{method: "POST", path: "/game-1/restart", headers: []string{"X-Galaxy-Caller", "GM", "X-Request-Id", "req-1"}},
		{method: "POST", path: "/game-1/restart", headers: []string{"X-Galaxy-Caller", "gm\r\nX-Request-Id: injected"}},
		{method: "POST", path: "/game-1/restart", headers: []string{"X-Request-Id", "a\r\nX-Request-Id: b"}},
		// Paths.
		{method: "POST", path: "/..%2Fx/start", body: `{"image_ref":"galaxy/game:1.0.0"}`},
		{method: "GET", path: "/%2E%2E"},
		{method: "GET", path: "/../x"},
		{method: "POST", path: "//stop", body: `{"reason":"timeout"}`},
		{method: "GET", path: "/" + strings.Repeat("g", 200)},
		{method: "DELETE", path: "/" + strings.Repeat("g", domain.MaxGameIDLength+1) + "/container"},
		{method: "POST", path: "/" + strings.Repeat("g", domain.MaxGameIDLength) + "/start", body: `{"image_ref":"galaxy/game:1.0.0"}`},
		{method: "POST", path: "/game.1/stop", body: `{"reason":"timeout"}`},
		{method: "GET", path: "/game%201/health"},
		{method: "GET", path: "/a%2Fb/operations"},
		{method: "POST", path: "/.hidden/restart"},
		{method: "GET", path: "/g%C3%BC"},
		{method: "POST", path: "/игра/restart"},
		{method: "GET", path: "/%67ame-1"},
		{method: "GET", path: "/game-1%00"},
		{method: "POST", path: "/game-1/start/", body: `{"image_ref":"galaxy/game:1.0.0"}`},
		{method: "POST", path: "/game-1/./start", body: `{"image_ref":"galaxy/game:1.0.0"}`},
		{method: "GET", path: "/"},
		{method: "GET", path: "/game-1#x"},
		// Queries.
		{method: "GET", path: "?limit=0"},
		{method: "GET", path: "?limit=501"},
		{method: "GET", path: "?limit=abc"},
		{method: "GET", path: "/game-1/operations?limit=-1"},
		{method: "GET", path: "/game-1/operations?limit=1.5"},
		{method: "GET", path: "?limit="},
		{method: "GET", path: "?limit=1&limit=2"},
		{method: "GET", path: "?limit=1e2"},
		{method: "GET", path: "?limit=+5"},
		{method: "GET", path: "?limit=0500"},
		{method: "GET", path: "?limit=%zz"},
		{method: "GET", path: "?limit=1;status=running"},
		{method: "GET", path: "?status=zombie"},
		{method: "GET", path: "?status=running&status=zombie"},
		{method: "GET", path: "?cursor=%21%21"},
		{method: "GET", path: "?cursor=" + cursor("game-1") + "%3D%3D"},
		{method: "GET", path: "?cursor="},
		{method: "GET", path: "?cursor=" + cursor("../x")},
		{method: "GET", path: "?cursor=Z2FtZS0xZ"},
		{method: "GET", path: "/game-1/operations?cursor=" + cursor("abc")},
		{method: "GET", path: "/game-1/operations?cursor=" + cursor("0")},
		{method: "GET", path: "/game-1/operations?cursor=" + cursor("-5")},
		{method: "GET", path: "/game-1/operations?cursor=" + cursor("9223372036854775808")},
		{method: "GET", path: "/game-1/operations?cursor=" + cursor("game-1")},
		// Good reads.
		{method: "GET", path: ""},
		{method: "GET", path: "?status=stopped&limit=1"},
		{method: "GET", path: "?limit=2&cursor=" + cursor("B-2")},
		{method: "GET", path: "?limit=500&cursor=" + cursor("zzz")},
		{method: "GET", path: "/game-1"},
		{method: "GET", path: "/c-3"},
		{method: "GET", path: "/nobody"},
		{method: "GET", path: "/game-1/operations?limit=1"},
		{method: "GET", path: "/game-1/operations?cursor=" + cursor("3")},
		{method: "GET", path: "/game-1/health"},
		{method: "GET", path: "/B-2/health"},
		// Methods.
		{method: "PUT", path: "/game-1"},
		{method: "HEAD", path: ""},
		{method: "OPTIONS", path: "/game-1/start"},
		{method: "BREW", path: ""},
		{method: "PATCH", path: "/game-1/patch", body: `{"image_ref":"galaxy/game:1.0.1"}`},
		// Authentication.
		{method: "POST", path: "/game-1/restart", headers: auth("Bearer " + fuzzToken)},
		{method: "GET", path: "", headers: auth("bearer " + fuzzToken)},
		{method: "GET", path: "", headers: auth("Bearer wrong")},
		{method: "GET", path: "", headers: auth("Basic " + fuzzToken)},
		{method: "GET", path: "", headers: auth(fuzzToken)},
		{method: "GET", path: "/", headers: auth("Bearer nope")},
		{method: "POST", path: "/..%2Fx/start", body: `{"bad":1}`, headers: auth("Bearer")},
	}
	// Each lifecycle endpoint called right, once per caller.
	for _, op := range lifecycleOps {
		for _, caller := range []string{"gm", "admin", "lobby"} {
			seeds = append(seeds, fuzzSeed{method: op.method, path: op.path, body: op.body,
				headers: []string{"X-Galaxy-Caller", caller, "X-Request-Id", "req-" + op.op}})
		}
	}
	for i, s := range seeds {
		header := map[string]string{}
		if s.body != "" {
			header["Content-Type"] = "application/json"
		}
		for j := 0; j+1 < len(s.headers); j += 2 {
			header[s.headers[j]] = s.headers[j+1]
		}
		path, query, _ := strings.Cut(s.path, "?")
		// The seed's index picks the lifecycle's answer, so the seeds between
		// them cover success, replay and every failure.
		f.Add(byte(slices.Index(fuzzMethods, s.method)), path, query, []byte(s.body),
			header["X-Galaxy-Caller"], header["X-Request-Id"], header["Content-Type"], header["Authorization"], byte(i))
	}
}
