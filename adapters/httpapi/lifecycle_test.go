package httpapi_test

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/adapters/httpapi"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
)

// lifecycleOps are the five lifecycle endpoints, each with a valid request
// and the error statuses contract §2.4 lets it answer with.
var lifecycleOps = []struct {
	op, method, path, body string
	statuses               []int
}{
	{"start", "POST", "/game-1/start", `{"image_ref":"galaxy/game:1.0.0"}`, []int{400, 409, 422, 500, 502, 503}},
	{"stop", "POST", "/game-1/stop", `{"reason":"admin_request"}`, []int{400, 404, 409, 500, 503}},
	{"restart", "POST", "/game-1/restart", "", []int{400, 404, 409, 422, 500, 502, 503}},
	{"patch", "POST", "/game-1/patch", `{"image_ref":"galaxy/game:1.0.1"}`, []int{400, 404, 409, 422, 500, 502, 503}},
	{"cleanup", "DELETE", "/game-1/container", "", []int{400, 404, 409, 500, 503}},
}

// TestLifecycleInputs: each endpoint passes its input on, with the caller
// mapped to the op source, X-Request-Id as source_ref, and a context the
// caller's hang-up cannot cancel.
func TestLifecycleInputs(t *testing.T) {
	callers := []struct {
		header []string
		source domain.OpSource
	}{
		{[]string{"X-Galaxy-Caller", "gm"}, domain.SourceGMRest},
		{[]string{"X-Galaxy-Caller", "admin"}, domain.SourceAdminRest},
		{nil, domain.SourceAdminRest},
		{[]string{"X-Galaxy-Caller", "lobby"}, domain.SourceAdminRest},
		{[]string{"X-Galaxy-Caller", "GM"}, domain.SourceAdminRest},
		{[]string{"X-Galaxy-Caller", ""}, domain.SourceAdminRest},
	}
	for _, c := range callers {
		for _, requestID := range []string{"req-7f3a", ""} {
			srv, lc := server(t, httpapi.Config{})
			var headers []string
			headers = append(headers, c.header...)
			if requestID != "" {
				headers = append(headers, "X-Request-Id", requestID)
			}
			for _, op := range lifecycleOps {
				r := do(t, srv, op.method, runtimes+op.path, op.body, headers...)
				if r.status != http.StatusOK {
					t.Fatalf("%s: %d %s", op.op, r.status, r.body)
				}
				if got := r.header.Get("X-Request-Id"); got != requestID {
					t.Errorf("%s: X-Request-Id echoed as %q, want %q", op.op, got, requestID)
				}
			}
			meta := lifecycle.Meta{Source: c.source, SourceRef: requestID}
			want := []call{
				{"start", lifecycle.StartInput{GameID: "game-1", ImageRef: "galaxy/game:1.0.0", Meta: meta}},
				{"stop", lifecycle.StopInput{GameID: "game-1", Reason: "admin_request", Meta: meta}},
				{"restart", lifecycle.RestartInput{GameID: "game-1", Meta: meta}},
				{"patch", lifecycle.PatchInput{GameID: "game-1", ImageRef: "galaxy/game:1.0.1", Meta: meta}},
				{"cleanup", lifecycle.CleanupInput{GameID: "game-1", Meta: meta}},
			}
			if got := lc.Calls(); !reflect.DeepEqual(got, want) {
				t.Errorf("caller %q, request id %q:\n got %+v\nwant %+v", c.header, requestID, got, want)
			}
		}
	}
}

func TestLifecycleSuccessIsTheRecord(t *testing.T) {
	for _, code := range []domain.ErrorCode{domain.CodeNone, domain.CodeReplayNoOp} {
		rec := record("game-1")
		rec.Status, rec.CurrentContainerID, rec.CurrentImageRef = domain.StatusStopped, "", ""
		stopped := t0.Add(2 * time.Minute)
		rec.StoppedAt = &stopped
		srv, _ := server(t, httpapi.Config{Lifecycle: &fakeLifecycle{result: domain.Success(rec, code)}})
		for _, op := range lifecycleOps {
			got := decode[map[string]any](t, do(t, srv, op.method, runtimes+op.path, op.body))
			want := map[string]any{
				"game_id": "game-1", "status": "stopped", "current_container_id": nil, "current_image_ref": nil,
				"engine_endpoint": "http://galaxy-game-game-1:8080", "state_path": "/var/lib/galaxy/games/game-1",
				"docker_network": "galaxy-net", "engine_node": nil, "started_at": "2031-03-14T15:10:26.535897Z",
				"stopped_at": "2031-03-14T15:11:26.535897Z", "removed_at": nil,
				"last_op_at": "2031-03-14T15:10:26.535897Z", "created_at": "2031-03-14T15:09:26.535897Z",
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s (%q):\n got %v\nwant %v", op.op, code, got, want)
			}
		}
	}
}

// TestLifecycleErrorMapping: every stable code maps to its status where the
// operation declares that status; anything the contract has no answer for
// becomes internal_error, never a 200 or an undeclared status.
func TestLifecycleErrorMapping(t *testing.T) {
	codes := append(slices.Clone(domain.AllErrorCodes), "", "no_such_code")
	answered := map[domain.ErrorCode]bool{} // codes some operation answered with as themselves
	for _, op := range lifecycleOps {
		for _, code := range codes {
			lc := &fakeLifecycle{result: domain.Failure(code, "details for "+string(code))}
			srv, _ := server(t, httpapi.Config{Lifecycle: lc})
			r := do(t, srv, op.method, runtimes+op.path, op.body)

			wantStatus, wantCode, wantMsg := httpapi.HTTPStatus(code), code, "details for "+string(code)
			if !code.IsKnown() || wantStatus < 400 || !slices.Contains(op.statuses, wantStatus) {
				wantStatus, wantCode = http.StatusInternalServerError, domain.CodeInternalError
			}
			if wantCode == domain.CodeInternalError {
				wantMsg = "internal error"
			}
			if r.status != wantStatus || r.errorCode() != string(wantCode) || r.errorMessage() != wantMsg {
				t.Errorf("%s with %q: got %d %s, want %d %s %q", op.op, code, r.status, r.body, wantStatus, wantCode, wantMsg)
			}
			if r.errorCode() == string(code) && r.status == httpapi.HTTPStatus(code) {
				answered[code] = true
			}
		}
	}
	for _, code := range domain.AllErrorCodes {
		if !answered[code] && code != domain.CodeReplayNoOp { // replay_no_op is a success, never an error
			t.Errorf("no lifecycle operation answers %s with %d", code, httpapi.HTTPStatus(code))
		}
	}
}

func TestLifecycleSuccessWithoutRecord(t *testing.T) {
	lc := &fakeLifecycle{result: domain.Result{Outcome: domain.OutcomeSuccess}}
	srv, _ := server(t, httpapi.Config{Lifecycle: lc})
	do(t, srv, "POST", runtimes+"/game-1/restart", "").expectError(t, http.StatusInternalServerError, domain.CodeInternalError)
}

func TestPanicIsInternalError(t *testing.T) {
	lc := &fakeLifecycle{answer: func(string) domain.Result { panic("boom: secret detail") }}
	srv, _ := server(t, httpapi.Config{Lifecycle: lc})
	r := do(t, srv, "POST", runtimes+"/game-1/restart", "", "X-Request-Id", "r-9")
	r.expectError(t, http.StatusInternalServerError, domain.CodeInternalError)
	if strings.Contains(string(r.body), "secret") {
		t.Errorf("the panic leaked: %s", r.body)
	}
}

// TestLifecycleOutcomeHeader: every answer of a lifecycle operation says in
// X-Galaxy-Outcome what the call did, whichever layer gives the answer; a
// replay is told from work done by the header alone (the record is the
// same). Reads never carry it.
func TestLifecycleOutcomeHeader(t *testing.T) {
	results := []struct {
		name   string
		result domain.Result
		status int
		want   string
	}{
		{"applied", domain.Success(record("game-1"), domain.CodeNone), http.StatusOK, "applied"},
		{"replay", domain.Success(record("game-1"), domain.CodeReplayNoOp), http.StatusOK, "replay_no_op"},
		{"refused", domain.Failure(domain.CodeConflict, "busy"), http.StatusConflict, "failure"},
		{"unavailable", domain.Failure(domain.CodeDockerUnavailable, "no daemon"), http.StatusServiceUnavailable, "failure"},
		{"internal error", domain.Failure(domain.CodeInternalError, "boom"), http.StatusInternalServerError, "failure"},
		{"success without a record", domain.Result{Outcome: domain.OutcomeSuccess}, http.StatusInternalServerError, "failure"},
	}
	for _, res := range results {
		srv, _ := server(t, httpapi.Config{Lifecycle: &fakeLifecycle{result: res.result}})
		for _, op := range lifecycleOps {
			r := do(t, srv, op.method, runtimes+op.path, op.body)
			if r.status != res.status || r.header.Get("X-Galaxy-Outcome") != res.want {
				t.Errorf("%s %s: %d with X-Galaxy-Outcome %q, want %d with %q", op.op, res.name, r.status,
					r.header.Get("X-Galaxy-Outcome"), res.status, res.want)
			}
		}
	}

	// Answers given before or around the handler: a refused request, a
	// missing token, a panic.
	srv, _ := server(t, httpapi.Config{Token: "tok", Lifecycle: &fakeLifecycle{answer: func(op string) domain.Result {
		if op == "refuse" {
			return domain.Failure(domain.CodeInvalidRequest, "refused")
		}
		panic("boom")
	}}})
	auth := []string{"Authorization", "Bearer tok"}
	for _, op := range lifecycleOps {
		for name, c := range map[string]struct {
			body    string
			headers []string
			status  int
		}{
			"bad body": {`{"nope":1}`, auth, http.StatusBadRequest},
			"no token": {op.body, nil, http.StatusUnauthorized},
			"panic":    {op.body, auth, http.StatusInternalServerError},
		} {
			r := do(t, srv, op.method, runtimes+op.path, c.body, c.headers...)
			if r.status != c.status || r.header.Get("X-Galaxy-Outcome") != "failure" {
				t.Errorf("%s %s: %d with X-Galaxy-Outcome %q, want %d with failure", op.op, name, r.status,
					r.header.Get("X-Galaxy-Outcome"), c.status)
			}
		}
	}
	// A GET of a lifecycle path names no operation (405).
	for _, read := range []string{"", "/game-1", "/game-1/operations", "/game-1/health", "/game-1/start"} {
		if r := do(t, srv, "GET", runtimes+read, "", auth...); r.header.Get("X-Galaxy-Outcome") != "" {
			t.Errorf("GET %s (%d) carries X-Galaxy-Outcome %q", read, r.status, r.header.Get("X-Galaxy-Outcome"))
		}
	}
	if r := do(t, srv, "GET", runtimes+"/game-1", ""); r.status != http.StatusUnauthorized || r.header.Get("X-Galaxy-Outcome") != "" {
		t.Errorf("GET without a token: %d with X-Galaxy-Outcome %q", r.status, r.header.Get("X-Galaxy-Outcome"))
	}
}
