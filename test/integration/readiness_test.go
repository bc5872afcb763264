package integration

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/test/harness"
)

// An engine that never answers /healthz 200 fails the start after the ready
// timeout: container_start_failed, the record stored as stopped, the
// container stopped but kept for inspection.
func TestEngineThatNeverGetsReadyFailsTheStart(t *testing.T) {
	s := harness.Start(t, harness.Options{Env: map[string]string{"ENGINE_READY_TIMEOUT": "1500ms"}})
	id := s.GameID("notready")
	r := start(t, s, id, "galaxy/game:1.0.2-neverready")
	expect(t, r, 500, "container_start_failed")

	rec := call(t, s, http.MethodGet, rt(id), nil)
	expect(t, rec, 200, "")
	if str(rec.Body, "status") != "stopped" {
		t.Errorf("record after failed readiness: %s", rec.Raw)
	}
	cs := s.Containers(id)
	if len(cs) != 1 || cs[0].State == "running" {
		t.Fatalf("want the one container kept and stopped, got %+v", cs)
	}
	if got := intents(t, s, id); len(got) != 1 || got[0]["notification_type"] != "runtime.container_start_failed" {
		t.Errorf("intents: %v", got)
	}
	// A later good start replaces the parked container.
	r = start(t, s, id, "galaxy/game:1.0.0")
	expect(t, r, 200, "")
	if cs := s.Containers(id); len(cs) != 1 || cs[0].ID != str(r.Body, "current_container_id") {
		t.Errorf("containers after recovery: %+v", cs)
	}
}

// A patch to an engine that never gets ready rolls back to the previous image
// on the same state.
func TestPatchToAnEngineThatNeverGetsReadyRollsBack(t *testing.T) {
	s := harness.Start(t, harness.Options{Env: map[string]string{"ENGINE_READY_TIMEOUT": "1500ms"}})
	id := s.GameID("rollback")
	r := start(t, s, id, "galaxy/game:1.0.0")
	expect(t, r, 200, "")
	before := engineCounter(t, s, str(r.Body, "current_container_id"), http.MethodPost)

	r = call(t, s, http.MethodPost, rt(id)+"/patch", map[string]string{"image_ref": "galaxy/game:1.0.2-neverready"})
	expect(t, r, 500, "container_start_failed")

	rec := call(t, s, http.MethodGet, rt(id), nil)
	if str(rec.Body, "status") != "running" || str(rec.Body, "current_image_ref") != "galaxy/game:1.0.0" {
		t.Fatalf("record after rollback: %s", rec.Raw)
	}
	cid := str(rec.Body, "current_container_id")
	if c := inspect(t, s, cid); !c.State.Running || c.Config.Image != "galaxy/game:1.0.0" {
		t.Errorf("container after rollback: running %v image %s", c.State.Running, c.Config.Image)
	}
	if cs := s.Containers(id); len(cs) != 1 {
		t.Errorf("%d containers after rollback, want 1", len(cs))
	}
	// State intact: the counter kept its increments; each boot (old, the
	// never-ready one, the rolled-back one) added one.
	after := engineCounter(t, s, cid, http.MethodGet)
	if after.Boots != before.Boots+2 || after.Counter != before.Counter+2 {
		t.Errorf("state before %+v after %+v", before, after)
	}
	ops := operations(t, s, id)
	patch := ops[0]
	details, _ := patch["details"].(map[string]any)
	if str(patch, "op_kind") != "patch" || str(patch, "outcome") != "failure" || details["rolled_back"] != true {
		t.Errorf("patch row: %v", patch)
	}
	// inner rows, newest first: rollback start (success), failed start, stop
	kinds := []string{str(ops[1], "op_kind") + "/" + str(ops[1], "outcome"), str(ops[2], "op_kind") + "/" + str(ops[2], "outcome"),
		str(ops[3], "op_kind") + "/" + str(ops[3], "outcome")}
	if kinds[0] != "start/success" || kinds[1] != "start/failure" || kinds[2] != "stop/success" {
		t.Errorf("inner rows: %v", kinds)
	}
	for _, op := range ops[:4] {
		if str(op, "correlation_id") != str(patch, "correlation_id") {
			t.Errorf("row %v does not share the patch's correlation id", op)
		}
	}
}

// A lease whose holder works longer than the TTL is renewed: a second caller
// polling throughout never gets in mid-operation.
func TestSlowOperationKeepsItsLease(t *testing.T) {
	s := harness.Start(t, harness.Options{Env: map[string]string{
		"GAME_LEASE_TTL_SECONDS": "1",
		"ENGINE_READY_TIMEOUT":   "3500ms", // the slow holder: 3.5 TTLs
	}})
	id := s.GameID("lease")
	done := make(chan reply)
	go func() { done <- start(t, s, id, "galaxy/game:1.0.2-neverready") }()

	var intruders, refused atomic.Int32
	deadline := time.After(10 * time.Second)
poll:
	for {
		select {
		case r := <-done:
			expect(t, r, 500, "container_start_failed")
			break poll
		case <-deadline:
			t.Fatal("the slow start never finished")
		case <-time.After(50 * time.Millisecond):
			r := call(t, s, http.MethodPost, rt(id)+"/stop", map[string]string{"reason": "cancelled"})
			switch {
			case r.Status == 409 && r.errorCode() == "conflict":
				refused.Add(1)
			default:
				// Anything else — even 404, since the record is written only
				// at the end of the start — means the stop held the lease.
				intruders.Add(1)
				t.Errorf("a second caller got in mid-operation: %d %s", r.Status, r.Raw)
			}
		}
	}
	if intruders.Load() != 0 || refused.Load() < 20 {
		t.Errorf("refused %d, intruders %d: want every poll refused (≥20 polls over 3.5s)", refused.Load(), intruders.Load())
	}
}
