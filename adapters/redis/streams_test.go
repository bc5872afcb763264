package redis

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// onlyEntry reads the single entry of a stream as its field map.
func onlyEntry(t *testing.T, r sharedRedis, stream string) map[string]string {
	t.Helper()
	msgs, err := r.XRange(ctxT(t), stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%s has %d entries, want 1", stream, len(msgs))
	}
	return toJob(ports.JobStart, msgs[0]).Fields
}

func assertFields(t *testing.T, got, want map[string]string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fields\n got %v\nwant %v", got, want)
	}
}

func TestPublishHealth(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	p := NewPublisher(r, names, 0)
	at := time.UnixMilli(1_700_000_000_123)

	if err := p.PublishHealth(ctxT(t), domain.HealthEvent{
		GameID: "g1", ContainerID: "c1", Type: domain.EventContainerExited, OccurredAt: at,
		Details: map[string]any{"exit_code": 137, "oom": true},
	}); err != nil {
		t.Fatal(err)
	}
	assertFields(t, onlyEntry(t, r, names.HealthEvents), map[string]string{
		"game_id": "g1", "container_id": "c1", "event_type": "container_exited",
		"occurred_at_ms": "1700000000123", "details": `{"exit_code":137,"oom":true}`,
	})

	r.Del(ctxT(t), names.HealthEvents)
	if err := p.PublishHealth(ctxT(t), domain.HealthEvent{
		GameID: "g1", ContainerID: "c1", Type: domain.EventProbeRecovered, OccurredAt: at,
	}); err != nil {
		t.Fatal(err)
	}
	if got := onlyEntry(t, r, names.HealthEvents)["details"]; got != "{}" {
		t.Fatalf("empty details = %q, want {}", got)
	}
}

func TestPublishIntent(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	p := NewPublisher(r, names, 0)
	n := domain.NotificationIntent{
		Type: domain.NotifyImagePullFailed, GameID: "g1", OperationID: 42,
		ImageRef: "galaxy/game:1.0.0", ErrorCode: domain.CodeImagePullFailed, ErrorMessage: "pull: denied",
		AttemptedAt: time.UnixMilli(1_700_000_000_000), OccurredAt: time.UnixMilli(1_700_000_000_500),
	}
	if err := p.PublishIntent(ctxT(t), n); err != nil {
		t.Fatal(err)
	}
	got := onlyEntry(t, r, names.NotificationIntents)
	var payload map[string]any
	if err := json.Unmarshal([]byte(got["payload_json"]), &payload); err != nil {
		t.Fatalf("payload_json %q: %v", got["payload_json"], err)
	}
	delete(got, "payload_json")
	assertFields(t, got, map[string]string{
		"notification_type": "runtime.image_pull_failed",
		"producer":          "runtime_manager",
		"audience_kind":     "admin_email",
		"idempotency_key":   "runtime_manager:g1:runtime.image_pull_failed:42",
		"occurred_at_ms":    "1700000000500",
	})
	want := map[string]any{
		"game_id": "g1", "image_ref": "galaxy/game:1.0.0", "error_code": "image_pull_failed",
		"error_message": "pull: denied", "attempted_at_ms": float64(1_700_000_000_000),
	}
	if !reflect.DeepEqual(payload, want) {
		t.Fatalf("payload\n got %v\nwant %v", payload, want)
	}
}

func TestDeadLetter(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	p := NewPublisher(r, names, 0)
	job := ports.Job{Kind: ports.JobStop, ID: "1700000000000-3", Fields: map[string]string{
		"game_id": "g1", "reason": "bogus", "requested_at_ms": "x",
	}}
	if err := p.DeadLetter(ctxT(t), job, "unknown reason"); err != nil {
		t.Fatal(err)
	}
	assertFields(t, onlyEntry(t, r, names.DeadLetters), map[string]string{
		"source_stream": names.StopJobs, "entry_id": "1700000000000-3", "reason": "unknown reason",
		"game_id": "g1", "original_reason": "bogus", "requested_at_ms": "x",
	})
}

// TestDeadLetterOfAHostileEntryIsBounded sends a hostile entry through Redis
// — a 1 MB value, a 5000-byte name, binary bytes, 100 fields — and reads
// its dead letter back.
func TestDeadLetterOfAHostileEntryIsBounded(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	p := NewPublisher(r, names, 0)
	s := newSource(t, r, names, "a", time.Minute)

	binName := "\x00\xffbin"
	binValue := strings.Repeat("\xff\xfe\x80", 700) // 2100 bytes, not UTF-8
	huge := strings.Repeat("i", 1<<20)
	longName := strings.Repeat("n", 5000)
	values := []string{binName, binValue, "game_id", "g1", "image_ref", huge, longName, "v"}
	for i := range 96 {
		values = append(values, fmt.Sprintf("z%02d", i), "zz")
	}
	addJob(t, r, names.StartJobs, values...)
	jobs := readN(t, s, 1)
	if len(jobs[0].Fields) != 100 || jobs[0].Fields[binName] != binValue {
		t.Fatalf("the entry did not arrive whole: %d fields", len(jobs[0].Fields))
	}
	reason := strings.Repeat("r", 3000)
	if err := p.DeadLetter(ctxT(t), jobs[0], reason); err != nil {
		t.Fatal(err)
	}

	// Sorted by name, the first 64 are the four odd ones and z00–z59.
	want := map[string]string{
		"source_stream": names.StartJobs, "entry_id": jobs[0].ID, "reason": reason[:1024],
		"cut": "reason cut to 1024 bytes; names of nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn… cut to 1024 bytes; " +
			"values of \x00\xffbin, image_ref cut to 1024 bytes; 36 fields dropped",
		binName: binValue[:1024], "game_id": "g1", "image_ref": huge[:1024], longName[:1024]: "v",
	}
	for i := range 60 {
		want[fmt.Sprintf("z%02d", i)] = "zz"
	}
	assertFields(t, onlyEntry(t, r, names.DeadLetters), want)
}

// TestDeadLetterCutNoteIsBounded: with every name and value cut, the cut
// field itself stays within the bound.
func TestDeadLetterCutNoteIsBounded(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	p := NewPublisher(r, names, 0)
	fields := map[string]string{}
	for i := range 1000 {
		fields[fmt.Sprintf("%04d", i)+strings.Repeat("é", 1500)] = strings.Repeat("v", 2000)
	}
	if err := p.DeadLetter(ctxT(t), ports.Job{Kind: ports.JobStop, ID: "1-0", Fields: fields}, "bad"); err != nil {
		t.Fatal(err)
	}
	got := onlyEntry(t, r, names.DeadLetters)
	if len(got) != 4+deadLetterMaxFields {
		t.Fatalf("%d fields stored, want 4 + %d", len(got), deadLetterMaxFields)
	}
	for k, v := range got {
		if k == "source_stream" {
			continue
		}
		if len(k) > deadLetterMaxBytes || len(v) > deadLetterMaxBytes {
			t.Fatalf("field of %d bytes, value of %d bytes stored", len(k), len(v))
		}
	}
	cut := got["cut"]
	if !strings.HasPrefix(cut, "names of 0000") || !strings.Contains(cut, ", and 56 more cut to 1024 bytes; values of 0000") ||
		!strings.HasSuffix(cut, "; 936 fields dropped") {
		t.Fatalf("cut = %q", cut)
	}
	if len(cut) > deadLetterMaxBytes {
		t.Fatalf("cut is %d bytes", len(cut))
	}
}

// TestDeadLetterNamesNeverClash: an original field named like a metadata
// field, or like another field once renamed or cut, gets a name of its own.
func TestDeadLetterNamesNeverClash(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	p := NewPublisher(r, names, 0)
	a, b := strings.Repeat("a", 1024), strings.Repeat("a", 1025)
	job := ports.Job{Kind: ports.JobStop, ID: "1-0", Fields: map[string]string{
		"reason": "1", "original_reason": "2", "cut": "3", "entry_id": "4", a: "5", b: "6",
	}}
	if err := p.DeadLetter(ctxT(t), job, "bad"); err != nil {
		t.Fatal(err)
	}
	assertFields(t, onlyEntry(t, r, names.DeadLetters), map[string]string{
		"source_stream": names.StopJobs, "entry_id": "1-0", "reason": "bad",
		"cut":             "names of original_aaaaaaaaaaaaaaaaaaaaaaa… cut to 1024 bytes",
		"original_reason": "2", "original_original_reason": "1", "original_cut": "3", "original_entry_id": "4",
		a: "5", "original_" + a: "6",
	})
}

func TestPublisherTrimsApproximately(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	const maxLen = 100
	p := NewPublisher(r, names, maxLen)
	for i := range 1000 {
		if err := p.PublishHealth(ctxT(t), domain.HealthEvent{
			GameID: "g" + strconv.Itoa(i), Type: domain.EventProbeFailed,
		}); err != nil {
			t.Fatal(err)
		}
	}
	// "~" trims whole radix-tree nodes (100 entries by default), so the
	// length stays within one node of the bound.
	n := r.XLen(ctxT(t), names.HealthEvents).Val()
	if n < maxLen || n > 2*maxLen {
		t.Fatalf("XLEN = %d after 1000 adds with MAXLEN ~ %d", n, maxLen)
	}
}

func TestDefaultStreamNames(t *testing.T) {
	got := StreamNames{JobResults: "custom"}.withDefaults()
	want := DefaultStreamNames()
	want.JobResults = "custom"
	if got != want {
		t.Fatalf("withDefaults = %+v, want %+v", got, want)
	}
	if want := (StreamNames{
		StartJobs: "runtime:start_jobs", StopJobs: "runtime:stop_jobs", JobResults: "runtime:job_results",
		HealthEvents: "runtime:health_events", NotificationIntents: "notification:intents",
		DeadLetters: "rtmanager:dead_letters",
	}); DefaultStreamNames() != want {
		t.Fatalf("DefaultStreamNames = %+v", DefaultStreamNames())
	}
}
