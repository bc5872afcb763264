package redis

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/ports"
)

func newSource(t *testing.T, rdb goredis.UniversalClient, names StreamNames, consumer string, claimIdle time.Duration) *JobSource {
	t.Helper()
	s, err := NewJobSource(rdb, JobSourceConfig{Names: names, Group: "rtmanager", Consumer: consumer, ClaimIdle: claimIdle})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func addJob(t *testing.T, r goredis.UniversalClient, stream string, fields ...string) string {
	t.Helper()
	return addJobID(t, r, stream, "", fields...)
}

// addJobID adds an entry with an explicit id ("" for an automatic one).
func addJobID(t *testing.T, r goredis.UniversalClient, stream, id string, fields ...string) string {
	t.Helper()
	id, err := r.XAdd(ctxT(t), &goredis.XAddArgs{Stream: stream, ID: id, Values: fields}).Result()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// answered reads one start job from a fresh source, answers it with r and
// returns the source and the job.
func answered(t *testing.T, r sharedRedis, names StreamNames, res ports.JobResult) (*JobSource, ports.Job) {
	t.Helper()
	s := newSource(t, r, names, "a", time.Minute)
	addJob(t, r, names.StartJobs, "game_id", "g1", "image_ref", "galaxy/game:1.0.0", "requested_at_ms", "1")
	jobs, err := readJobs(t, s, 1, 100*time.Millisecond)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Read = %v, %v", jobs, err)
	}
	if err := s.Answer(ctxT(t), jobs[0], res); err != nil {
		t.Fatal(err)
	}
	return s, jobs[0]
}

func pending(t *testing.T, s *JobSource) int64 {
	t.Helper()
	n, err := s.Pending(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestJobSourceCreatesGroups(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	s := newSource(t, r, names, "a", time.Minute)
	if n := pending(t, s); n != 0 {
		t.Fatalf("Pending = %d on fresh streams", n)
	}
	for _, stream := range []string{names.StartJobs, names.StopJobs} {
		groups, err := r.XInfoGroups(ctxT(t), stream).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(groups) != 1 || groups[0].Name != "rtmanager" {
			t.Fatalf("%s groups = %+v", stream, groups)
		}
	}
	// Creating again (another instance booting) is fine.
	if n := pending(t, newSource(t, r, names, "b", time.Minute)); n != 0 {
		t.Fatalf("Pending = %d", n)
	}
}

func TestJobSourceReadAck(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	s := newSource(t, r, names, "a", time.Minute)
	// Entries written before the group exists are jobs too. Each stream's
	// come in id order, the start stream's first; the core orders across
	// the streams itself.
	id1 := addJobID(t, r, names.StartJobs, "1000-0", "game_id", "g1", "image_ref", "galaxy/game:1.0.0", "requested_at_ms", "1")
	id2 := addJobID(t, r, names.StopJobs, "2000-0", "game_id", "g1", "reason", "finished", "requested_at_ms", "2")
	id3 := addJobID(t, r, names.StartJobs, "3000-0", "game_id", "g1", "image_ref", "galaxy/game:1.0.1", "requested_at_ms", "3")

	jobs, err := readJobs(t, s, 10, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	want := []ports.Job{
		{Kind: ports.JobStart, ID: id1, Fields: map[string]string{"game_id": "g1", "image_ref": "galaxy/game:1.0.0", "requested_at_ms": "1"}},
		{Kind: ports.JobStart, ID: id3, Fields: map[string]string{"game_id": "g1", "image_ref": "galaxy/game:1.0.1", "requested_at_ms": "3"}},
		{Kind: ports.JobStop, ID: id2, Fields: map[string]string{"game_id": "g1", "reason": "finished", "requested_at_ms": "2"}},
	}
	if !reflect.DeepEqual(jobs, want) {
		t.Fatalf("Read\n got %+v\nwant %+v", jobs, want)
	}
	if n := pending(t, s); n != 3 {
		t.Fatalf("Pending = %d, want 3", n)
	}
	for _, j := range jobs {
		if err := s.Ack(ctxT(t), j); err != nil {
			t.Fatal(err)
		}
	}
	if n := pending(t, s); n != 0 {
		t.Fatalf("Pending = %d after Ack, want 0", n)
	}

	start := time.Now()
	jobs, err = readJobs(t, s, 10, 150*time.Millisecond)
	if err != nil || len(jobs) != 0 {
		t.Fatalf("Read on empty streams = %v, %v", jobs, err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("Read returned after %v, want it to block ~150ms", d)
	}
	start = time.Now()
	if _, err := readJobs(t, s, 10, 0); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("Read with block 0 took %v, want no blocking", d)
	}
}

func TestJobSourceReclaimsIdleEntries(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	const idle = 200 * time.Millisecond
	a := newSource(t, r, names, "a", idle)
	b := newSource(t, r, names, "b", idle)
	id := addJob(t, r, names.StopJobs, "game_id", "g1", "reason", "cancelled", "requested_at_ms", "1")

	got, err := readJobs(t, a, 10, 0)
	if err != nil || len(got) != 1 || got[0].Reclaimed {
		t.Fatalf("A Read = %+v, %v; want one new entry", got, err)
	}
	// A dies without acknowledging. Before claimIdle nobody else sees it.
	if got, err := readJobs(t, b, 10, 0); err != nil || len(got) != 0 {
		t.Fatalf("B Read before claimIdle = %v, %v", got, err)
	}
	time.Sleep(idle + 50*time.Millisecond)
	got, err = readJobs(t, b, 10, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != id || got[0].Kind != ports.JobStop || got[0].Fields["reason"] != "cancelled" || !got[0].Reclaimed {
		t.Fatalf("B reclaimed %+v", got)
	}
	ext, err := r.XPendingExt(ctxT(t), &goredis.XPendingExtArgs{Stream: names.StopJobs, Group: "rtmanager", Start: "-", End: "+", Count: 10}).Result()
	if err != nil || len(ext) != 1 || ext[0].Consumer != "b" || ext[0].RetryCount != 2 {
		t.Fatalf("pending after reclaim = %+v, %v", ext, err)
	}
	if n := pending(t, b); n != 1 {
		t.Fatalf("Pending = %d, want 1", n)
	}
	if err := b.Ack(ctxT(t), got[0]); err != nil {
		t.Fatal(err)
	}
	if n := pending(t, a); n != 0 {
		t.Fatalf("Pending = %d after B's Ack", n)
	}
}

func TestJobSourceRecreatesDeletedGroup(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	s := newSource(t, r, names, "a", time.Minute)
	if n := pending(t, s); n != 0 {
		t.Fatal(n)
	}
	// Someone deletes the stream; Lobby's next XADD recreates it without the group.
	r.Del(ctxT(t), names.StartJobs)
	id := addJob(t, r, names.StartJobs, "game_id", "g2", "image_ref", "galaxy/game:1.0.0", "requested_at_ms", "1")
	jobs, err := readJobs(t, s, 10, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].ID != id {
		t.Fatalf("Read after recreation = %+v", jobs)
	}
	// Acknowledging on a group that vanished again is not an error.
	r.Del(ctxT(t), names.StartJobs)
	if err := s.Ack(ctxT(t), jobs[0]); err != nil {
		t.Fatalf("Ack on a missing group: %v", err)
	}
}

func TestNewJobSourceValidates(t *testing.T) {
	r := newSharedRedis(t)
	if _, err := NewJobSource(r, JobSourceConfig{}); err == nil {
		t.Fatal("no consumer name accepted")
	}
	if _, err := NewJobSource(r, JobSourceConfig{Consumer: "a", Names: StreamNames{StartJobs: "x", StopJobs: "x"}}); err == nil {
		t.Fatal("shared start/stop stream accepted")
	}
}

// TestRedisDownIsUnavailable kills a private Redis and checks that every
// adapter call reports ports.ErrUnavailable.
func TestRedisDownIsUnavailable(t *testing.T) {
	p := testenv.StartPrivateRedis(t)
	rdb, err := Open(ctxT(t), Options{Addr: p.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	leases := NewLeases(rdb, LeaseConfig{Logger: quiet})
	pub := NewPublisher(rdb, StreamNames{}, 0)
	src := newSource(t, rdb, StreamNames{}, "a", time.Minute)
	if err := Ping(ctxT(t), rdb); err != nil {
		t.Fatal(err)
	}
	p.Stop()

	job := ports.Job{Kind: ports.JobStart, ID: "1-0"}
	calls := map[string]func() error{
		"Ping":    func() error { return Ping(ctxT(t), rdb) },
		"Acquire": func() error { _, err := leases.Acquire(ctxT(t), "g1"); return err },
		"Held":    func() error { _, err := leases.Held(ctxT(t), "g1"); return err },
		"PublishHealth": func() error {
			return pub.PublishHealth(ctxT(t), domain.HealthEvent{GameID: "g1", Type: domain.EventProbeFailed})
		},
		"Answer":   func() error { return src.Answer(ctxT(t), job, ports.JobResult{GameID: "g1"}) },
		"Read":     func() error { _, err := readJobs(t, src, 1, 100*time.Millisecond); return err },
		"Ack":      func() error { return src.Ack(ctxT(t), job) },
		"Pending":  func() error { _, err := src.Pending(ctxT(t)); return err },
		"Touch":    func() error { _, err := src.Touch(ctxT(t), []ports.Job{job}); return err },
		"HandBack": func() error { return src.HandBack(ctxT(t), []ports.Job{job}) },
	}
	calls["Open"] = func() error { _, err := Open(ctxT(t), Options{Addr: p.Addr}); return err }
	// In parallel: each call spends its dial retries against the dead port.
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := call(); !errors.Is(err, ports.ErrUnavailable) {
				t.Errorf("%s with Redis down: %v, want ErrUnavailable", name, err)
			}
		})
	}
}

func TestAnswerPublishesTheResultAndAcknowledgesTheEntry(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	at := time.UnixMilli(1_700_000_000_999)
	s, job := answered(t, r, names, ports.JobResult{
		GameID: "g1", JobID: "1-0", JobKind: ports.JobStart, Outcome: domain.OutcomeSuccess,
		ContainerID: "c1", EngineEndpoint: "http://galaxy-game-g1:8080", FinishedAt: at,
	})
	assertFields(t, onlyEntry(t, r, names.JobResults), map[string]string{
		"game_id": "g1", "job_id": "1-0", "job_kind": "start", "outcome": "success",
		"container_id": "c1", "engine_endpoint": "http://galaxy-game-g1:8080",
		"error_code": "", "error_message": "", "finished_at_ms": "1700000000999",
	})
	if n := pending(t, s); n != 0 {
		t.Fatalf("Pending = %d after Answer, want 0", n)
	}

	// A failure always carries a code, even when the caller forgot it.
	r.Del(ctxT(t), names.JobResults)
	if err := s.Answer(ctxT(t), job, ports.JobResult{
		GameID: "g1", JobID: "2-0", JobKind: ports.JobStop, Outcome: domain.OutcomeFailure,
		ErrorMessage: "boom", FinishedAt: at,
	}); err != nil {
		t.Fatal(err)
	}
	assertFields(t, onlyEntry(t, r, names.JobResults), map[string]string{
		"game_id": "g1", "job_id": "2-0", "job_kind": "stop", "outcome": "failure",
		"container_id": "", "engine_endpoint": "",
		"error_code": "internal_error", "error_message": "boom", "finished_at_ms": "1700000000999",
	})
}

func TestAnAnswerThatCannotBeWrittenLeavesTheEntryPending(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	// The results key holds a string: the XADD fails, so the XACK must not run.
	if err := r.Set(ctxT(t), names.JobResults, "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s := newSource(t, r, names, "a", time.Minute)
	addJob(t, r, names.StartJobs, "game_id", "g1", "image_ref", "galaxy/game:1.0.0", "requested_at_ms", "1")
	jobs, err := readJobs(t, s, 1, 100*time.Millisecond)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Read = %v, %v", jobs, err)
	}
	err = s.Answer(ctxT(t), jobs[0], ports.JobResult{GameID: "g1", JobID: jobs[0].ID, JobKind: ports.JobStart,
		Outcome: domain.OutcomeSuccess})
	if err == nil || errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("Answer onto a string key: %v, want Redis's refusal", err)
	}
	if n := pending(t, s); n != 1 {
		t.Fatalf("Pending = %d, want the unanswered entry still pending", n)
	}
}

// A read vouches for the milliseconds before Redis's clock as it started:
// an entry appended before the read is at or below Complete, one appended
// after it at or above.
func TestReadSaysUpToWhichMillisecondItSawEverything(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	s := newSource(t, r, names, "a", time.Minute)
	before := addJob(t, r, names.StopJobs, "game_id", "g1", "reason", "finished", "requested_at_ms", "1")

	b, err := s.Read(ctxT(t), 10, 0)
	after := addJob(t, r, names.StartJobs, "game_id", "g1", "image_ref", "galaxy/game:1.0.0", "requested_at_ms", "2")

	if err != nil || len(b.Jobs) != 1 {
		t.Fatalf("Read = %+v, %v", b, err)
	}
	msOf := func(id string) int64 {
		ms, err := strconv.ParseInt(strings.SplitN(id, "-", 2)[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	if b.Complete < msOf(before) || b.Complete > msOf(after) {
		t.Errorf("Complete %d, want between %s (appended before) and %s (after)", b.Complete, before, after)
	}
}
