package integration

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/test/harness"
)

// TestLifecycleWalk drives one game through start → stop → restart → patch →
// cleanup over REST and checks, at each step, the Docker side, the record,
// the operation log and the health stream.
func TestLifecycleWalk(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	id := s.GameID("walk")
	statePath := filepath.Join(s.StateRoot, id)
	walk(t, s, id, walkRuntime{
		statePath: statePath,
		checkEngine: func(t *testing.T, cid, ref string) {
			checkContainer(t, s, id, cid, ref, statePath)
		},
		counter: func(t *testing.T, cid, method string) counter { return engineCounter(t, s, cid, method) },
		stopped: func(t *testing.T, cid string) {
			if ci := inspect(t, s, cid); ci.State.Running {
				t.Error("container still running after stop")
			}
		},
		engines:  func(t *testing.T) int { return len(s.Containers(id)) },
		stateDir: func(*testing.T) string { return statePath },
	})
}

// walkRuntime is what the lifecycle walk asks of the runtime under test.
type walkRuntime struct {
	statePath, node string // the record's state_path and engine_node ("": null)
	// checkEngine checks the contract's model on the running engine cid.
	checkEngine func(t *testing.T, cid, ref string)
	// counter reads the engine's persisted counter (POST increments it).
	counter func(t *testing.T, cid, method string) counter
	// stopped checks the stopped engine cid is kept, not running.
	stopped func(t *testing.T, cid string)
	// engines counts the game's containers (docker) or services (swarm).
	engines func(t *testing.T) int
	// stateDir is where the game's state files are on this host.
	stateDir func(t *testing.T) string
}

// walk is the lifecycle walk on one runtime: the record, the operation log,
// the health stream and the engine's state at each step.
func walk(t *testing.T, s *harness.Service, id string, w walkRuntime) {
	t.Helper()
	// start
	r := start(t, s, id, "galaxy/game:1.0.0", "X-Galaxy-Caller", "gm", "X-Request-Id", "req-start-1")
	expect(t, r, 200, "")
	if got := r.Header.Get("X-Request-Id"); got != "req-start-1" {
		t.Errorf("X-Request-Id not echoed: %q", got)
	}
	rec := r.Body
	cid := str(rec, "current_container_id")
	wantRec := map[string]string{
		"game_id": id, "status": "running", "current_image_ref": "galaxy/game:1.0.0",
		"engine_endpoint": "http://galaxy-game-" + id + ":8080", "state_path": w.statePath,
		"docker_network": s.Config.DockerNetwork, "engine_node": w.node,
	}
	for k, v := range wantRec {
		if str(rec, k) != v {
			t.Errorf("record %s = %q, want %q", k, str(rec, k), v)
		}
	}
	if cid == "" || rec["started_at"] == nil || rec["stopped_at"] != nil || rec["removed_at"] != nil {
		t.Errorf("record after start: %s", r.Raw)
	}
	createdAt := str(rec, "created_at")
	w.checkEngine(t, cid, "galaxy/game:1.0.0")

	ops := operations(t, s, id)
	if len(ops) != 1 || str(ops[0], "op_kind") != "start" || str(ops[0], "op_source") != "gm_rest" ||
		str(ops[0], "source_ref") != "req-start-1" || str(ops[0], "outcome") != "success" ||
		str(ops[0], "container_id") != cid || str(ops[0], "image_ref") != "galaxy/game:1.0.0" {
		t.Errorf("operation log after start: %v", ops)
	}
	h := call(t, s, http.MethodGet, rt(id)+"/health", nil)
	expect(t, h, 200, "")
	if str(h.Body, "last_event_type") != "container_started" || str(h.Body, "container_id") != cid ||
		str(h.Body, "status") != "healthy" || str(h.Body, "source") != "start" {
		t.Errorf("health snapshot: %s", h.Raw)
	}
	if d, _ := h.Body["details"].(map[string]any); str(d, "image_ref") != "galaxy/game:1.0.0" {
		t.Errorf("health details: %s", h.Raw)
	}
	evs := healthEvents(t, s, id)
	if len(evs) != 1 || evs[0]["event_type"] != "container_started" || evs[0]["container_id"] != cid ||
		evs[0]["details"] != `{"image_ref":"galaxy/game:1.0.0"}` {
		t.Errorf("health events: %v", evs)
	}
	// The sample engine counts each boot and each POST /counter in a file
	// under GAME_STATE_PATH: the numbers only grow if the state survives.
	if c := w.counter(t, cid, http.MethodPost); c.Boots != 1 || c.Counter != 2 {
		t.Errorf("counter after first boot and one increment: %+v", c)
	}

	// stop
	r = stop(t, s, id, "admin_request")
	expect(t, r, 200, "")
	if str(r.Body, "status") != "stopped" || r.Body["stopped_at"] == nil || str(r.Body, "current_container_id") != cid {
		t.Errorf("record after stop: %s", r.Raw)
	}
	w.stopped(t, cid)

	// restart: inner stop (a replay: already stopped), removal, inner start
	r = call(t, s, http.MethodPost, rt(id)+"/restart", nil, "X-Galaxy-Caller", "admin")
	expect(t, r, 200, "")
	cid2 := str(r.Body, "current_container_id")
	if str(r.Body, "status") != "running" || cid2 == "" || cid2 == cid || str(r.Body, "engine_node") != w.node {
		t.Fatalf("record after restart: %s", r.Raw)
	}
	if n := w.engines(t); n != 1 {
		t.Errorf("restart left %d engines, want 1", n)
	}
	w.checkEngine(t, cid2, "galaxy/game:1.0.0")
	if c := w.counter(t, cid2, http.MethodGet); c.Boots != 2 || c.Counter != 3 {
		t.Errorf("state after restart: %+v, want boots 2 and counter 3", c)
	}
	checkCorrelated(t, operations(t, s, id), "restart", []string{"stop", "start"})

	// patch 1.0.0 → 1.0.1
	r = call(t, s, http.MethodPost, rt(id)+"/patch", map[string]string{"image_ref": "galaxy/game:1.0.1"})
	expect(t, r, 200, "")
	cid3 := str(r.Body, "current_container_id")
	if str(r.Body, "current_image_ref") != "galaxy/game:1.0.1" || cid3 == cid2 || str(r.Body, "created_at") != createdAt {
		t.Fatalf("record after patch: %s", r.Raw)
	}
	w.checkEngine(t, cid3, "galaxy/game:1.0.1")
	if c := w.counter(t, cid3, http.MethodGet); c.Boots != 3 || c.Counter != 4 {
		t.Errorf("state after patch: %+v, want boots 3 and counter 4", c)
	}
	checkCorrelated(t, operations(t, s, id), "patch", []string{"stop", "start"})
	if evs := healthEvents(t, s, id); len(evs) != 3 {
		t.Errorf("want one container_started per start (3), got %d", len(evs))
	}

	// cleanup: refused while running, then stop and remove
	expect(t, call(t, s, http.MethodDelete, rt(id)+"/container", nil), 409, "conflict")
	expect(t, stop(t, s, id, "finished"), 200, "")
	r = call(t, s, http.MethodDelete, rt(id)+"/container", nil)
	expect(t, r, 200, "")
	if str(r.Body, "status") != "removed" || r.Body["removed_at"] == nil {
		t.Errorf("record after cleanup: %s", r.Raw)
	}
	if n := w.engines(t); n != 0 {
		t.Errorf("cleanup left %d engines", n)
	}
	// Cleanup keeps the state, with the engine's files.
	if entries, err := os.ReadDir(w.stateDir(t)); err != nil || len(entries) == 0 {
		t.Errorf("the engine's state files are gone: %d entries, %v", len(entries), err)
	}
	if got := operations(t, s, id)[0]; str(got, "op_kind") != "cleanup_container" || str(got, "outcome") != "success" {
		t.Errorf("last operation: %v", got)
	}
}

// checkContainer verifies the whole container model: name, hostname, labels,
// limits, hardening, logging, state mount, environment and network.
func checkContainer(t *testing.T, s *harness.Service, gameID, cid, ref, statePath string) {
	t.Helper()
	c := inspect(t, s, cid)
	name := "galaxy-game-" + gameID
	if c.Name != "/"+name || c.Config.Hostname != name {
		t.Errorf("name %q hostname %q, want %s", c.Name, c.Config.Hostname, name)
	}
	if !c.State.Running {
		t.Error("container not running")
	}
	labels := c.Config.Labels
	for k, v := range map[string]string{
		"com.galaxy.owner": "rtmanager", "com.galaxy.kind": "game-engine",
		"com.galaxy.deployment": s.Config.Deployment, "com.galaxy.game_id": gameID,
		"com.galaxy.engine_image_ref": ref,
	} {
		if labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, labels[k], v)
		}
	}
	if ms, err := strconv.ParseInt(labels["com.galaxy.started_at_ms"], 10, 64); err != nil || time.Since(time.UnixMilli(ms)) > 10*time.Minute {
		t.Errorf("label started_at_ms = %q", labels["com.galaxy.started_at_ms"])
	}
	// galaxy/game:1.0.x declares cpu 0.5, memory 64m, pids 64 in its labels.
	hc := c.HostConfig
	if hc.NanoCPUs != 500_000_000 || hc.Memory != 64<<20 || hc.PidsLimit == nil || *hc.PidsLimit != 64 {
		t.Errorf("limits: cpus %d memory %d pids %v", hc.NanoCPUs, hc.Memory, hc.PidsLimit)
	}
	if hc.Privileged || !slices.Contains(hc.CapDrop, "ALL") || !slices.ContainsFunc(hc.SecurityOpt, func(o string) bool {
		return o == "no-new-privileges" || o == "no-new-privileges:true"
	}) {
		t.Errorf("hardening: privileged %v capdrop %v secopt %v", hc.Privileged, hc.CapDrop, hc.SecurityOpt)
	}
	if hc.RestartPolicy.Name != "no" {
		t.Errorf("restart policy %q", hc.RestartPolicy.Name)
	}
	if hc.LogConfig.Type != "json-file" || hc.LogConfig.Config["max-size"] == "" {
		t.Errorf("log config %+v", hc.LogConfig)
	}
	if len(hc.PortBindings) != 0 {
		t.Errorf("published ports: %v", hc.PortBindings)
	}
	mounted := false
	for _, m := range c.Mounts {
		if m.Source == statePath && m.Destination == "/var/lib/galaxy-game" && m.RW {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("state bind mount missing: %+v", c.Mounts)
	}
	for _, e := range []string{"GAME_STATE_PATH=/var/lib/galaxy-game", "STORAGE_PATH=/var/lib/galaxy-game", "GAME_ID=" + gameID} {
		if !slices.Contains(c.Config.Env, e) {
			t.Errorf("env %s missing: %v", e, c.Config.Env)
		}
	}
	if _, ok := c.NetworkSettings.Networks[s.Config.DockerNetwork]; !ok || len(c.NetworkSettings.Networks) != 1 {
		t.Errorf("networks: %v", c.NetworkSettings.Networks)
	}
}

// checkCorrelated checks that the newest outer row of kind outer is preceded
// by its inner rows, all sharing one correlation id.
func checkCorrelated(t *testing.T, ops []map[string]any, outer string, inner []string) {
	t.Helper()
	if len(ops) < len(inner)+1 || str(ops[0], "op_kind") != outer || str(ops[0], "outcome") != "success" {
		b, _ := json.Marshal(ops)
		t.Fatalf("want newest row %s success, got %s", outer, b)
	}
	corr := str(ops[0], "correlation_id")
	for i := range inner {
		row := ops[len(inner)-i]
		if str(row, "op_kind") != inner[i] || str(row, "correlation_id") != corr || corr == "" {
			b, _ := json.Marshal(ops[:len(inner)+1])
			t.Fatalf("inner rows of %s: want %v sharing %q, got %s", outer, inner, corr, b)
		}
	}
}
