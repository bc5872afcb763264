package main

import (
	"context"
	"maps"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/adapters/redis"
	"github.com/galaxy/rtmanager/internal/testenv"
)

// TestJobOfAKilledProcessStaysPendingAndIsAnsweredOnceByAnother kills the
// service with SIGKILL while it runs a start job from the stream — the job
// read, its engine created and ready, the record not yet written, nothing
// answered or acknowledged — and checks that the job is not lost: its entry
// stays pending with the dead consumer, and a second process in the same
// group reclaims it after the claim idle time and answers it once, leaving the
// game with exactly one running container, the one its record names, and
// nothing pending.
//
// To stop the first process at that point every time, the test holds a lock
// on runtime_records, so the process's record write waits; it kills the
// process once the write is seen waiting, and ends the write's orphaned
// PostgreSQL session so the write never lands.
func TestJobOfAKilledProcessStaysPendingAndIsAnsweredOnceByAnother(t *testing.T) {
	d := testenv.Docker(t)
	testenv.EngineImages(t)
	rdb := testenv.Redis(t)
	gameID := testenv.UniqueName("jobcrash")
	prefix := "rtmtest:" + testenv.UniqueName("jobcrash") + ":"
	listGame := gameContainers(t, d, rdb, gameID)
	testenv.DeleteKeysAtEnd(t, rdb, prefix)
	dsn := testenv.FreshSchema(t)
	env := map[string]string{
		"POSTGRES_PRIMARY_DSN":   dsn,
		"REDIS_MASTER_ADDR":      testenv.RedisAddr(),
		"DOCKER_NETWORK":         testenv.DockerNetwork(),
		"GAME_STATE_ROOT":        t.TempDir(),
		"ENGINE_ADDRESS":         "container_ip",
		"ENGINE_READY_TIMEOUT":   "60s",
		"GAME_LEASE_TTL_SECONDS": "2",
		"STREAM_CLAIM_IDLE":      "2s",
		"SHUTDOWN_TIMEOUT":       "60s",
	}
	maps.Copy(env, testenv.StreamEnv(prefix))
	instance := func(name string) map[string]string {
		e := map[string]string{"INSTANCE_ID": name}
		maps.Copy(e, env)
		return e
	}
	startJobs, results := env["STREAM_START_JOBS"], env["STREAM_JOB_RESULTS"]
	resultsOf := func(jobID string) []map[string]any {
		t.Helper()
		msgs, err := rdb.XRange(context.Background(), results, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		var out []map[string]any
		for _, m := range msgs {
			if m.Values["job_id"] == jobID {
				out = append(out, m.Values)
			}
		}
		return out
	}
	pendingWith := func(jobID string) (consumer string, ok bool) {
		t.Helper()
		p, err := rdb.XPendingExt(context.Background(), &goredis.XPendingExtArgs{
			Stream: startJobs, Group: redis.DefaultGroup, Start: jobID, End: jobID, Count: 1}).Result()
		if err != nil {
			t.Fatalf("XPENDING: %v", err)
		}
		if len(p) == 0 {
			return "", false
		}
		return p[0].Consumer, true
	}

	nameA := testenv.UniqueName("rtm-a")
	a := launch(t, instance(nameA))
	a.waitHealthy(t) // migrations are applied: runtime_records exists

	lock, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close(context.Background())
	tx, err := lock.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	// EXCLUSIVE lets reads through and holds every write back.
	if _, err := tx.Exec(context.Background(), "LOCK TABLE runtime_records IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}

	jobID, err := rdb.XAdd(context.Background(), &goredis.XAddArgs{Stream: startJobs, Values: []string{
		"game_id", gameID, "image_ref", "galaxy/game:1.0.0",
		"requested_at_ms", strconv.FormatInt(time.Now().UnixMilli(), 10)}}).Result()
	if err != nil {
		t.Fatal(err)
	}

	// Wait for A to be inside the job: its engine exists and its record
	// write waits for the lock.
	waitingWriters := func() []int32 {
		t.Helper()
		rows, err := tx.Query(context.Background(),
			"SELECT pid FROM pg_locks WHERE relation = 'runtime_records'::regclass AND NOT granted")
		if err != nil {
			t.Fatal(err)
		}
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			t.Fatal(err)
		}
		return pids
	}
	deadline := time.Now().Add(2 * time.Minute)
	var writers []int32
	for {
		if len(listGame()) == 1 {
			if writers = waitingWriters(); len(writers) > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("process A never reached the record write of the job (containers %+v, results %v)\n%s",
				listGame(), resultsOf(jobID), a.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c, ok := pendingWith(jobID); !ok || c != nameA {
		t.Fatalf("mid-job the entry is pending with %q (pending %v), want %q", c, ok, nameA)
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	// The killed process's PostgreSQL session lives on, its write still
	// queued behind the lock; a crash takes unsent work with it, so end it.
	for _, pid := range writers {
		if _, err := tx.Exec(context.Background(), "SELECT pg_terminate_backend($1)", pid); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	leftover := listGame()
	if len(leftover) != 1 || leftover[0].State != "running" {
		t.Fatalf("after the kill: want A's unrecorded engine running, got %+v", leftover)
	}

	// Nothing was answered or acknowledged: the entry waits for a new owner.
	if c, ok := pendingWith(jobID); !ok || c != nameA {
		t.Fatalf("after the kill the entry is pending with %q (pending %v), want %q", c, ok, nameA)
	}
	if r := resultsOf(jobID); len(r) != 0 {
		t.Fatalf("a killed process answered the job: %v", r)
	}

	nameB := testenv.UniqueName("rtm-b")
	b := launch(t, instance(nameB))
	b.waitHealthy(t)
	deadline = time.Now().Add(3 * time.Minute)
	for len(resultsOf(jobID)) == 0 {
		if time.Now().After(deadline) {
			c, ok := pendingWith(jobID)
			t.Fatalf("process B never answered the reclaimed job (pending %v with %q)\n%s", ok, c, b.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	deadline = time.Now().Add(time.Minute)
	for {
		n, err := rdb.XPending(context.Background(), startJobs, redis.DefaultGroup).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n.Count == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d entries pending after the job was answered", n.Count)
		}
		time.Sleep(50 * time.Millisecond)
	}

	code, rec := b.get(t, "/api/v1/internal/runtimes/"+gameID)
	cs := listGame()
	if code != http.StatusOK || rec["status"] != "running" || len(cs) != 1 || cs[0].ID != rec["current_container_id"] ||
		cs[0].State != "running" || cs[0].Image != "galaxy/game:1.0.0" {
		t.Errorf("want exactly one running 1.0.0 container, named by the record: record %d %v, containers %+v", code, rec, cs)
	}

	// Stop B the way an orchestrator does; its drain lets any job still in
	// flight finish, so a second answer would be published by now.
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-b.done:
		if err != nil {
			t.Errorf("B after SIGTERM: %v\n%s", err, b.stderr)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("B did not exit within 2m of SIGTERM\n%s", b.stderr)
	}
	res := resultsOf(jobID)
	if len(res) != 1 {
		t.Fatalf("%d results for one job, want 1: %v", len(res), res)
	}
	r := res[0]
	t.Logf("reclaimed job answered %s/%q; A's engine %.12s, the game's engine now %.12s", r["outcome"], r["error_code"],
		leftover[0].ID, cs[0].ID)
	if r["outcome"] != "success" || (r["error_code"] != "" && r["error_code"] != "replay_no_op") ||
		r["game_id"] != gameID || r["job_kind"] != "start" || r["container_id"] != rec["current_container_id"] {
		t.Errorf("result of the reclaimed job: %v (record names %v)", r, rec["current_container_id"])
	}
}
