package integration

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/adapters/redis"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/test/harness"
)

// TestJobBusyLongerThanTheClaimIdleIsNeverRunTwice: two instances share the
// group with a claim idle of 2s (a heartbeat every ~670 ms, so a loaded CI
// machine stalling a beat or two does not lose the claim); a start job whose engine never gets ready
// keeps one of them busy for more than three times that. The heartbeat keeps
// the entry claimed, so the other never takes it: one delivery, one
// operation row, one result, one container.
func TestJobBusyLongerThanTheClaimIdleIsNeverRunTwice(t *testing.T) {
	const claimIdle = 2 * time.Second
	env := map[string]string{"STREAM_CLAIM_IDLE": claimIdle.String(), "ENGINE_READY_TIMEOUT": "7s"}
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
	a.Halt()
	b.Halt()

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

// TestJobsUnstartedAtShutdownAreHandedBack: an instance running two jobs and
// holding two more it has not started is shut down. It lets the two running
// jobs finish and answers them, answers none of the others, and hands back
// the two it held, so a second instance started afterwards takes them at
// once although its claim idle time is ten minutes — the test's waits are
// far shorter — and reads the rest. Every job is answered exactly once.
//
// The two running jobs stay running as long as the test wants: it holds their
// games' leases, which a stream job waits for.
func TestJobsUnstartedAtShutdownAreHandedBack(t *testing.T) {
	const claimIdle = 10 * time.Minute
	env := map[string]string{
		"JOB_CONCURRENCY":   "2", // two workers, and room to hold four jobs
		"STREAM_CLAIM_IDLE": claimIdle.String(),
		"SHUTDOWN_TIMEOUT":  "5m",
	}
	a := harness.Start(t, harness.Options{Env: env})
	l := lobbyOf(t, a)
	ctx := context.Background()

	var games, jobs []string
	for i := range 6 {
		prefix := "handback"
		if i < 2 {
			prefix = "held"
		}
		games = append(games, a.GameID(prefix))
	}
	release := func() {
		for _, g := range games[:2] {
			a.Redis.Del(ctx, redis.LeaseKey(g))
		}
	}
	t.Cleanup(release) // before the harness's drain, which would wait for them
	for _, g := range games[:2] {
		if err := a.Redis.Set(ctx, redis.LeaseKey(g), "the test", 10*time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// All six in one MULTI: A's first read finds them all, whenever it comes,
	// and takes four (its room). Written one by one, a read made between two
	// writes could take three, and A reads no more until half its room is free.
	cmds := make([]*goredis.StringCmd, len(games))
	if _, err := a.Redis.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for i, g := range games {
			cmds[i] = p.XAdd(ctx, jobArgs(t, a, jobSpec{"start", g}, "galaxy/game:1.0.0", ""))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		jobs = append(jobs, c.Val())
	}

	// A fills up: the two first jobs run (waiting for their leases) on both
	// workers, the next two wait in line, the last two stay in the stream.
	waitUntil(t, time.Minute, "instance A to hold four jobs", func() bool { return l.pending() == 4 })
	for i, j := range jobs {
		p, ok := l.pendingEntry(j)
		if want := i < 4; ok != want || (ok && p.Consumer != a.Config.InstanceID) {
			t.Fatalf("job %d: pending %v with %q, want pending %v with A", i, ok, p.Consumer, want)
		}
	}

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		a.Halt()
	}()
	handedBack := func() bool {
		for _, j := range jobs[2:4] {
			if p, ok := l.pendingEntry(j); !ok || p.Idle < claimIdle {
				return false
			}
		}
		return true
	}
	waitUntil(t, time.Minute, "the unstarted jobs to be handed back", handedBack)
	select {
	case <-stopped:
		t.Fatal("the shutdown ended before its running jobs could finish")
	default:
	}
	release()
	select {
	case <-stopped:
	case <-time.After(3 * time.Minute):
		t.Fatal("the running jobs did not finish within 3m of their leases coming free")
	}

	// A answered the jobs it ran and nothing else.
	checkOneStartSuccessEach(t, l, jobs[:2]...)
	for i, j := range jobs[2:] {
		if r := l.resultsOf(j); len(r) != 0 {
			t.Errorf("job %d was answered by the instance that shut down: %v", i+2, r)
		}
	}
	if p, ok := l.pendingEntry(jobs[2]); !ok || p.Consumer != a.Config.InstanceID || p.Idle < claimIdle {
		t.Fatalf("a handed-back job after the shutdown: %+v (pending %v)", p, ok)
	}

	b := harness.Start(t, harness.Options{Env: env, Peer: a})
	l.awaitResults(3*time.Minute, "start", jobs[2:]...)
	b.Halt()
	checkOneStartSuccessEach(t, l, jobs...)
	for i, g := range games {
		checkRunningOnce(t, b, l, g, jobs[i])
	}
	if n := l.pending(); n != 0 {
		t.Errorf("%d entries still pending", n)
	}
}

// TestJobsQueuedAcrossARedisRestartAreAnsweredOnce: Lobby queues ten start
// jobs and Redis goes down right after — a graceful SHUTDOWN of a server that
// persists every write — while the few jobs the service read have barely
// begun and the rest wait in the stream. While it is down /readyz answers 503
// naming redis and the consumer keeps retrying. Redis comes back on the same
// address with the same data; without any restart of the service every job
// is answered exactly once, every game ends with exactly one running
// container, nothing stays pending and /readyz answers 200 again.
func TestJobsQueuedAcrossARedisRestartAreAnsweredOnce(t *testing.T) {
	rds := testenv.StartPrivateRedisPersistent(t)
	logs := &logBuffer{}
	s := harness.Start(t, harness.Options{
		Env: map[string]string{
			"REDIS_MASTER_ADDR": rds.Addr,
			"JOB_CONCURRENCY":   "2", // most jobs wait in the stream, not in the service
			"SHUTDOWN_TIMEOUT":  "1m",
		},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", logs)
		}
	})
	// The harness's own client talks to the shared Redis; Lobby here writes
	// to the private one.
	rdb := goredis.NewClient(&goredis.Options{Addr: rds.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	l := &lobby{t: t, rdb: rdb, s: s}

	var games, jobs []string
	for range 10 {
		games = append(games, s.GameID("redisq"))
	}
	// Lobby's writes go out in one round trip, and Redis stops right after.
	cmds, err := rdb.Pipelined(context.Background(), func(p goredis.Pipeliner) error {
		for _, g := range games {
			p.XAdd(context.Background(), &goredis.XAddArgs{Stream: s.Config.Streams.StartJobs,
				Values: []string{"game_id", g, "image_ref", "galaxy/game:1.0.0", "requested_at_ms", now()}})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("XADD: %v", err)
	}
	for _, c := range cmds {
		jobs = append(jobs, c.(*goredis.StringCmd).Val())
	}
	rds.Shutdown(t)

	waitUntil(t, time.Minute, "/readyz to answer 503 naming redis", func() bool {
		r := call(t, s, http.MethodGet, "/readyz", nil)
		checks, _ := r.Body["checks"].(map[string]any)
		return r.Status == 503 && checks["redis"] != nil && checks["redis"] != "ok"
	})
	// The consumer met the outage: a read, a job it had read, or a step of
	// one (lease renewal, publishing the result) failed and is retried.
	waitUntil(t, 2*time.Minute, "the consumer to notice the outage", func() bool {
		return logs.contains("failed; retrying") || logs.contains("job met an outage; running it again")
	})

	rds.Start(t)
	if n, err := rdb.XLen(context.Background(), s.Config.Streams.StartJobs).Result(); err != nil || n != int64(len(jobs)) {
		t.Fatalf("after the restart the job stream holds %d entries (%v), want the %d written", n, err, len(jobs))
	}
	l.awaitResults(3*time.Minute, "start", jobs...)
	waitUntil(t, time.Minute, "/readyz to answer 200", func() bool {
		return call(t, s, http.MethodGet, "/readyz", nil).Status == 200
	})
	waitUntil(t, time.Minute, "nothing pending", func() bool { return l.pending() == 0 })
	// The drain ends whatever still runs, so a second answer would be there now.
	s.Halt()
	checkOneStartSuccessEach(t, l, jobs...)
	for i, g := range games {
		checkRunningOnce(t, s, l, g, jobs[i])
	}
}
