package integration

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/test/harness"
)

// TestJobsFiftyRoundsOfOneGame: 50 rounds of start-then-stop of one game,
// written back to back (each round one pipeline, so a round's start and stop
// — and often several rounds — share a millisecond) → the game ends stopped,
// every job has exactly one result, the results come in job order (the
// contract's position: ms, start before stop, sequence), and each is the
// answer the contract fixes for the job in that order: a start of a stopped
// game runs a new engine (success), a start of a running one is a replay
// (success/replay_no_op), a stop of a running game stops it (success), a stop
// of a stopped one is a replay. With one instance no job is overtaken, so
// every answer is a success. One container, one row per job.
func TestJobsFiftyRoundsOfOneGame(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	l := lobbyOf(t, s)
	id := s.GameID("rounds")
	const rounds = 50

	var jobs []jobRef
	for range rounds {
		jobs = append(jobs, writeJobs(t, s, "galaxy/game:1.0.0", jobSpec{"start", id}, jobSpec{"stop", id})...)
	}
	byJob, all := awaitJobs(t, l, 3*time.Minute, jobs)
	checkRounds(t, s, id, jobs, byJob, all)
}

// TestJobsStartAndStopInOneMillisecond: the start and the stop of a round
// carry the same entry id "<ms>-0" on their two streams; whatever order they
// are written in, the start comes first and the game ends stopped. The
// entries of all rounds are written in one MULTI, so the consumer reads them
// all at once and the order is the contract's, not the order of arrival.
func TestJobsStartAndStopInOneMillisecond(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	l := lobbyOf(t, s)
	id := s.GameID("samems")
	ctx := context.Background()
	const rounds = 4

	// A millisecond after anything on both streams and after now.
	base := time.Now().UnixMilli()
	for _, stream := range []string{s.Config.Streams.StartJobs, s.Config.Streams.StopJobs} {
		last, err := s.Redis.XRevRangeN(ctx, stream, "+", "-", 1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(last) == 1 {
			ms, _ := strconv.ParseInt(strings.SplitN(last[0].ID, "-", 2)[0], 10, 64)
			base = max(base, ms)
		}
	}
	var jobs []jobRef
	_, err := s.Redis.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for i := range rounds {
			entry := strconv.FormatInt(base+1+int64(2*i), 10) + "-0"
			start := jobArgs(t, s, jobSpec{"start", id}, "galaxy/game:1.0.0", entry)
			stop := jobArgs(t, s, jobSpec{"stop", id}, "", entry)
			if i%2 == 0 {
				p.XAdd(ctx, start)
				p.XAdd(ctx, stop)
			} else { // the stop written first
				p.XAdd(ctx, stop)
				p.XAdd(ctx, start)
			}
			jobs = append(jobs, jobRef{"start", entry}, jobRef{"stop", entry})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("MULTI of the rounds: %v", err)
	}
	byJob, all := awaitJobs(t, l, 3*time.Minute, jobs)
	checkRounds(t, s, id, jobs, byJob, all)
	// Every round acted: its start ran a new engine and its stop stopped it.
	for _, r := range all {
		if r["error_code"] != "" {
			t.Errorf("job %s answered %s/%s, want a start and a stop that act", refOf(r), r["outcome"], r["error_code"])
		}
	}
}

// checkRounds checks the rounds of start-then-stop of one game on one
// instance: one result per job, results in job order, each the answer the
// contract fixes in that order, the game stopped with its one container
// stopped, one row per job.
func checkRounds(t *testing.T, s *harness.Service, id string, jobs []jobRef, byJob map[jobRef][]map[string]string, all []map[string]string) {
	t.Helper()
	for _, j := range jobs {
		if n := len(byJob[j]); n != 1 {
			t.Errorf("job %s has %d results, want 1: %v", j, n, byJob[j])
		}
	}
	if len(all) != len(jobs) {
		t.Errorf("%d results on the stream for %d jobs", len(all), len(jobs))
	}
	// In job order, and each the answer of the job in that order.
	g := &game{}
	for i, r := range all {
		checkResultShape(t, r)
		if r["game_id"] != id {
			t.Errorf("result of another game: %v", r)
		}
		if i > 0 && posOf(t, refOf(all[i-1])).Compare(posOf(t, refOf(r))) >= 0 {
			t.Errorf("result %d (%s) comes after %s, which is not earlier in job order", i, refOf(r), refOf(all[i-1]))
		}
		g.check(t, r)
		if r["outcome"] == "success" && r["engine_endpoint"] != "http://galaxy-game-"+id+":8080" {
			t.Errorf("result %s engine_endpoint %q", refOf(r), r["engine_endpoint"])
		}
	}
	if last := byPosition(t, jobs)[len(jobs)-1]; last.kind != "stop" {
		t.Fatalf("the last job in the contract's order is %s, want a stop", last)
	}
	if t.Failed() {
		t.Logf("results in stream order:%s", describe(all))
	}

	rec, ok := record(t, s, id)
	if !ok || str(rec, "status") != "stopped" {
		t.Fatalf("record after the rounds: %v (found %v), want stopped", rec, ok)
	}
	ctrs := s.Containers(id)
	if len(ctrs) != 1 {
		t.Fatalf("%d containers for the game, want exactly 1: %+v", len(ctrs), ctrs)
	}
	if ctrs[0].ID != g.container || inspect(t, s, ctrs[0].ID).State.Running {
		t.Errorf("container %s (state %s), want %s not running", ctrs[0].ID, ctrs[0].State, g.container)
	}
	checkJobRows(t, opRows(t, s, id), jobs)
}

// TestJobsAStopReadBeforeAStartOfItsMillisecondWaitsForIt: an idle instance
// reads a stop the moment it is appended; a start of the same game appended
// right after it in the same millisecond comes first in the contract's order
// (start jobs first). The stop waits until Redis's clock has left its
// millisecond, so the start runs, then the stop: both act and the game ends
// stopped. The entries carry an id a little ahead of Redis's clock, so the
// "same millisecond" does not depend on how fast the test writes.
func TestJobsAStopReadBeforeAStartOfItsMillisecondWaitsForIt(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	l := lobbyOf(t, s)
	id := s.GameID("stopfirst")
	ctx := context.Background()

	now, err := s.Redis.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	entry := strconv.FormatInt(now.UnixMilli()+300, 10) + "-0"
	if err := s.Redis.XAdd(ctx, jobArgs(t, s, jobSpec{"stop", id}, "", entry)).Err(); err != nil {
		t.Fatal(err)
	}
	// Read: pending (held), or — were it not held — already answered.
	waitUntil(t, time.Minute, "the stop to be read", func() bool { return l.pending() > 0 || len(l.resultsOf(entry)) > 0 })
	if err := s.Redis.XAdd(ctx, jobArgs(t, s, jobSpec{"start", id}, "galaxy/game:1.0.0", entry)).Err(); err != nil {
		t.Fatal(err)
	}

	jobs := []jobRef{{"start", entry}, {"stop", entry}}
	byJob, all := awaitJobs(t, l, time.Minute, jobs)
	checkRounds(t, s, id, jobs, byJob, all)
	for _, r := range all {
		if r["error_code"] != "" {
			t.Errorf("job %s answered %s/%s, want a start and a stop that act", refOf(r), r["outcome"], r["error_code"])
		}
	}
}
