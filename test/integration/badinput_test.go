package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"

	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/test/harness"
)

// TestBadStartInputCreatesNothing: each refused start answers its code, writes
// exactly one failed operation row, publishes the notification intent a
// failed start owes the operators, and leaves no container behind.
func TestBadStartInputCreatesNothing(t *testing.T) {
	notAFile := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notAFile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		env        map[string]string
		ref        string
		dropNet    bool
		status     int
		code       string
		intentType string
	}{
		{name: "malformed image reference", ref: "galaxy/Game:1.0.0!", status: 422, code: "start_config_invalid", intentType: "runtime.start_config_invalid"},
		{name: "reference without a tag", ref: "galaxy/game", status: 422, code: "start_config_invalid", intentType: "runtime.start_config_invalid"},
		{name: "image outside the allow-list", env: map[string]string{"ALLOWED_IMAGE_PREFIXES": "registry.galaxy.local/engines"},
			ref: "galaxy/game:1.0.0", status: 422, code: "start_config_invalid", intentType: "runtime.start_config_invalid"},
		{name: "network missing", dropNet: true, ref: "galaxy/game:1.0.0", status: 422, code: "start_config_invalid", intentType: "runtime.start_config_invalid"},
		{name: "state root unusable", env: map[string]string{"GAME_STATE_ROOT": filepath.Join(notAFile, "games")},
			ref: "galaxy/game:1.0.0", status: 422, code: "start_config_invalid", intentType: "runtime.start_config_invalid"},
		{name: "unparsable limit label", ref: "galaxy/game:1.0.3-badlabels", status: 422, code: "start_config_invalid", intentType: "runtime.start_config_invalid"},
		{name: "pull policy never and image absent", env: map[string]string{"IMAGE_PULL_POLICY": "never"},
			ref: "galaxy/game:9.9.9", status: 502, code: "image_pull_failed", intentType: "runtime.image_pull_failed"},
		{name: "image absent and no registry", ref: "galaxy/game:9.9.8", status: 502, code: "image_pull_failed", intentType: "runtime.image_pull_failed"},
		{name: "empty image reference", ref: "", status: 400, code: "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tc.env {
				env[k] = v
			}
			var s *harness.Service
			if tc.dropNet {
				net := testNetwork(t)
				env["DOCKER_NETWORK"] = net.name
				s = harness.Start(t, harness.Options{Env: env})
				net.remove(t)
			} else {
				s = harness.Start(t, harness.Options{Env: env})
			}
			id := s.GameID("bad")
			r := start(t, s, id, tc.ref, "X-Request-Id", "bad-1")
			expect(t, r, tc.status, tc.code)
			if n := len(s.Containers(id)); n != 0 {
				t.Errorf("%d containers left behind", n)
			}
			if tc.code != "invalid_request" {
				expect(t, call(t, s, http.MethodGet, rt(id), nil), 404, "not_found")
			}
			ops := operations(t, s, id)
			if len(ops) != 1 || str(ops[0], "outcome") != "failure" || str(ops[0], "error_code") != tc.code ||
				str(ops[0], "op_kind") != "start" || str(ops[0], "source_ref") != "bad-1" {
				t.Fatalf("want one failed start row with %s, got %v", tc.code, ops)
			}
			got := intents(t, s, id)
			if tc.intentType == "" {
				if len(got) != 0 {
					t.Errorf("no intent expected, got %v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one notification intent, got %v", got)
			}
			in := got[0]
			opID := int64(ops[0]["id"].(float64))
			wantKey := "runtime_manager:" + id + ":" + tc.intentType + ":" + itoa(opID)
			if in["notification_type"] != tc.intentType || in["producer"] != "runtime_manager" ||
				in["audience_kind"] != "admin_email" || in["idempotency_key"] != wantKey {
				t.Errorf("intent fields: %v (want key %s)", in, wantKey)
			}
			var payload map[string]any
			if err := json.Unmarshal([]byte(in["payload_json"].(string)), &payload); err != nil {
				t.Fatal(err)
			}
			if payload["game_id"] != id || payload["image_ref"] != tc.ref || payload["error_code"] != tc.code ||
				payload["error_message"] == "" || payload["attempted_at_ms"] == nil {
				t.Errorf("intent payload: %v", payload)
			}
		})
	}
}

// TestBadStopReasonIsRefused: an unknown reason never reaches Docker.
func TestBadStopReasonIsRefused(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	id := s.GameID("reason")
	expect(t, start(t, s, id, "galaxy/game:1.0.0"), 200, "")
	expect(t, stop(t, s, id, "bored"), 400, "invalid_request")
	expect(t, stop(t, s, id, ""), 400, "invalid_request")
	if r := call(t, s, http.MethodGet, rt(id), nil); str(r.Body, "status") != "running" {
		t.Errorf("refused stop changed the record: %s", r.Raw)
	}
	// Each refusal is in the game's history: one failed stop row apiece.
	ops := operations(t, s, id)
	for _, op := range ops[:2] {
		if str(op, "op_kind") != "stop" || str(op, "outcome") != "failure" || str(op, "error_code") != "invalid_request" {
			t.Errorf("refusal row: %v", op)
		}
	}
	if len(ops) != 3 {
		t.Errorf("want start + two refusals, got %d rows", len(ops))
	}
}

// TestInvalidGameIDCreatesNothing: a game_id that breaks the pattern names no
// game, so it is refused before anything — no container, no record, no row.
func TestInvalidGameIDCreatesNothing(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	for _, bad := range []string{"..%2Fx", "%20", "a%20b", strings.Repeat("g", 200), "-lead", "g%C3%BC", "game.42", strings.Repeat("g", 52)} {
		expect(t, call(t, s, http.MethodPost, rt(bad)+"/start", map[string]string{"image_ref": "galaxy/game:1.0.0"}), 400, "invalid_request")
		expect(t, call(t, s, http.MethodPost, rt(bad)+"/stop", map[string]string{"reason": "finished"}), 400, "invalid_request")
	}
	r := call(t, s, http.MethodGet, "/api/v1/internal/runtimes", nil)
	expect(t, r, 200, "")
	if n := len(r.Body["runtimes"].([]any)); n != 0 {
		t.Errorf("%d records exist", n)
	}
	var rows int
	if err := s.DB.QueryRow(context.Background(), "SELECT count(*) FROM operation_log").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Errorf("%d operation rows written for invalid game ids", rows)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

type tempNetwork struct {
	name string
	id   string
	s    func() // removal
}

// testNetwork creates a user-defined network labelled for this run.
func testNetwork(t *testing.T) *tempNetwork {
	t.Helper()
	d := testenv.Docker(t)
	name := testenv.UniqueName("net")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := d.NetworkCreate(ctx, name, network.CreateOptions{Labels: map[string]string{testenv.RunLabel: testenv.RunID()}})
	if err != nil {
		t.Fatal(err)
	}
	n := &tempNetwork{name: name, id: resp.ID}
	removed := false
	n.s = func() {
		if removed {
			return
		}
		removed = true
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.NetworkRemove(ctx, n.id); err != nil {
			t.Errorf("remove network %s: %v", name, err)
		}
	}
	t.Cleanup(n.s)
	return n
}

func (n *tempNetwork) remove(t *testing.T) { n.s() }
