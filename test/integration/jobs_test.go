package integration

import (
	"testing"
	"time"

	"github.com/galaxy/rtmanager/test/harness"
)

// TestJobStartReplayAndStop: a start job runs the engine and is answered with its
// container and endpoint; the same job again is a replay that makes no second
// container; a stop job stops it. Rows carry lobby_stream and the entry id.
func TestJobStartReplayAndStop(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	l := lobbyOf(t, s)
	id := s.GameID("job")

	startID := l.startJob(id, "galaxy/game:1.0.0")
	res := l.awaitResults(time.Minute, "start", startID)
	if len(res) != 1 {
		t.Fatalf("%d results for one start job: %v", len(res), res)
	}
	r := res[0]
	checkResultShape(t, r)
	if r["outcome"] != "success" || r["error_code"] != "" || r["job_id"] != startID || r["job_kind"] != "start" ||
		r["game_id"] != id || r["container_id"] == "" || r["engine_endpoint"] != "http://galaxy-game-"+id+":8080" {
		t.Fatalf("start result %v", r)
	}
	ctrs := s.Containers(id)
	if len(ctrs) != 1 || ctrs[0].ID != r["container_id"] || ctrs[0].State != "running" {
		t.Fatalf("containers after the start job: %+v", ctrs)
	}

	// Lobby writes the same job again (a new entry with the same content).
	again := l.startJob(id, "galaxy/game:1.0.0")
	if rr := l.awaitResults(time.Minute, "start", again); rr[0]["outcome"] != "success" || rr[0]["error_code"] != "replay_no_op" ||
		rr[0]["container_id"] != r["container_id"] {
		t.Fatalf("repeated start job: %v", rr)
	}
	if n := len(s.Containers(id)); n != 1 {
		t.Fatalf("%d containers after a replayed start job", n)
	}

	stopID := l.stopJob(id, "finished")
	sr := l.awaitResults(time.Minute, "stop", stopID)
	if len(sr) != 1 || sr[0]["outcome"] != "success" || sr[0]["error_code"] != "" || sr[0]["job_kind"] != "stop" {
		t.Fatalf("stop result %v", sr)
	}
	checkResultShape(t, sr[0])
	if st := inspect(t, s, r["container_id"]).State; st.Running {
		t.Fatalf("engine still running after the stop job")
	}

	ops := operations(t, s, id)
	want := map[string]string{startID: "start", again: "start", stopID: "stop"}
	for _, op := range ops {
		if str(op, "op_source") != "lobby_stream" || want[str(op, "source_ref")] != str(op, "op_kind") {
			t.Errorf("row %v: want source lobby_stream and the entry id of its job", op)
		}
	}
	if len(ops) != 3 {
		t.Errorf("%d rows, want 3", len(ops))
	}
}
