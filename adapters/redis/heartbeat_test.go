package redis

import (
	"errors"
	"reflect"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/ports"
)

// readN reads with no blocking and wants exactly n jobs.
func readN(t *testing.T, s *JobSource, n int) []ports.Job {
	t.Helper()
	jobs, err := readJobs(t, s, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != n {
		t.Fatalf("Read = %+v, want %d jobs", jobs, n)
	}
	return jobs
}

func touch(t *testing.T, s *JobSource, jobs ...ports.Job) []ports.Job {
	t.Helper()
	lost, err := s.Touch(ctxT(t), jobs)
	if err != nil {
		t.Fatal(err)
	}
	return lost
}

// owners maps each pending entry of stream to its consumer.
func owners(t *testing.T, r goredis.UniversalClient, stream string) map[string]string {
	t.Helper()
	ext, err := r.XPendingExt(ctxT(t), &goredis.XPendingExtArgs{Stream: stream, Group: "rtmanager", Start: "-", End: "+", Count: 100}).Result()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, p := range ext {
		m[p.ID] = p.Consumer
	}
	return m
}

func TestTouchKeepsAJobFromBeingReclaimed(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	// Touches every 50ms against a 500ms claim idle: a loaded machine's
	// pause does not make A look dead.
	const idle = 500 * time.Millisecond
	a := newSource(t, r, names, "a", idle)
	b := newSource(t, r, names, "b", idle)
	id := addJob(t, r, names.StartJobs, "game_id", "g1", "image_ref", "galaxy/game:1.0.0", "requested_at_ms", "1")
	job := readN(t, a, 1)[0]

	// A runs the job for three claim idles, touching it every 50ms.
	for end := time.Now().Add(3 * idle); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if lost := touch(t, a, job); len(lost) != 0 {
			t.Fatalf("Touch lost %+v while A owns it", lost)
		}
		readN(t, b, 0)
	}
	if got := owners(t, r, names.StartJobs); !reflect.DeepEqual(got, map[string]string{id: "a"}) {
		t.Fatalf("pending %v, want %s with a", got, id)
	}
	// A stops touching (it died): B reclaims the job after a claim idle.
	time.Sleep(idle + 50*time.Millisecond)
	if got := readN(t, b, 1); got[0].ID != id {
		t.Fatalf("B reclaimed %+v, want %s", got, id)
	}
}

func TestTouchReportsAJobReclaimedElsewhereAsLost(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	const idle = 200 * time.Millisecond
	a := newSource(t, r, names, "a", idle)
	b := newSource(t, r, names, "b", idle)
	startID := addJob(t, r, names.StartJobs, "game_id", "g1", "image_ref", "galaxy/game:1.0.0", "requested_at_ms", "1")
	stopID := addJob(t, r, names.StopJobs, "game_id", "g2", "reason", "cancelled", "requested_at_ms", "2")
	jobs := readN(t, a, 2)
	start, stop := jobs[0], jobs[1]
	if start.ID != startID || stop.ID != stopID {
		t.Fatalf("A read %+v", jobs)
	}

	// A keeps the start job alive but not the stop job, which B reclaims.
	time.Sleep(idle + 50*time.Millisecond)
	if lost := touch(t, a, start); len(lost) != 0 {
		t.Fatalf("Touch lost %+v", lost)
	}
	if got := readN(t, b, 1); got[0].ID != stopID {
		t.Fatalf("B reclaimed %+v, want the stop job", got)
	}

	// A's next heartbeat reports the stop job lost and leaves it with B,
	// across both streams in one call.
	if lost := touch(t, a, start, stop); !reflect.DeepEqual(lost, []ports.Job{stop}) {
		t.Fatalf("Touch lost %+v, want the stop job", lost)
	}
	if got := owners(t, r, names.StopJobs); !reflect.DeepEqual(got, map[string]string{stopID: "b"}) {
		t.Fatalf("stop jobs pending %v, want %s with b", got, stopID)
	}
	if got := owners(t, r, names.StartJobs); !reflect.DeepEqual(got, map[string]string{startID: "a"}) {
		t.Fatalf("start jobs pending %v, want %s with a", got, startID)
	}
	// Nor does a hand-back by A move B's job.
	if err := a.HandBack(ctxT(t), []ports.Job{stop}); err != nil {
		t.Fatal(err)
	}
	if got := owners(t, r, names.StopJobs); !reflect.DeepEqual(got, map[string]string{stopID: "b"}) {
		t.Fatalf("stop jobs pending %v after A's hand-back, want %s with b", got, stopID)
	}
	// B's heartbeat keeps it; the touch did not count as a delivery.
	if lost := touch(t, b, stop); len(lost) != 0 {
		t.Fatalf("B's Touch lost %+v", lost)
	}
	ext, err := r.XPendingExt(ctxT(t), &goredis.XPendingExtArgs{Stream: names.StopJobs, Group: "rtmanager", Start: "-", End: "+", Count: 10}).Result()
	if err != nil || len(ext) != 1 || ext[0].RetryCount != 2 {
		t.Fatalf("pending %+v, %v: want one entry delivered twice", ext, err)
	}
}

func TestTouchReportsAcknowledgedAndTrimmedJobsAsLost(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	a := newSource(t, r, names, "a", time.Minute)
	addJob(t, r, names.StartJobs, "game_id", "g1", "image_ref", "galaxy/game:1.0.0", "requested_at_ms", "1")
	addJob(t, r, names.StartJobs, "game_id", "g2", "image_ref", "galaxy/game:1.0.0", "requested_at_ms", "2")
	addJob(t, r, names.StopJobs, "game_id", "g3", "reason", "cancelled", "requested_at_ms", "3")
	jobs := readN(t, a, 3)
	acked, trimmed, kept := jobs[0], jobs[1], jobs[2]
	if err := a.Ack(ctxT(t), acked); err != nil {
		t.Fatal(err)
	}
	if err := r.XDel(ctxT(t), names.StartJobs, trimmed.ID).Err(); err != nil {
		t.Fatal(err)
	}

	if lost := touch(t, a, acked, trimmed, kept); !reflect.DeepEqual(lost, []ports.Job{acked, trimmed}) {
		t.Fatalf("Touch lost %+v, want the acknowledged and the trimmed job", lost)
	}
	// Neither came back into the pending list.
	if got := owners(t, r, names.StartJobs); len(got) != 0 {
		t.Fatalf("start jobs pending %v, want none", got)
	}
	if err := a.HandBack(ctxT(t), []ports.Job{acked, trimmed}); err != nil {
		t.Fatal(err)
	}
	if n := pending(t, a); n != 1 {
		t.Fatalf("Pending = %d, want 1", n)
	}

	// Streams whose group (or key) is gone have nothing pending: all lost.
	r.Del(ctxT(t), names.StopJobs)
	if lost := touch(t, a, kept); !reflect.DeepEqual(lost, []ports.Job{kept}) {
		t.Fatalf("Touch on a deleted stream lost %+v", lost)
	}
	if err := a.HandBack(ctxT(t), []ports.Job{kept}); err != nil {
		t.Fatalf("HandBack on a deleted stream: %v", err)
	}
}

func TestHandBackLetsAnotherConsumerTakeJobsAtOnce(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	a := newSource(t, r, names, "a", time.Minute)
	b := newSource(t, r, names, "b", time.Minute)
	addJob(t, r, names.StartJobs, "game_id", "g1", "image_ref", "galaxy/game:1.0.0", "requested_at_ms", "1")
	addJob(t, r, names.StopJobs, "game_id", "g2", "reason", "cancelled", "requested_at_ms", "2")
	jobs := readN(t, a, 2)
	readN(t, b, 0)

	// A shuts down without running them.
	if err := a.HandBack(ctxT(t), jobs); err != nil {
		t.Fatal(err)
	}
	got := readN(t, b, 2)
	for i := range jobs {
		jobs[i].Reclaimed = true // B takes them over from A
	}
	if !reflect.DeepEqual(got, jobs) {
		t.Fatalf("B took %+v, want %+v", got, jobs)
	}
	for _, j := range jobs {
		stream, _ := names.jobStream(j.Kind)
		if o := owners(t, r, stream); !reflect.DeepEqual(o, map[string]string{j.ID: "b"}) {
			t.Fatalf("%s pending %v, want %s with b", stream, o, j.ID)
		}
	}
	// B's reclaim reset their idle time: nobody else takes them.
	readN(t, newSource(t, r, names, "c", time.Minute), 0)
}

func TestTouchAndHandBackOfNothingCallNoRedis(t *testing.T) {
	dead := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer dead.Close()
	s := newSource(t, dead, StreamNames{}, "a", time.Minute)
	if lost, err := s.Touch(ctxT(t), nil); err != nil || lost != nil {
		t.Fatalf("Touch(nil) = %v, %v", lost, err)
	}
	if err := s.HandBack(ctxT(t), []ports.Job{}); err != nil {
		t.Fatalf("HandBack(empty) = %v", err)
	}
	// A job of no known kind is refused before any call too.
	if _, err := s.Touch(ctxT(t), []ports.Job{{Kind: "restart", ID: "1-0"}}); err == nil || errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("Touch of an unknown kind: %v, want a refusal without a call", err)
	}
}
