package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/galaxy/rtmanager/adapters/httpapi/contracttest"
	"github.com/galaxy/rtmanager/api/paging"
	"github.com/galaxy/rtmanager/core/domain"
)

const runtimesPath = "/api/v1/internal/runtimes"

// answer is a canned HTTP answer.
type answer struct {
	status int
	body   string
}

// request is what the fake API received.
type request struct {
	method, uri string
	header      http.Header
	body        string
}

// fakeAPI answers "METHOD /path?query" from its canned answers and records
// every request. Tests serve it through contracttest.Handler, so a canned
// answer that strays from api/openapi.yaml fails the test. A lifecycle
// answer says what the call did in X-Galaxy-Outcome: failure for an error,
// else outcome (applied when empty).
type fakeAPI struct {
	answers map[string]answer
	outcome string

	mu  sync.Mutex
	got []request
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.got = append(f.got, request{method: r.Method, uri: r.URL.RequestURI(), header: r.Header.Clone(), body: string(body)})
	f.mu.Unlock()

	a, ok := f.answers[r.Method+" "+r.URL.RequestURI()]
	if !ok {
		a = answer{http.StatusNotFound, envelope("not_found", "no canned answer for "+r.Method+" "+r.URL.RequestURI())}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if id := r.Header.Get("X-Request-Id"); id != "" {
		w.Header().Set("X-Request-Id", id)
	}
	// Every POST and DELETE of the contract is a lifecycle operation.
	if r.Method == http.MethodPost || r.Method == http.MethodDelete {
		outcome := cmp.Or(f.outcome, "applied")
		if a.status >= 400 {
			outcome = "failure"
		}
		w.Header().Set("X-Galaxy-Outcome", outcome)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body+"\n")
}

func (f *fakeAPI) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got
}

// serve starts the fake API behind the contract check and returns its URL.
func serve(t *testing.T, answers map[string]answer) (*fakeAPI, string) {
	t.Helper()
	f := &fakeAPI{answers: answers}
	return f, serveAPI(t, f)
}

func serveAPI(t *testing.T, f *fakeAPI) string {
	t.Helper()
	srv := httptest.NewServer(contracttest.Handler(t, f))
	t.Cleanup(srv.Close)
	return srv.URL
}

type result struct {
	code           int
	stdout, stderr string
}

// rtmctl runs the CLI with the given environment (nil for none).
func rtmctl(env map[string]string, args ...string) result {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr, func(k string) string { return env[k] })
	return result{code, stdout.String(), stderr.String()}
}

func record(game, status, container, image, stoppedAt string) string {
	return fmt.Sprintf(`{"game_id":%[1]q,"status":%[2]q,"current_container_id":%[3]s,"current_image_ref":%[4]s,`+
		`"engine_endpoint":"http://galaxy-game-%[1]s:8080","state_path":"/var/lib/galaxy/games/%[1]s",`+
		`"docker_network":"galaxy-net","engine_node":null,"started_at":"2026-05-01T10:00:00Z","stopped_at":%[5]s,"removed_at":null,`+
		`"last_op_at":"2026-05-01T10:00:00Z","created_at":"2026-04-30T09:00:00Z"}`,
		game, status, orNull(container), orNull(image), orNull(stoppedAt))
}

func orNull(v string) string {
	if v == "" {
		return "null"
	}
	return fmt.Sprintf("%q", v)
}

func running(game string) string {
	return record(game, "running", "3f4e9a1c2b7d5e6f7a8b", "galaxy/game:1.0.1", "")
}

func runtimeList(next string, records ...string) string {
	return `{"runtimes":[` + strings.Join(records, ",") + `],"next_cursor":` + orNull(next) + `}`
}

func envelope(code, message string) string {
	return fmt.Sprintf(`{"error":{"code":%q,"message":%q}}`, code, message)
}

const (
	operations = `{"operations":[` +
		`{"id":18,"game_id":"game-42","op_kind":"patch","op_source":"admin_rest","source_ref":"req-9","correlation_id":"c-2",` +
		`"outcome":"failure","error_code":"semver_patch_only","error_message":"patch may change only\nthe patch version",` +
		`"image_ref":"galaxy/game:1.1.0","container_id":"","details":{},"started_at":"2026-05-01T11:00:00Z","finished_at":"2026-05-01T11:00:00.25Z"},` +
		`{"id":17,"game_id":"game-42","op_kind":"start","op_source":"gm_rest","source_ref":"req-7f3a","correlation_id":"c-1",` +
		`"outcome":"success","error_code":"","error_message":"","image_ref":"galaxy/game:1.0.1","container_id":"3f4e9a1c2b7d",` +
		`"details":{},"started_at":"2026-05-01T09:59:58Z","finished_at":"2026-05-01T10:00:00Z"}],"next_cursor":"MTc"}`
	health = `{"game_id":"game-42","container_id":"3f4e9a1c2b7d","status":"probe_failed","source":"probe",` +
		`"last_event_type":"probe_failed","details":{"consecutive_failures":3,"last_error":"context deadline exceeded"},` +
		`"observed_at":"2026-05-01T11:00:00Z"}`
)

func TestEachCommandSendsItsRequestWithCallerRequestIDAndToken(t *testing.T) {
	game := runtimesPath + "/game-42"
	tests := []struct {
		name     string
		args     []string
		endpoint string // "METHOD /uri"
		body     string // the JSON body sent; empty for none
		reply    string
	}{
		{"list", []string{"list"}, "GET " + runtimesPath, "", runtimeList("", running("game-42"))},
		{"list with filter and page", []string{"list", "--status", "stopped", "--limit", "2", "--cursor", "Z2FtZQ"},
			"GET " + runtimesPath + "?status=stopped&limit=2&cursor=Z2FtZQ", "", runtimeList("")},
		{"list with the largest page", []string{"list", "--limit", "500"}, "GET " + runtimesPath + "?limit=500", "", runtimeList("")},
		{"get of the longest game id", []string{"get", strings.Repeat("g", 51)}, "GET " + runtimesPath + "/" + strings.Repeat("g", 51), "",
			running(strings.Repeat("g", 51))},
		{"get", []string{"get", "game-42"}, "GET " + game, "", running("game-42")},
		{"start", []string{"start", "game-42", "galaxy/game:1.0.1"}, "POST " + game + "/start", `{"image_ref":"galaxy/game:1.0.1"}`, running("game-42")},
		{"stop", []string{"stop", "game-42", "admin_request"}, "POST " + game + "/stop", `{"reason":"admin_request"}`,
			record("game-42", "stopped", "3f4e9a1c2b7d", "galaxy/game:1.0.1", "2026-05-01T12:00:00Z")},
		{"restart", []string{"restart", "game-42"}, "POST " + game + "/restart", `{}`, running("game-42")},
		{"patch", []string{"patch", "game-42", "galaxy/game:1.0.2"}, "POST " + game + "/patch", `{"image_ref":"galaxy/game:1.0.2"}`, running("game-42")},
		{"cleanup", []string{"cleanup", "game-42"}, "DELETE " + game + "/container", "", record("game-42", "removed", "", "", "2026-05-01T12:00:00Z")},
		{"ops", []string{"ops", "game-42"}, "GET " + game + "/operations", "", operations},
		{"ops with page", []string{"ops", "game-42", "--limit", "5", "--cursor", "MTc"}, "GET " + game + "/operations?limit=5&cursor=MTc", "", operations},
		{"health", []string{"health", "game-42"}, "GET " + game + "/health", "", health},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, url := serve(t, map[string]answer{tt.endpoint: {200, tt.reply}})
			args := append([]string{"--server", url, "--token", "s3cret", "--request-id", "req-1"}, tt.args...)
			if r := rtmctl(nil, args...); r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			got := api.requests()
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1", len(got))
			}
			req := got[0]
			if endpoint := req.method + " " + req.uri; endpoint != tt.endpoint {
				t.Errorf("sent %s, want %s", endpoint, tt.endpoint)
			}
			if req.body != tt.body {
				t.Errorf("body %q, want %q", req.body, tt.body)
			}
			if tt.body != "" && req.header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", req.header.Get("Content-Type"))
			}
			for k, want := range map[string]string{"X-Galaxy-Caller": "admin", "X-Request-Id": "req-1", "Authorization": "Bearer s3cret"} {
				if v := req.header.Get(k); v != want {
					t.Errorf("%s %q, want %q", k, v, want)
				}
			}
		})
	}
}

func TestSettingsComeFromFlagsBeforeOrAfterTheCommandElseTheEnvironment(t *testing.T) {
	api, url := serve(t, map[string]answer{"GET " + runtimesPath + "/game-42": {200, running("game-42")}})
	env := map[string]string{"RTMCTL_SERVER": url, "RTMCTL_TOKEN": "from-env"}
	other := map[string]string{"RTMCTL_SERVER": "http://127.0.0.1:1", "RTMCTL_TOKEN": "from-env"}
	tests := []struct {
		name      string
		env       map[string]string
		args      []string
		wantToken string // the Authorization header; empty for none
	}{
		{"environment only", env, []string{"get", "game-42"}, "Bearer from-env"},
		{"flags before the command", other, []string{"--server", url, "--token", "flag", "-o", "json", "get", "game-42"}, "Bearer flag"},
		{"flags after the arguments", other, []string{"get", "game-42", "--server", url, "--token=flag", "-o", "json"}, "Bearer flag"},
		{"no token anywhere", nil, []string{"get", "game-42", "--server", url}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(api.requests())
			if r := rtmctl(tt.env, tt.args...); r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			got := api.requests()
			if len(got) != before+1 {
				t.Fatalf("%d requests, want 1", len(got)-before)
			}
			if v := got[before].header.Get("Authorization"); v != tt.wantToken {
				t.Errorf("Authorization %q, want %q", v, tt.wantToken)
			}
		})
	}
}

func TestEveryRunSendsAFreshRandomRequestID(t *testing.T) {
	api, url := serve(t, map[string]answer{"GET " + runtimesPath: {200, runtimeList("")}})
	for range 2 {
		if r := rtmctl(nil, "--server", url, "list"); r.code != 0 {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	}
	got := api.requests()
	first, second := got[0].header.Get("X-Request-Id"), got[1].header.Get("X-Request-Id")
	if !strings.HasPrefix(first, "rtmctl-") || !strings.HasPrefix(second, "rtmctl-") || first == second {
		t.Errorf("request ids %q and %q, want two different rtmctl-… ids", first, second)
	}
}

func TestTableOutputIsAlignedForPeople(t *testing.T) {
	game := runtimesPath + "/game-42"
	tests := []struct {
		name       string
		args       []string
		endpoint   string
		reply      string
		wantStdout string
		wantStderr string
	}{
		{
			name: "list shortens container ids and fills nulls", args: []string{"list"}, endpoint: "GET " + runtimesPath,
			reply: runtimeList("", running("game-42"), record("old-1", "removed", "", "", "2026-05-01T12:00:00Z")),
			wantStdout: "" +
				"GAME     STATUS   IMAGE              CONTAINER     LAST OP\n" +
				"game-42  running  galaxy/game:1.0.1  3f4e9a1c2b7d  2026-05-01T10:00:00Z\n" +
				"old-1    removed  -                  -             2026-05-01T10:00:00Z\n",
		},
		{
			name: "list names the next page on stderr", args: []string{"list", "--limit", "1"}, endpoint: "GET " + runtimesPath + "?limit=1",
			reply: runtimeList("Z2FtZS00Mg", running("game-42")),
			wantStdout: "" +
				"GAME     STATUS   IMAGE              CONTAINER     LAST OP\n" +
				"game-42  running  galaxy/game:1.0.1  3f4e9a1c2b7d  2026-05-01T10:00:00Z\n",
			wantStderr: "rtmctl: more on the next page: --cursor Z2FtZS00Mg\n",
		},
		{
			name: "empty list is just the header", args: []string{"list", "--status", "stopped"}, endpoint: "GET " + runtimesPath + "?status=stopped",
			reply:      runtimeList(""),
			wantStdout: "GAME  STATUS  IMAGE  CONTAINER  LAST OP\n",
		},
		{
			name: "ops folds messages onto one line", args: []string{"ops", "game-42"}, endpoint: "GET " + game + "/operations",
			reply: operations,
			wantStdout: "" +
				"ID  KIND   SOURCE      OUTCOME  CODE               STARTED               TOOK   MESSAGE\n" +
				"18  patch  admin_rest  failure  semver_patch_only  2026-05-01T11:00:00Z  250ms  patch may change only the patch version\n" +
				"17  start  gm_rest     success  -                  2026-05-01T09:59:58Z  2s     -\n",
			wantStderr: "rtmctl: more on the next page: --cursor MTc\n",
		},
		{
			name: "a lifecycle command prints the record after it", args: []string{"stop", "game-42", "finished"}, endpoint: "POST " + game + "/stop",
			reply: record("game-42", "stopped", "3f4e9a1c2b7d5e6f7a8b", "galaxy/game:1.0.1", "2026-05-01T12:00:00Z"),
			wantStdout: "" +
				"game_id:               game-42\n" +
				"status:                stopped\n" +
				"current_container_id:  3f4e9a1c2b7d5e6f7a8b\n" +
				"current_image_ref:     galaxy/game:1.0.1\n" +
				"engine_endpoint:       http://galaxy-game-game-42:8080\n" +
				"state_path:            /var/lib/galaxy/games/game-42\n" +
				"docker_network:        galaxy-net\n" +
				"engine_node:           -\n" +
				"started_at:            2026-05-01T10:00:00Z\n" +
				"stopped_at:            2026-05-01T12:00:00Z\n" +
				"removed_at:            -\n" +
				"last_op_at:            2026-05-01T10:00:00Z\n" +
				"created_at:            2026-04-30T09:00:00Z\n",
		},
		{
			name: "health", args: []string{"health", "game-42"}, endpoint: "GET " + game + "/health",
			reply: health,
			wantStdout: "" +
				"game_id:          game-42\n" +
				"container_id:     3f4e9a1c2b7d\n" +
				"status:           probe_failed\n" +
				"source:           probe\n" +
				"last_event_type:  probe_failed\n" +
				"observed_at:      2026-05-01T11:00:00Z\n" +
				`details:          {"consecutive_failures":3,"last_error":"context deadline exceeded"}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := serve(t, map[string]answer{tt.endpoint: {200, tt.reply}})
			r := rtmctl(nil, append([]string{"--server", url}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if r.stdout != tt.wantStdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, tt.wantStdout)
			}
			if r.stderr != tt.wantStderr {
				t.Errorf("stderr %q, want %q", r.stderr, tt.wantStderr)
			}
		})
	}
}

// pretty is how -o json prints body: the server's document, indented.
func pretty(t *testing.T, body string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(body), "", "  "); err != nil {
		t.Fatal(err)
	}
	return buf.String() + "\n"
}

func TestJSONOutputIsTheServersBodyPrettyPrinted(t *testing.T) {
	game := runtimesPath + "/game-42"
	tests := []struct {
		name     string
		args     []string
		endpoint string
		reply    string
	}{
		{"list", []string{"list"}, "GET " + runtimesPath, runtimeList("Z2FtZS00Mg", running("game-42"))},
		{"get", []string{"get", "game-42"}, "GET " + game, running("game-42")},
		{"start", []string{"start", "game-42", "galaxy/game:1.0.1"}, "POST " + game + "/start", running("game-42")},
		{"ops", []string{"ops", "game-42"}, "GET " + game + "/operations", operations},
		{"health", []string{"health", "game-42"}, "GET " + game + "/health", health},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := serve(t, map[string]answer{tt.endpoint: {200, tt.reply}})
			r := rtmctl(nil, append([]string{"--server", url, "-o", "json"}, tt.args...)...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if want := pretty(t, tt.reply); r.stdout != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
			}
		})
	}
}

func TestListAllFollowsNextCursorThroughEveryPage(t *testing.T) {
	first := runtimesPath + "?status=running&limit=2"
	pages := map[string]answer{
		"GET " + first:                {200, runtimeList("cA", running("a-1"), running("a-2"))},
		"GET " + first + "&cursor=cA": {200, runtimeList("cB", running("b-1"), running("b-2"))},
		"GET " + first + "&cursor=cB": {200, runtimeList("", running("c-1"))},
	}
	args := []string{"list", "--all", "--status", "running", "--limit", "2", "--request-id", "req-all"}

	t.Run("table", func(t *testing.T) {
		api, url := serve(t, pages)
		r := rtmctl(nil, append(args, "--server", url)...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		var games []string
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
			games = append(games, strings.Fields(line)[0])
		}
		if got := strings.Join(games, " "); got != "a-1 a-2 b-1 b-2 c-1" {
			t.Errorf("games %q, stdout:\n%s", got, r.stdout)
		}
		for i, req := range api.requests() {
			if req.header.Get("X-Request-Id") != "req-all" {
				t.Errorf("page %d: X-Request-Id %q", i, req.header.Get("X-Request-Id"))
			}
		}
	})
	t.Run("json is one document with every record", func(t *testing.T) {
		_, url := serve(t, pages)
		r := rtmctl(nil, append(args, "--server", url, "-o", "json")...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		want := pretty(t, runtimeList("", running("a-1"), running("a-2"), running("b-1"), running("b-2"), running("c-1")))
		if r.stdout != want {
			t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
		}
	})
	t.Run("a failing page fails the command", func(t *testing.T) {
		_, url := serve(t, map[string]answer{
			"GET " + first:                pages["GET "+first],
			"GET " + first + "&cursor=cA": {503, envelope("service_unavailable", "storage unavailable")},
		})
		r := rtmctl(nil, append(args, "--server", url)...)
		if r.code != exitAPI || r.stdout != "" || r.stderr != "rtmctl: service_unavailable: storage unavailable\n" {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("a repeated cursor stops paging", func(t *testing.T) {
		api, url := serve(t, map[string]answer{
			"GET " + first:                {200, runtimeList("cA", running("a-1"))},
			"GET " + first + "&cursor=cA": {200, runtimeList("cA", running("a-2"))},
		})
		r := rtmctl(nil, append(args, "--server", url)...)
		if r.code != exitTransport || !strings.Contains(r.stderr, `next_cursor "cA" came twice`) {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
		if n := len(api.requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
}

func TestRefusalsExitOneWithTheErrorCode(t *testing.T) {
	game := runtimesPath + "/game-42"
	tests := []struct {
		name     string
		args     []string
		endpoint string
		reply    answer
		stderr   string
	}{
		{"404 not found", []string{"get", "game-42"}, "GET " + game,
			answer{404, envelope("not_found", "no runtime for game game-42")},
			"rtmctl: not_found: no runtime for game game-42\n"},
		{"409 conflict", []string{"restart", "game-42"}, "POST " + game + "/restart",
			answer{409, envelope("conflict", "another operation on this game is in progress")},
			"rtmctl: conflict: another operation on this game is in progress\n"},
		{"422 semver patch only", []string{"patch", "game-42", "galaxy/game:1.1.0"}, "POST " + game + "/patch",
			answer{422, envelope("semver_patch_only", "patch may change only the patch version (1.0.1 → 1.1.0)")},
			"rtmctl: semver_patch_only: patch may change only the patch version (1.0.1 → 1.1.0)\n"},
		{"503 docker unavailable", []string{"start", "game-42", "galaxy/game:1.0.1"}, "POST " + game + "/start",
			answer{503, envelope("docker_unavailable", "docker daemon did not answer")},
			"rtmctl: docker_unavailable: docker daemon did not answer\n"},
		{"401 bad token", []string{"list"}, "GET " + runtimesPath,
			answer{401, envelope("invalid_request", "missing or invalid bearer token")},
			"rtmctl: invalid_request: missing or invalid bearer token\n"},
	}
	for _, tt := range tests {
		for _, output := range []string{"table", "json"} {
			t.Run(tt.name+" "+output, func(t *testing.T) {
				_, url := serve(t, map[string]answer{tt.endpoint: tt.reply})
				r := rtmctl(nil, append([]string{"--server", url, "-o", output}, tt.args...)...)
				if r.code != exitAPI {
					t.Errorf("exit %d, want %d", r.code, exitAPI)
				}
				if r.stderr != tt.stderr {
					t.Errorf("stderr %q, want %q", r.stderr, tt.stderr)
				}
				wantStdout := "" // people get the error on stderr only
				if output == "json" {
					wantStdout = pretty(t, tt.reply.body)
				}
				if r.stdout != wantStdout {
					t.Errorf("stdout %q, want %q", r.stdout, wantStdout)
				}
			})
		}
	}
}

func TestUsageErrorsExitTwoWithoutCallingTheServer(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr string // a line stderr must contain
	}{
		{"no command", nil, "Usage: rtmctl"},
		{"unknown command", []string{"launch", "game-42"}, `rtmctl: unknown command "launch"`},
		{"missing argument", []string{"start", "game-42"}, "rtmctl: usage: rtmctl start GAME IMAGE_REF"},
		{"extra argument", []string{"get", "game-42", "game-43"}, "rtmctl: usage: rtmctl get GAME"},
		{"empty game", []string{"get", ""}, "rtmctl: GAME must not be empty"},
		{"unknown stop reason", []string{"stop", "game-42", "bored"},
			`rtmctl: REASON "bored": must be one of orphan_cleanup, cancelled, finished, admin_request, timeout`},
		{"unknown output format", []string{"list", "-o", "yaml"}, `rtmctl: invalid value "yaml" for flag -o: must be table or json`},
		{"unknown status", []string{"list", "--status", "paused"}, `rtmctl: invalid value "paused" for flag -status: must be one of running, stopped, removed`},
		{"limit not positive", []string{"ops", "game-42", "--limit", "0"}, `rtmctl: invalid value "0" for flag -limit: must be an integer from 1 to 500`},
		{"limit over the page size", []string{"list", "--limit", "9999"}, `rtmctl: invalid value "9999" for flag -limit: must be an integer from 1 to 500`},
		{"limit just over the page size", []string{"ops", "game-42", "--limit", "501"}, `rtmctl: invalid value "501" for flag -limit: must be an integer from 1 to 500`},
		{"game id with a dot", []string{"stop", "game.42", "finished"},
			`rtmctl: GAME "game.42": must be 1 to 51 characters: ASCII letters, digits, '_' and '-', starting with a letter or digit`},
		{"game id of 52 characters", []string{"get", strings.Repeat("g", 52)}, `rtmctl: GAME "` + strings.Repeat("g", 52) + `": must be 1 to 51`},
		{"flag of another command", []string{"ops", "game-42", "--all"}, "rtmctl: flag provided but not defined: -all"},
		{"unknown global flag", []string{"--verbose", "list"}, "rtmctl: flag provided but not defined: -verbose"},
		{"server without scheme", []string{"list", "--server", "localhost:8096"}, `rtmctl: --server "localhost:8096": want an http:// or https:// URL`},
		{"timeout not positive", []string{"list", "--timeout", "0s"}, "rtmctl: --timeout 0s: must be positive"},
		{"request id with a space", []string{"list", "--request-id", "my id"}, `rtmctl: --request-id "my id": want 1 to 128 printable ASCII characters`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, url := serve(t, nil)
			r := rtmctl(map[string]string{"RTMCTL_SERVER": url}, tt.args...)
			if r.code != exitUsage {
				t.Errorf("exit %d, want %d", r.code, exitUsage)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q, want it to contain %q", r.stderr, tt.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if n := len(api.requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func TestHelpPrintsUsageAndSucceeds(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"stop", "-h"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := rtmctl(nil, args...)
			if r.code != exitOK || r.stdout != usage || r.stderr != "" {
				t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestNoUsableAnswerExitsThree(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	// These servers break the contract on purpose, so they are not wrapped
	// in the contract check.
	raw := func(h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	slow := raw(func(w http.ResponseWriter, r *http.Request) {
		// The server notices the client leaving only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	})
	proxy := raw(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>bad gateway</html>")
	})
	garbled := raw(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, `{"game_id":`)
	})

	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"connection refused", []string{"--server", closed.URL, "list"}, "connection refused"},
		{"timeout", []string{"--server", slow, "--timeout", "50ms", "start", "game-42", "galaxy/game:1.0.1"},
			"rtmctl: no answer within 50ms; an operation the server has begun still completes"},
		{"not the contract's error envelope", []string{"--server", proxy, "get", "game-42"}, "rtmctl: unexpected answer: 502 Bad Gateway"},
		{"malformed body", []string{"--server", garbled, "-o", "json", "get", "game-42"}, "rtmctl: malformed answer: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rtmctl(nil, tt.args...)
			if r.code != exitTransport {
				t.Errorf("exit %d, want %d", r.code, exitTransport)
			}
			if !strings.HasPrefix(r.stderr, "rtmctl: ") || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q, want it to contain %q", r.stderr, tt.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}
}

// TestBadGameIDIsRefusedLocally: every command that takes a game refuses an
// id outside the rule with a usage error, sending nothing.
func TestBadGameIDIsRefusedLocally(t *testing.T) {
	placeholders := map[string]string{"IMAGE_REF": "galaxy/game:1.0.1", "REASON": "finished"}
	for name, cmd := range commands {
		if len(cmd.args) == 0 || cmd.args[0] != "GAME" {
			continue
		}
		for _, id := range []string{"game.42", strings.Repeat("g", 52), "game 42", "_game"} {
			args := []string{name, id}
			for _, arg := range cmd.args[1:] {
				args = append(args, placeholders[arg])
			}
			api, url := serve(t, nil)
			r := rtmctl(map[string]string{"RTMCTL_SERVER": url}, args...)
			want := fmt.Sprintf("rtmctl: GAME %q: must be %s\n", id, domain.GameIDRule)
			if r.code != exitUsage || !strings.HasPrefix(r.stderr, want) || r.stdout != "" || len(api.requests()) != 0 {
				t.Errorf("%q: exit %d, stdout %q, stderr %q, %d requests; want exit %d and %q",
					args, r.code, r.stdout, r.stderr, len(api.requests()), exitUsage, want)
			}
		}
	}
}

func TestHelpStatesTheRulesItChecks(t *testing.T) {
	for _, rule := range []string{
		"GAME is a game id: " + domain.GameIDRule,
		fmt.Sprintf("page size, 1 to %d (default %d)", paging.MaxSize, paging.DefaultSize),
	} {
		if !strings.Contains(usage, rule) {
			t.Errorf("the help does not say %q", rule)
		}
	}
}

// TestReplaysSayNothingWasDone: a lifecycle call the server answers as a
// replay (X-Galaxy-Outcome: replay_no_op) prints the record as usual and
// says on stderr, in the command's words, that nothing was done; -o json
// still prints just the record on stdout.
func TestReplaysSayNothingWasDone(t *testing.T) {
	game := runtimesPath + "/game-42"
	stopped := record("game-42", "stopped", "3f4e9a1c2b7d", "galaxy/game:1.0.1", "2026-05-01T12:00:00Z")
	removed := record("game-42", "removed", "3f4e9a1c2b7d", "galaxy/game:1.0.1", "2026-05-01T12:00:00Z")
	tests := []struct {
		args     []string
		endpoint string
		reply    string
		note     string
	}{
		{[]string{"start", "game-42", "galaxy/game:1.0.1"}, "POST " + game + "/start", running("game-42"),
			"rtmctl: already running galaxy/game:1.0.1: nothing to do\n"},
		{[]string{"stop", "game-42", "finished"}, "POST " + game + "/stop", stopped, "rtmctl: already stopped: nothing to do\n"},
		{[]string{"stop", "game-42", "finished"}, "POST " + game + "/stop", removed, "rtmctl: already removed: nothing to do\n"},
		{[]string{"cleanup", "game-42"}, "DELETE " + game + "/container", removed, "rtmctl: already removed: nothing to do\n"},
		{[]string{"patch", "game-42", "galaxy/game:1.0.1"}, "POST " + game + "/patch", running("game-42"),
			"rtmctl: already on galaxy/game:1.0.1: nothing to do\n"},
		{[]string{"patch", "game-42", "galaxy/game:1.0.1"}, "POST " + game + "/patch", stopped,
			"rtmctl: already on galaxy/game:1.0.1: nothing to do\n"},
	}
	for _, tt := range tests {
		for _, output := range []string{"table", "json"} {
			t.Run(strings.Join(tt.args, " ")+" "+output, func(t *testing.T) {
				url := serveAPI(t, &fakeAPI{answers: map[string]answer{tt.endpoint: {200, tt.reply}}, outcome: "replay_no_op"})
				r := rtmctl(nil, append([]string{"--server", url, "-o", output}, tt.args...)...)
				if r.code != exitOK || r.stderr != tt.note {
					t.Errorf("exit %d, stderr %q, want 0 and %q", r.code, r.stderr, tt.note)
				}
				if output == "json" && r.stdout != pretty(t, tt.reply) {
					t.Errorf("stdout:\n%s\nwant the record as served", r.stdout)
				}
				if output == "table" && !strings.HasPrefix(r.stdout, "game_id:               game-42\n") {
					t.Errorf("stdout:\n%s\nwant the record", r.stdout)
				}
			})
		}
	}
	// Work done says nothing more than the record.
	url := serveAPI(t, &fakeAPI{answers: map[string]answer{"POST " + game + "/stop": {200, stopped}}, outcome: "applied"})
	if r := rtmctl(nil, "--server", url, "stop", "game-42", "finished"); r.code != exitOK || r.stderr != "" {
		t.Errorf("applied stop: exit %d, stderr %q", r.code, r.stderr)
	}
}
