package integration

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/test/harness"
)

// Two instances of one deployment share the job streams through one
// consumer group. Each reads its share; the game's lease serialises a game's
// jobs and the job fence (contract §6, "Order of one game's jobs") keeps the
// jobs that act in job order: a job that finds a later job of its game
// already applied by the other instance does not act and is answered
// failure/conflict "superseded".
//
// Across instances the results stream is not one queue: an overtaken job is
// answered by the instance that held it, when it gets the lease after its
// successor, so its superseded answer may come after its successor's answer.
// The tests therefore order only the answers of the jobs that acted.

// pair boots two instances sharing the database, streams and state root.
func pair(t *testing.T) (a, b *harness.Service) {
	t.Helper()
	a = harness.Start(t, harness.Options{})
	b = harness.Start(t, harness.Options{Peer: a})
	return a, b
}

// TestJobsTwoInstancesShareTheJobs: 200 jobs over 50 games (four each, a
// random mix of starts and stops per game, written interleaved across the
// games) consumed by two instances → every job has exactly one result (no
// instance crashed, so there is no redelivery to replay); the jobs that
// acted were answered as the contract says in job order, the others were
// superseded; the last job of every game acted; Docker matches the records
// (one container per game that ever started, running exactly when its record
// is); and both instances did work.
func TestJobsTwoInstancesShareTheJobs(t *testing.T) {
	a, b := pair(t)
	l := lobbyOf(t, a)
	const ref = "galaxy/game:1.0.0"
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	// Four jobs per game; few engine starts, so the test stays within a few
	// minutes on a small machine (at most 46 engines start).
	patterns := []struct {
		games int
		kinds [4]string
	}{
		{5, [4]string{"start", "stop", "start", "stop"}},
		{5, [4]string{"start", "stop", "stop", "start"}},
		{12, [4]string{"stop", "stop", "stop", "stop"}},
		{10, [4]string{"start", "start", "start", "start"}},
		{10, [4]string{"start", "stop", "stop", "stop"}},
		{8, [4]string{"stop", "start", "stop", "stop"}},
	}
	var plan [][4]string
	for _, p := range patterns {
		for range p.games {
			plan = append(plan, p.kinds)
		}
	}
	rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	ids := make([]string, len(plan))
	for i := range ids {
		ids[i] = a.GameID("pair")
	}

	jobsOf := map[string][]jobRef{}
	var all []jobRef
	for round := range 4 {
		var specs []jobSpec
		for _, g := range rng.Perm(len(ids)) {
			specs = append(specs, jobSpec{plan[g][round], ids[g]})
		}
		for i, j := range writeJobs(t, a, ref, specs...) {
			jobsOf[specs[i].gameID] = append(jobsOf[specs[i].gameID], j)
			all = append(all, j)
		}
	}
	if len(all) != 200 {
		t.Fatalf("wrote %d jobs", len(all))
	}

	byJob, results := awaitJobs(t, l, 3*time.Minute, all)
	awaitNothingPending(t, a, 3*time.Minute)
	results = l.results()
	if len(results) != len(all) {
		t.Errorf("%d results for %d jobs", len(results), len(all))
	}
	for _, j := range all {
		if n := len(byJob[j]); n != 1 {
			t.Errorf("job %s has %d results, want exactly 1:%s", j, n, describe(byJob[j]))
		}
	}

	overtaken := 0
	for _, id := range ids {
		g := checkActed(t, id, byPosition(t, jobsOf[id]), byJob, &overtaken)
		checkDockerMatches(t, a, id, g)
		rows := opRows(t, a, id)
		checkJobRows(t, rows, jobsOf[id])
		checkActedRowsInOrder(t, rows, byJob)
	}
	t.Logf("%d of %d jobs were overtaken", overtaken, len(all))

	// Both instances answered jobs, and together exactly one per job.
	var jobsDone, lobbyOps float64
	for name, s := range map[string]*harness.Service{"first": a, "second": b} {
		n := metricSum(t, s, "rtmanager_stream_jobs_total", nil)
		ops := metricSum(t, s, "rtmanager_operations_total", map[string]string{"op_source": "lobby_stream"})
		t.Logf("%s instance: %v jobs answered, %v lobby_stream operations", name, n, ops)
		if n == 0 || ops == 0 {
			t.Errorf("the %s instance answered %v jobs and ran %v lobby_stream operations; want both instances at work", name, n, ops)
		}
		jobsDone += n
		lobbyOps += ops
	}
	if jobsDone != float64(len(all)) || lobbyOps != float64(len(all)) {
		t.Errorf("the instances answered %v jobs and ran %v lobby_stream operations; want %d of each", jobsDone, lobbyOps, len(all))
	}
}

// TestJobsTwoInstancesFiftyRoundsOfOneGame: TestJobsFiftyRoundsOfOneGame
// with two instances sharing the jobs. The game ends stopped, every job has
// exactly one result; the jobs that acted are answered in job order, each
// as the contract says in that order; an overtaken job is answered
// failure/conflict "superseded" (possibly after its successor's answer).
func TestJobsTwoInstancesFiftyRoundsOfOneGame(t *testing.T) {
	a, _ := pair(t)
	l := lobbyOf(t, a)
	id := a.GameID("pairrounds")
	const rounds = 50

	var jobs []jobRef
	for range rounds {
		jobs = append(jobs, writeJobs(t, a, "galaxy/game:1.0.0", jobSpec{"start", id}, jobSpec{"stop", id})...)
	}
	byJob, _ := awaitJobs(t, l, 3*time.Minute, jobs)
	awaitNothingPending(t, a, 3*time.Minute)
	results := l.results()
	if len(results) != len(jobs) {
		t.Errorf("%d results for %d jobs", len(results), len(jobs))
	}
	for _, j := range jobs {
		if n := len(byJob[j]); n != 1 {
			t.Errorf("job %s has %d results, want exactly 1:%s", j, n, describe(byJob[j]))
		}
	}

	// The answers of the jobs that acted, in the order of the results
	// stream, are in job order and each is the contract's answer there.
	g := &game{}
	var prev jobRef
	overtaken := 0
	for _, r := range results {
		checkResultShape(t, r)
		if superseded(r) {
			overtaken++
			continue
		}
		if prev.id != "" && posOf(t, prev).Compare(posOf(t, refOf(r))) >= 0 {
			t.Errorf("the answer of %s, which acted, comes after that of %s, which acted later in job order", refOf(r), prev)
		}
		prev = refOf(r)
		g.check(t, r)
	}
	t.Logf("%d of %d jobs were overtaken", overtaken, len(jobs))
	if last := byPosition(t, jobs)[len(jobs)-1]; last.kind != "stop" || superseded(byJob[last][0]) {
		t.Errorf("the last job in job order, %s, must be a stop that acted: %v", last, byJob[last])
	}
	if t.Failed() {
		t.Logf("results in stream order:%s", describe(results))
	}
	if g.status != "stopped" {
		t.Errorf("the jobs that acted leave the game %q, want stopped", g.status)
	}
	checkDockerMatches(t, a, id, g)
	rows := opRows(t, a, id)
	checkJobRows(t, rows, jobs)
	checkActedRowsInOrder(t, rows, byJob)
}

// checkActed goes through one game's jobs in job order: each is answered
// either failure/conflict "superseded" (it was overtaken and did not act) or
// as the contract says for a job acting in the state the jobs that acted
// before it left; the last job acts. It returns where the jobs that acted
// leave the game.
func checkActed(t *testing.T, id string, jobs []jobRef, byJob map[jobRef][]map[string]string, overtaken *int) *game {
	t.Helper()
	g := &game{}
	for i, j := range jobs {
		rs := byJob[j]
		if len(rs) == 0 {
			continue // reported by the caller
		}
		r := rs[0]
		checkResultShape(t, r)
		if r["game_id"] != id {
			t.Errorf("result of %s names game %q, want %q", j, r["game_id"], id)
		}
		if superseded(r) {
			*overtaken++
			if i == len(jobs)-1 {
				t.Errorf("game %s: its last job %s was superseded: %v", id, j, r)
			}
			continue
		}
		g.check(t, r)
	}
	return g
}

// checkDockerMatches: the game's record and containers are what the jobs
// that acted left — no record and no container when no start acted; else
// exactly one container, the last that started, running exactly when the
// record is running on it.
func checkDockerMatches(t *testing.T, s *harness.Service, id string, g *game) {
	t.Helper()
	rec, found := record(t, s, id)
	ctrs := s.Containers(id)
	if g.status == "" {
		if found || len(ctrs) != 0 {
			t.Errorf("game %s, which no start acted on, has record %v and %d containers", id, rec, len(ctrs))
		}
		return
	}
	if !found || str(rec, "status") != g.status {
		t.Errorf("game %s: record %v, want status %s", id, rec, g.status)
		return
	}
	if len(ctrs) != 1 || ctrs[0].ID != g.container {
		t.Errorf("game %s: containers %+v, want exactly %s", id, ctrs, g.container)
		return
	}
	running := inspect(t, s, g.container).State.Running
	if running != (g.status == "running") {
		t.Errorf("game %s: record %s, container running %v", id, g.status, running)
	}
	if g.status == "running" && str(rec, "current_container_id") != g.container {
		t.Errorf("game %s: record runs %q, want %s", id, str(rec, "current_container_id"), g.container)
	}
}

// checkActedRowsInOrder: the rows of the jobs that acted (oldest first) are
// in job order: contract §4 appends an operation's row before it releases
// the game's lease, and the fence lets them act only in job order.
func checkActedRowsInOrder(t *testing.T, rows []map[string]any, byJob map[jobRef][]map[string]string) {
	t.Helper()
	var prev jobRef
	for _, op := range rows {
		j := jobRef{kind: str(op, "op_kind"), id: str(op, "source_ref")}
		rs := byJob[j]
		if len(rs) == 0 || superseded(rs[0]) {
			continue
		}
		if prev.id != "" && posOf(t, prev).Compare(posOf(t, j)) >= 0 {
			t.Errorf("the row of %s, which acted, comes after the row of %s, which acted later in job order", j, prev)
		}
		prev = j
	}
}
