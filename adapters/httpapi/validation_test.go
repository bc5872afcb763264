package httpapi_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/galaxy/rtmanager/adapters/httpapi"
	"github.com/galaxy/rtmanager/core/domain"
)

const runtimes = "/api/v1/internal/runtimes"

func cursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

type badCase struct {
	name, method, path, body string
	headers                  []string
}

// TestBadInputIsInvalidRequest: whatever is malformed, the answer is 400
// invalid_request and no operation runs; a refused lifecycle call on a valid
// game is recorded as a refusal.
func TestBadInputIsInvalidRequest(t *testing.T) {
	big := `{"image_ref":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`
	cases := []badCase{
		{name: "unknown field", method: "POST", path: "/game-1/start", body: `{"image_ref":"galaxy/game:1.0.0","extra":1}`},
		{name: "field name in other case", method: "POST", path: "/game-1/start", body: `{"IMAGE_REF":"galaxy/game:1.0.0"}`},
		{name: "wrong type", method: "POST", path: "/game-1/start", body: `{"image_ref":5}`},
		{name: "missing field", method: "POST", path: "/game-1/start", body: `{}`},
		{name: "null body", method: "POST", path: "/game-1/start", body: `null`},
		{name: "array body", method: "POST", path: "/game-1/start", body: `[]`},
		{name: "no body", method: "POST", path: "/game-1/start"},
		{name: "body over 64 KiB", method: "POST", path: "/game-1/start", body: big},
		{name: "trailing data", method: "POST", path: "/game-1/start", body: `{"image_ref":"galaxy/game:1.0.0"} {}`},
		{name: "not JSON", method: "POST", path: "/game-1/start", body: `image_ref=galaxy/game:1.0.0`},
		{name: "text/plain", method: "POST", path: "/game-1/start", body: `{"image_ref":"galaxy/game:1.0.0"}`,
			headers: []string{"Content-Type", "text/plain"}},
		{name: "unknown reason", method: "POST", path: "/game-1/stop", body: `{"reason":"bored"}`},
		{name: "reason wrong type", method: "POST", path: "/game-1/stop", body: `{"reason":["timeout"]}`},
		{name: "no reason", method: "POST", path: "/game-1/stop", body: `{}`},
		{name: "patch unknown field", method: "POST", path: "/game-1/patch", body: `{"image_ref":"galaxy/game:1.0.1","force":true}`},
		{name: "restart with a field", method: "POST", path: "/game-1/restart", body: `{"image_ref":"galaxy/game:1.0.1"}`},
		{name: "restart with an array", method: "POST", path: "/game-1/restart", body: `[]`},
		{name: "cleanup with a body", method: "DELETE", path: "/game-1/container", body: `{}`},
		{name: "list with a body", method: "GET", path: "", body: `{}`},
		{name: "request id too long", method: "POST", path: "/game-1/restart",
			headers: []string{"X-Request-Id", strings.Repeat("r", 129)}},
		{name: "request id with spaces", method: "POST", path: "/game-1/restart", headers: []string{"X-Request-Id", "a b"}},

		{name: "game_id ../x escaped", method: "POST", path: "/..%2Fx/start", body: `{"image_ref":"galaxy/game:1.0.0"}`},
		{name: "game_id .. escaped", method: "GET", path: "/%2E%2E"},
		{name: "game_id empty", method: "POST", path: "//stop", body: `{"reason":"timeout"}`},
		{name: "game_id 200 chars", method: "GET", path: "/" + strings.Repeat("g", 200)},
		{name: "game_id 52 chars", method: "DELETE", path: "/" + strings.Repeat("g", domain.MaxGameIDLength+1) + "/container"},
		{name: "game_id with a dot", method: "POST", path: "/game.1/stop", body: `{"reason":"timeout"}`},
		{name: "game_id with spaces", method: "GET", path: "/game%201/health"},
		{name: "game_id with slash", method: "GET", path: "/a%2Fb/operations"},
		{name: "game_id leading dot", method: "POST", path: "/.hidden/restart"},
		{name: "game_id non-ASCII", method: "GET", path: "/g%C3%BC"},

		{name: "limit 0", method: "GET", path: "?limit=0"},
		{name: "limit 501", method: "GET", path: "?limit=501"},
		{name: "limit abc", method: "GET", path: "?limit=abc"},
		{name: "limit negative", method: "GET", path: "/game-1/operations?limit=-1"},
		{name: "limit fraction", method: "GET", path: "/game-1/operations?limit=1.5"},
		{name: "limit empty", method: "GET", path: "?limit="},
		{name: "unknown status", method: "GET", path: "?status=zombie"},
		{name: "cursor not base64url", method: "GET", path: "?cursor=%21%21"},
		{name: "cursor padded", method: "GET", path: "?cursor=" + cursor("game-1") + "%3D%3D"},
		{name: "cursor empty", method: "GET", path: "?cursor="},
		{name: "cursor of a bad game_id", method: "GET", path: "?cursor=" + cursor("../x")},
		{name: "cursor not canonical base64", method: "GET", path: "?cursor=Z2FtZS0xZ"},
		{name: "operations cursor not a number", method: "GET", path: "/game-1/operations?cursor=" + cursor("abc")},
		{name: "operations cursor zero", method: "GET", path: "/game-1/operations?cursor=" + cursor("0")},
		{name: "operations cursor negative", method: "GET", path: "/game-1/operations?cursor=" + cursor("-5")},
		{name: "operations cursor of a game", method: "GET", path: "/game-1/operations?cursor=" + cursor("game-1")},
	}
	srv, lc := server(t, httpapi.Config{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			headers := append([]string{"X-Galaxy-Caller", "gm"}, tc.headers...)
			r := do(t, srv, tc.method, runtimes+tc.path, tc.body, headers...)
			r.expectError(t, http.StatusBadRequest, domain.CodeInvalidRequest)
			if r.errorMessage() == "" {
				t.Error("the message is empty")
			}
		})
	}
	// Bad input never reaches an operation; a lifecycle call on a valid game
	// is only recorded as a refusal, once, with its op kind.
	refusals := 0
	for _, c := range lc.Calls() {
		ref, ok := c.in.(refusal)
		if c.op != "refuse" || !ok || ref.GameID != "game-1" || !ref.Kind.IsKnown() || ref.Reason == "" {
			t.Errorf("the lifecycle was called for bad input: %+v", c)
		}
		if len(ref.Meta.SourceRef) > 128 || strings.ContainsAny(ref.Meta.SourceRef, " \t") {
			t.Errorf("an invalid X-Request-Id was recorded as source_ref: %q", ref.Meta.SourceRef)
		}
		refusals++
	}
	if want := wantRefusals(cases); refusals != want {
		t.Errorf("%d refusals recorded, want %d (one per lifecycle call on game-1)", refusals, want)
	}
}

// wantRefusals counts the cases that address a lifecycle operation of the
// valid game game-1.
func wantRefusals(cases []badCase) int {
	n := 0
	for _, tc := range cases {
		if (tc.method == "POST" || tc.method == "DELETE") && strings.HasPrefix(tc.path, "/game-1/") {
			n++
		}
	}
	return n
}

func TestBodyLimitMessage(t *testing.T) {
	srv, _ := server(t, httpapi.Config{})
	body := `{"image_ref":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`
	r := do(t, srv, "POST", runtimes+"/game-1/patch", body)
	r.expectError(t, http.StatusBadRequest, domain.CodeInvalidRequest)
	if !strings.Contains(r.errorMessage(), "exceeds") {
		t.Errorf("message %q does not say the body is too large", r.errorMessage())
	}
}

// TestMalformedJSONMessages: a body that is not JSON says where the parser
// stopped; one holding two JSON values says just that.
func TestMalformedJSONMessages(t *testing.T) {
	srv, _ := server(t, httpapi.Config{})
	cases := []struct{ body, message string }{
		{`{"image_ref":"gal`, "request body is not valid JSON: unexpected end of input at byte 17"},
		{"  \n ", "request body is not valid JSON: unexpected end of input at byte 4"},
		{`image_ref=galaxy/game:1.0.0`, "request body is not valid JSON: invalid character 'i' looking for beginning of value at byte 1"},
		{`{"image_ref":"galaxy/game:1.0.0",}`, "request body is not valid JSON: invalid character '}' looking for beginning of object key string at byte 34"},
		{`{"image_ref":"galaxy/game:1.0.0"}}`, "request body is not valid JSON: invalid character '}' looking for beginning of value at byte 34"},
		{`{"image_ref":"galaxy/game:1.0.0"} {}`, "request body is not a single JSON value"},
		{`{"image_ref":"galaxy/game:1.0.0"}` + "\n" + `{"image_ref":"galaxy/game:1.0.1"}`, "request body is not a single JSON value"},
	}
	for _, c := range cases {
		r := do(t, srv, "POST", runtimes+"/game-1/start", c.body)
		r.expectError(t, http.StatusBadRequest, domain.CodeInvalidRequest)
		if got := r.errorMessage(); got != c.message {
			t.Errorf("body %q: message %q, want %q", c.body, got, c.message)
		}
	}
}

// TestGoodInputAtTheLimits: the edges of what is allowed pass validation.
func TestGoodInputAtTheLimits(t *testing.T) {
	srv, lc := server(t, httpapi.Config{})
	ok := []struct{ method, path, body string }{
		{"POST", "/" + strings.Repeat("g", domain.MaxGameIDLength) + "/start", `{"image_ref":"galaxy/game:1.0.0"}`},
		// The reference's content is the service's to judge (and to log).
		{"POST", "/game-1/start", `{"image_ref":""}`},
		{"POST", "/game-1/patch", `{"image_ref":"not a reference!"}`},
		{"POST", "/A_b-c9/stop", `{"reason":"orphan_cleanup"}`},
		{"POST", "/game-1/restart", ""},
		{"POST", "/game-1/restart", `{}`},
		{"POST", "/game-1/restart", " {\n} \n"},
		{"DELETE", "/game-1/container", ""},
	}
	for _, c := range ok {
		if r := do(t, srv, c.method, runtimes+c.path, c.body); r.status != http.StatusOK {
			t.Errorf("%s %s %q: %d %s", c.method, c.path, c.body, r.status, r.body)
		}
	}
	if got := len(lc.Calls()); got != len(ok) {
		t.Errorf("%d lifecycle calls, want %d", got, len(ok))
	}
	// The largest body allowed: exactly 64 KiB of JSON (white space pads it).
	exact := `{"reason":"timeout"}`
	exact += strings.Repeat(" ", httpapi.MaxBodyBytes-len(exact))
	if r := do(t, srv, "POST", runtimes+"/game-1/stop", exact); r.status != http.StatusOK {
		t.Errorf("a body of exactly %d bytes: %d %s", httpapi.MaxBodyBytes, r.status, r.body)
	}
}

func TestUnknownRoutes(t *testing.T) {
	srv, _ := server(t, httpapi.Config{})
	do(t, srv, "GET", "/nope", "", "X-Request-Id", "r-1").expectError(t, http.StatusNotFound, domain.CodeNotFound)
	do(t, srv, "GET", runtimes+"/", "").expectError(t, http.StatusNotFound, domain.CodeNotFound)

	r := do(t, srv, "GET", runtimes+"/game-1/start", "")
	r.expectError(t, http.StatusMethodNotAllowed, domain.CodeInvalidRequest)
	if got := r.header.Get("Allow"); got != "POST" {
		t.Errorf("Allow = %q, want POST", got)
	}
	r = do(t, srv, "PUT", runtimes+"/game-1", "")
	r.expectError(t, http.StatusMethodNotAllowed, domain.CodeInvalidRequest)
	if got := r.header.Get("Allow"); got != "GET" {
		t.Errorf("Allow = %q, want GET", got)
	}
	do(t, srv, "POST", "/healthz", "").expectError(t, http.StatusMethodNotAllowed, domain.CodeInvalidRequest)
}

// TestBadGameIDIsRefusedUpFront: an id that breaks the rule (too long for
// galaxy-game-{game_id} to stay one DNS label, or holding a dot) is 400 on
// every endpoint that takes one and on the list cursor, before any
// lifecycle call (not even a refusal is recorded: the call names no game).
// The stores of server find nothing, so an answer from them would be a 404
// or a 500, never the 400.
func TestBadGameIDIsRefusedUpFront(t *testing.T) {
	srv, lc := server(t, httpapi.Config{})
	for _, id := range []string{strings.Repeat("g", domain.MaxGameIDLength+1), "game.1", "g.h"} {
		var requests [][3]string // method, path, body
		for _, op := range lifecycleOps {
			requests = append(requests, [3]string{op.method, strings.Replace(op.path, "game-1", id, 1), op.body})
		}
		for _, read := range []string{"/" + id, "/" + id + "/operations", "/" + id + "/health", "?cursor=" + cursor(id)} {
			requests = append(requests, [3]string{"GET", read, ""})
		}
		for _, r := range requests {
			do(t, srv, r[0], runtimes+r[1], r[2]).expectError(t, http.StatusBadRequest, domain.CodeInvalidRequest)
		}
	}
	if calls := lc.Calls(); len(calls) != 0 {
		t.Errorf("the lifecycle was called: %+v", calls)
	}
}
