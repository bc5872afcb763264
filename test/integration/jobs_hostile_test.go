package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/test/harness"
)

// hostileEntry is one entry of a job stream that contract §6 "What makes an
// entry malformed" refuses, and what the consumer must do with it.
type hostileEntry struct {
	name   string
	kind   string   // start | stop: the stream it is written to
	fields []string // name, value pairs, written as they are
	// game is the entry's game_id when it is usable: the entry is then
	// answered failure/invalid_request and has an invalid_request row.
	// Empty: no result and no row.
	game string
	// why are pieces of text the refusal must name (every problem found).
	why []string
	// cut is the dead letter's `cut` field; empty when nothing is cut.
	cut string

	id string // its entry id, once written
}

// TestJobsHostileEntries writes every kind of malformed entry of contract §6
// and checks each gets its documented answer: an entry whose game_id is
// usable is answered failure/invalid_request (every §6.3 field present) and
// leaves one invalid_request row; one whose game_id is not is not answered
// and leaves no row; every one is copied, bounded, to the dead letters
// (§12.3) with source_stream, entry_id, reason and its own fields, and is
// acknowledged. Unknown fields on a valid job are ignored (the job runs); a
// well-formed reference that is not a valid one is a job answered
// start_config_invalid, not a dead letter; and a valid start written after
// all of them still runs.
func TestJobsHostileEntries(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	l := lobbyOf(t, s)
	const ref = "galaxy/game:1.0.0"
	at := now()
	mib := strings.Repeat("m", 1<<20)
	longRef := "galaxy/game:" + strings.Repeat("a", 2000-len("galaxy/game:"))

	entries := []*hostileEntry{
		{name: "start without game_id", kind: "start",
			fields: []string{"image_ref", ref, "requested_at_ms", at},
			why:    []string{"game_id is missing"}},
		{name: "game_id with a dot", kind: "start",
			fields: []string{"game_id", "bad.id", "image_ref", ref, "requested_at_ms", at},
			why:    []string{`game_id "bad.id" is invalid`}},
		{name: "binary garbage game_id", kind: "start",
			fields: []string{"game_id", "\xff\xfe\x00\x01\x1b[31m\x80", "image_ref", ref, "requested_at_ms", at},
			why:    []string{"game_id", "is invalid"}},
		{name: "non-numeric requested_at_ms", kind: "start", game: s.GameID("hostile"),
			fields: []string{"image_ref", ref, "requested_at_ms", "soon"},
			why:    []string{`requested_at_ms "soon"`}},
		{name: "negative requested_at_ms", kind: "start", game: s.GameID("hostile"),
			fields: []string{"image_ref", ref, "requested_at_ms", "-5"},
			why:    []string{`requested_at_ms "-5"`}},
		{name: "signed requested_at_ms", kind: "start", game: s.GameID("hostile"),
			fields: []string{"image_ref", ref, "requested_at_ms", "+5"},
			why:    []string{`requested_at_ms "+5"`}},
		{name: "start without requested_at_ms", kind: "start", game: s.GameID("hostile"),
			fields: []string{"image_ref", ref},
			why:    []string{"requested_at_ms is missing"}},
		{name: "start without image_ref", kind: "start", game: s.GameID("hostile"),
			fields: []string{"requested_at_ms", at},
			why:    []string{"image_ref is missing"}},
		{name: "empty image_ref", kind: "start", game: s.GameID("hostile"),
			fields: []string{"image_ref", "", "requested_at_ms", at},
			why:    []string{"image_ref is missing"}},
		{name: "image_ref of 2000 bytes", kind: "start", game: s.GameID("hostile"),
			fields: []string{"image_ref", longRef, "requested_at_ms", at},
			why:    []string{"image_ref is 2000 bytes, over 1024"},
			cut:    "values of image_ref cut to 1024 bytes"},
		{name: "non-printable image_ref", kind: "start", game: s.GameID("hostile"),
			fields: []string{"image_ref", "galaxy/game:1.0.0\x07\x00", "requested_at_ms", at},
			why:    []string{"image_ref", "is not printable text"}},
		// Nothing of an oversized entry is looked at: its game_id, valid as
		// it is, does not make it a job, so it is not answered (decode.go).
		{name: "entry over 64 KiB", kind: "start",
			fields: []string{"game_id", s.GameID("hostile"), "image_ref", ref, "requested_at_ms", at, "x", mib},
			why:    []string{"bytes, over the 65536 a job may carry"},
			cut:    "values of x cut to 1024 bytes"},
		{name: "stop without reason", kind: "stop", game: s.GameID("hostile"),
			fields: []string{"requested_at_ms", at},
			why:    []string{"reason is missing"}},
		{name: "unknown reason", kind: "stop", game: s.GameID("hostile"),
			fields: []string{"reason", "because", "requested_at_ms", at},
			why:    []string{`reason "because" is not one of`}},
		{name: "stop without game_id", kind: "stop",
			fields: []string{"reason", "finished", "requested_at_ms", at},
			why:    []string{"game_id is missing"}},
		{name: "stop with several problems", kind: "stop", game: s.GameID("hostile"),
			fields: []string{"reason", "nope", "requested_at_ms", "+5"},
			why:    []string{`reason "nope"`, `requested_at_ms "+5"`}},
	}
	stream := map[string]string{"start": s.Config.Streams.StartJobs, "stop": s.Config.Streams.StopJobs}
	for _, e := range entries {
		if e.game != "" {
			e.fields = append([]string{"game_id", e.game}, e.fields...)
		}
		e.id = l.add(stream[e.kind], e.fields...)
	}

	// Unknown fields on a valid job are ignored: it runs.
	extra := s.GameID("extra")
	extraID := l.add(s.Config.Streams.StartJobs, "game_id", extra, "image_ref", ref, "requested_at_ms", now(),
		"priority", "high", "lobby_version", "2.7", "requested_by", "\xff")
	// A well-formed value that is not a valid reference is a job.
	badRef := s.GameID("badref")
	badRefID := l.add(s.Config.Streams.StartJobs, "game_id", badRef, "image_ref", "not a ref!!", "requested_at_ms", now())
	// And a valid start written after every hostile entry still runs.
	last := s.GameID("after")
	lastID := l.startJob(last, ref)

	valid := []jobRef{{"start", extraID}, {"start", badRefID}, {"start", lastID}}
	var answered []jobRef
	for _, e := range entries {
		if e.game != "" {
			answered = append(answered, jobRef{e.kind, e.id})
		}
	}
	byJob, _ := awaitJobs(t, l, 3*time.Minute, append(append([]jobRef(nil), answered...), valid...))
	// Every result comes before its entry's acknowledgement, so once nothing
	// is pending every result there will ever be is written.
	awaitNothingPending(t, s, 3*time.Minute)
	all := l.results()
	if want := len(answered) + len(valid); len(all) != want {
		t.Errorf("%d results, want %d (one per entry with a usable game_id and per valid job):%s", len(all), want, describe(all))
	}
	for j, rs := range byJob {
		if len(rs) != 1 {
			t.Errorf("job %s has %d results, want 1:%s", j, len(rs), describe(rs))
		}
	}

	letters := map[string]map[string]string{} // by source stream and entry id
	for _, d := range deadLetters(t, s) {
		key := d["source_stream"] + " " + d["entry_id"]
		if letters[key] != nil {
			t.Errorf("two dead letters of %s", key)
		}
		letters[key] = d
	}
	if len(letters) != len(entries) {
		t.Errorf("%d dead letters, want one per malformed entry (%d)", len(letters), len(entries))
	}

	for _, e := range entries {
		t.Run(e.name, func(t *testing.T) {
			d := letters[stream[e.kind]+" "+e.id]
			if d == nil {
				t.Fatalf("no dead letter of %s %s", stream[e.kind], e.id)
			}
			checkDeadLetter(t, e, stream[e.kind], d)

			rs := byJob[jobRef{e.kind, e.id}]
			if e.game == "" {
				for _, r := range all {
					if r["job_id"] == e.id && r["job_kind"] == e.kind {
						t.Errorf("an entry without a usable game_id was answered: %v", r)
					}
				}
				return
			}
			if len(rs) != 1 {
				t.Fatalf("%d results, want 1", len(rs))
			}
			r := rs[0]
			checkResultShape(t, r)
			if r["outcome"] != "failure" || r["error_code"] != "invalid_request" || r["game_id"] != e.game ||
				r["job_kind"] != e.kind || r["container_id"] != "" || r["engine_endpoint"] != "" {
				t.Errorf("result %v, want failure/invalid_request of the game, no container", r)
			}
			for _, w := range e.why {
				if !strings.Contains(r["error_message"], w) {
					t.Errorf("result message %q does not say %q", r["error_message"], w)
				}
			}
			ops := operations(t, s, e.game)
			if len(ops) != 1 || str(ops[0], "op_kind") != e.kind || str(ops[0], "op_source") != "lobby_stream" ||
				str(ops[0], "source_ref") != e.id || str(ops[0], "outcome") != "failure" ||
				str(ops[0], "error_code") != "invalid_request" {
				t.Errorf("rows of the game %v, want one failed invalid_request %s row of the entry", ops, e.kind)
			}
			if _, found := record(t, s, e.game); found {
				t.Errorf("a refused entry made a record")
			}
		})
	}

	// The rows are exactly those of the entries with a usable game_id and
	// of the valid jobs: the others left none, under any game id.
	var rows int
	if err := s.DB.QueryRow(context.Background(), "SELECT count(*) FROM operation_log").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if want := len(answered) + len(valid); rows != want {
		t.Errorf("%d operation rows, want %d", rows, want)
	}
	if n := metricSum(t, s, "rtmanager_stream_dead_letters_total", nil); n != float64(len(entries)) {
		t.Errorf("rtmanager_stream_dead_letters_total %v, want %d", n, len(entries))
	}

	t.Run("unknown fields are ignored", func(t *testing.T) {
		r := byJob[jobRef{"start", extraID}][0]
		if r["outcome"] != "success" || r["error_code"] != "" || r["container_id"] == "" {
			t.Fatalf("start with extra fields: %v", r)
		}
		checkRunning(t, s, extra, r["container_id"])
		if letters[s.Config.Streams.StartJobs+" "+extraID] != nil {
			t.Errorf("a valid job with extra fields was dead-lettered")
		}
	})
	t.Run("an invalid reference is a job", func(t *testing.T) {
		r := byJob[jobRef{"start", badRefID}][0]
		checkResultShape(t, r)
		if r["outcome"] != "failure" || r["error_code"] != "start_config_invalid" || r["game_id"] != badRef {
			t.Fatalf("start of %q: %v, want failure/start_config_invalid", "not a ref!!", r)
		}
		if letters[s.Config.Streams.StartJobs+" "+badRefID] != nil {
			t.Errorf("a well-formed job with an invalid reference was dead-lettered")
		}
		ops := operations(t, s, badRef)
		if len(ops) != 1 || str(ops[0], "error_code") != "start_config_invalid" || str(ops[0], "source_ref") != badRefID {
			t.Errorf("rows %v, want one start_config_invalid row of the job", ops)
		}
		if n := len(s.Containers(badRef)); n != 0 {
			t.Errorf("%d containers for a start refused before Docker work", n)
		}
		if n := len(intents(t, s, badRef)); n != 1 {
			t.Errorf("%d notification intents, want the one start_config_invalid owes", n)
		}
	})
	t.Run("a valid start after them runs", func(t *testing.T) {
		r := byJob[jobRef{"start", lastID}][0]
		checkResultShape(t, r)
		if r["outcome"] != "success" || r["error_code"] != "" || r["game_id"] != last {
			t.Fatalf("start after the hostile entries: %v", r)
		}
		checkRunning(t, s, last, r["container_id"])
	})
	if n := lobbyOf(t, s).pending(); n != 0 {
		t.Errorf("%d entries pending at the end, want every entry acknowledged", n)
	}
}

// checkDeadLetter: the letter names the entry's stream and id and why it was
// refused, and carries the entry's own fields (a stop's own `reason` as
// `original_reason`), each value cut to 1024 bytes; `cut` says what was cut.
func checkDeadLetter(t *testing.T, e *hostileEntry, source string, d map[string]string) {
	t.Helper()
	if d["entry_id"] != e.id {
		t.Errorf("entry_id %q, want %q", d["entry_id"], e.id)
	}
	for _, w := range e.why {
		if !strings.Contains(d["reason"], w) {
			t.Errorf("dead letter reason %q does not say %q", d["reason"], w)
		}
	}
	if d["cut"] != e.cut {
		t.Errorf("cut %q, want %q", d["cut"], e.cut)
	}
	want := map[string]string{"source_stream": source, "entry_id": e.id, "reason": d["reason"]}
	if e.cut != "" {
		want["cut"] = e.cut
	}
	for i := 0; i+1 < len(e.fields); i += 2 {
		name, value := e.fields[i], e.fields[i+1]
		if name == "reason" {
			name = "original_reason"
		}
		if len(value) > 1024 {
			value = value[:1024]
		}
		want[name] = value
	}
	for k, v := range want {
		if got, ok := d[k]; !ok || got != v {
			t.Errorf("dead letter field %q = %.80q (present %v), want %.80q", k, got, ok, v)
		}
	}
	if len(d) != len(want) {
		t.Errorf("dead letter has %d fields, want %d: %.300v", len(d), len(want), d)
	}
}

// checkRunning: the game's record is running on the container, which runs
// and is the game's only one.
func checkRunning(t *testing.T, s *harness.Service, id, containerID string) {
	t.Helper()
	rec, ok := record(t, s, id)
	if !ok || str(rec, "status") != "running" || str(rec, "current_container_id") != containerID {
		t.Errorf("record %v, want running on %s", rec, containerID)
	}
	ctrs := s.Containers(id)
	if len(ctrs) != 1 || ctrs[0].ID != containerID || !inspect(t, s, containerID).State.Running {
		t.Errorf("containers %+v, want %s alone and running", ctrs, containerID)
	}
}
