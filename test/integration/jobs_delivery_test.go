package integration

import (
	"testing"
	"time"

	"github.com/galaxy/rtmanager/test/harness"
)

// TestJobBusyLongerThanTheClaimIdleIsNeverRunTwice: two instances share the
// group with a claim idle of 1s; a start job whose engine never gets ready
// keeps one of them busy for more than three times that. The heartbeat keeps
// the entry claimed, so the other never takes it: one delivery, one
// operation row, one result, one container.
func TestJobBusyLongerThanTheClaimIdleIsNeverRunTwice(t *testing.T) {
	const claimIdle = time.Second
	env := map[string]string{"STREAM_CLAIM_IDLE": claimIdle.String(), "ENGINE_READY_TIMEOUT": "4s"}
	a := harness.Start(t, harness.Options{Env: env})
	b := harness.Start(t, harness.Options{Env: env, Peer: a})
	l := lobbyOf(t, a)
	id := a.GameID("busy")
	jobID := l.startJob(id, "galaxy/game:1.0.2-neverready")

	// Watch the entry while it runs: who holds it, how often it was delivered.
	owners := map[string]bool{}
	var deliveries int64
	waitUntil(t, 2*time.Minute, "the job's result", func() bool {
		if p, ok := l.pendingEntry(jobID); ok {
			owners[p.Consumer] = true
			deliveries = max(deliveries, p.RetryCount)
		}
		return len(l.resultsOf(jobID)) > 0
	})
	// Both consumers drain: a second run, had one begun, ends and is answered.
	a.StopJobs()
	b.StopJobs()

	if len(owners) > 1 || deliveries > 1 {
		t.Errorf("the entry moved between consumers %v (delivered %d times)", owners, deliveries)
	}
	res := l.resultsOf(jobID)
	if len(res) != 1 || res[0]["outcome"] != "failure" || res[0]["error_code"] != "container_start_failed" {
		t.Fatalf("want exactly one container_start_failed result, got %v", res)
	}
	checkResultShape(t, res[0])
	var rows []map[string]any
	for _, op := range operations(t, a, id) {
		if str(op, "source_ref") == jobID {
			rows = append(rows, op)
		}
	}
	if len(rows) != 1 {
		t.Fatalf("%d operation rows of the job, want 1: %v", len(rows), rows)
	}
	// The premise: the job really ran for more than three claim idle times.
	started, err1 := time.Parse(time.RFC3339Nano, str(rows[0], "started_at"))
	finished, err2 := time.Parse(time.RFC3339Nano, str(rows[0], "finished_at"))
	if err1 != nil || err2 != nil || finished.Sub(started) < 3*claimIdle {
		t.Errorf("the job ran %v (row %v), want more than 3×%v", finished.Sub(started), rows[0], claimIdle)
	}
	if cs := a.Containers(id); len(cs) != 1 || cs[0].ID != res[0]["container_id"] {
		t.Errorf("want the one container of the result, got %+v", cs)
	}
}
