package integration

// Helpers of the job-stream tests beyond the lobby helper of
// jobs_helpers_test.go: jobs named by stream and entry id (the two streams'
// ids may coincide), their positions, the outcomes the contract fixes for a
// game's jobs taken in order, and reads of the group, the dead letters and
// the metrics.

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/test/harness"
)

// jobRef names one job: its stream (by kind) and its entry id there.
type jobRef struct {
	kind string // "start" | "stop"
	id   string
}

func (j jobRef) String() string { return j.kind + "/" + j.id }

// posOf is a job's place in the one order of a game's jobs (contract §6,
// "Order of one game's jobs").
func posOf(t *testing.T, j jobRef) domain.JobPosition {
	t.Helper()
	rank := domain.JobRankStart
	if j.kind == "stop" {
		rank = domain.JobRankStop
	}
	p, err := domain.ParseJobPosition(j.id, rank)
	if err != nil {
		t.Fatalf("job %s: %v", j, err)
	}
	return p
}

// byPosition returns the jobs sorted in the contract's order.
func byPosition(t *testing.T, jobs []jobRef) []jobRef {
	t.Helper()
	out := slices.Clone(jobs)
	slices.SortFunc(out, func(a, b jobRef) int { return posOf(t, a).Compare(posOf(t, b)) })
	return out
}

func refOf(r map[string]string) jobRef { return jobRef{kind: r["job_kind"], id: r["job_id"]} }

// write appends jobs through one pipeline (one round trip: the entries are
// written back to back) and returns their refs in the order written. Each
// job is a kind and the game; a start runs ref, a stop has reason finished.
type jobSpec struct{ kind, gameID string }

func writeJobs(t *testing.T, s *harness.Service, ref string, specs ...jobSpec) []jobRef {
	t.Helper()
	ctx := context.Background()
	cmds := make([]*goredis.StringCmd, len(specs))
	_, err := s.Redis.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, sp := range specs {
			cmds[i] = p.XAdd(ctx, jobArgs(t, s, sp, ref, ""))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("pipelined XADD: %v", err)
	}
	out := make([]jobRef, len(specs))
	for i, c := range cmds {
		out[i] = jobRef{kind: specs[i].kind, id: c.Val()}
	}
	return out
}

// jobArgs is the XADD of one well-formed job; id "" lets Redis pick it.
func jobArgs(t *testing.T, s *harness.Service, sp jobSpec, ref, id string) *goredis.XAddArgs {
	t.Helper()
	switch sp.kind {
	case "start":
		return &goredis.XAddArgs{Stream: s.Config.Streams.StartJobs, ID: id,
			Values: []string{"game_id", sp.gameID, "image_ref", ref, "requested_at_ms", now()}}
	case "stop":
		return &goredis.XAddArgs{Stream: s.Config.Streams.StopJobs, ID: id,
			Values: []string{"game_id", sp.gameID, "reason", "finished", "requested_at_ms", now()}}
	}
	t.Fatalf("job kind %q", sp.kind)
	return nil
}

// awaitJobs waits until every job has at least one result and returns every
// result of those jobs by job, and all results of the stream in its order.
// (The lobby helper's awaitResults keys by entry id alone, which a start and
// a stop can share.)
func awaitJobs(t *testing.T, l *lobby, timeout time.Duration, jobs []jobRef) (map[jobRef][]map[string]string, []map[string]string) {
	t.Helper()
	want := map[jobRef]bool{}
	for _, j := range jobs {
		want[j] = true
	}
	deadline := time.Now().Add(timeout)
	for {
		all := l.results()
		got := map[jobRef][]map[string]string{}
		for _, r := range all {
			if want[refOf(r)] {
				got[refOf(r)] = append(got[refOf(r)], r)
			}
		}
		if len(got) == len(want) {
			return got, all
		}
		if time.Now().After(deadline) {
			var missing []string
			for _, j := range jobs {
				if got[j] == nil {
					missing = append(missing, j.String())
				}
			}
			t.Fatalf("after %v %d of %d jobs have no result: %v", timeout, len(missing), len(want), missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// game follows what the contract says one game's jobs do when they act in
// order (§4 start and stop, §6): the outcome and code each job must be
// answered with, and the container it must name.
type game struct {
	status    string // "" (no record) | running | stopped
	container string // the container of the last start that acted
}

// expect is the answer the job gets in the state the game is in; apply
// records what the answer did (a real start brings a new container).
func (g *game) expect(kind string) (outcome, code string) {
	switch {
	case kind == "start" && g.status == "running":
		return "success", "replay_no_op"
	case kind == "start":
		return "success", ""
	case g.status == "":
		return "failure", "not_found"
	case g.status == "running":
		return "success", ""
	default:
		return "success", "replay_no_op"
	}
}

// check compares a result with what the job must be answered in this state,
// then moves the game on. It reports mismatches on t.
func (g *game) check(t *testing.T, r map[string]string) {
	t.Helper()
	outcome, code := g.expect(r["job_kind"])
	if r["outcome"] != outcome || r["error_code"] != code {
		t.Errorf("job %s in state %q answered %s/%q (%s), want %s/%q", refOf(r), g.status,
			r["outcome"], r["error_code"], r["error_message"], outcome, code)
	}
	switch {
	case r["job_kind"] == "start" && code == "":
		if r["container_id"] == "" || r["container_id"] == g.container {
			t.Errorf("start %s that acted names container %q, want a new one (previous %q)", refOf(r), r["container_id"], g.container)
		}
		g.status, g.container = "running", r["container_id"]
	case code == "not_found":
	default:
		if r["container_id"] != g.container {
			t.Errorf("job %s names container %q, want the game's %q", refOf(r), r["container_id"], g.container)
		}
		if r["job_kind"] == "stop" {
			g.status = "stopped"
		}
	}
}

// superseded reports whether a result is the answer of a job a later one
// overtook (contract §6: failure/conflict, "superseded: …").
func superseded(r map[string]string) bool {
	return r["outcome"] == "failure" && r["error_code"] == "conflict" && strings.Contains(r["error_message"], "superseded")
}

// record reads the game's runtime record over REST; ok is false on 404.
func record(t *testing.T, s *harness.Service, id string) (map[string]any, bool) {
	t.Helper()
	r := call(t, s, http.MethodGet, rt(id), nil)
	if r.Status == 404 {
		return nil, false
	}
	expect(t, r, 200, "")
	return r.Body, true
}

// awaitNothingPending waits (generously) until the group holds nothing
// unacknowledged, and fails if it never gets there.
func awaitNothingPending(t *testing.T, s *harness.Service, timeout time.Duration) {
	t.Helper()
	l := lobbyOf(t, s)
	waitUntil(t, timeout, "nothing pending in group "+s.Config.Streams.Group, func() bool { return l.pending() == 0 })
}

// deadLetters returns the dead-letter entries so far, by their entry_id and
// source stream.
func deadLetters(t *testing.T, s *harness.Service) []map[string]string {
	t.Helper()
	return streamStrings(t, s.Redis, s.Config.Streams.DeadLetters)
}

// metricSum adds up the samples of one counter or gauge family of a
// service's registry whose labels include every pair of match.
func metricSum(t *testing.T, s *harness.Service, name string, match map[string]string) float64 {
	t.Helper()
	fams, err := s.App.Metrics.Registry().Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	var sum float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			matched := true
			for k, v := range match {
				matched = matched && have[k] == v
			}
			if !matched {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			default:
				t.Fatalf("metric %s is neither counter nor gauge", name)
			}
		}
	}
	return sum
}

// opRows returns the game's operation rows, oldest first.
func opRows(t *testing.T, s *harness.Service, id string) []map[string]any {
	t.Helper()
	ops := operations(t, s, id)
	slices.Reverse(ops)
	return ops
}

// checkJobRows: the game has exactly one row per job, of the job's kind, with
// source lobby_stream and the entry id as source_ref, and no other row.
func checkJobRows(t *testing.T, rows []map[string]any, jobs []jobRef) {
	t.Helper()
	want := map[jobRef]int{}
	for _, j := range jobs {
		want[j] = 0
	}
	for _, op := range rows {
		j := jobRef{kind: str(op, "op_kind"), id: str(op, "source_ref")}
		n, ok := want[j]
		if !ok || str(op, "op_source") != "lobby_stream" {
			t.Errorf("row %v is not the row of one of the jobs (source lobby_stream, the entry id)", op)
			continue
		}
		want[j] = n + 1
	}
	for j, n := range want {
		if n != 1 {
			t.Errorf("job %s has %d rows, want 1", j, n)
		}
	}
}

func describe(rs []map[string]string) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "\n  %s %s/%s %s", refOf(r), r["outcome"], r["error_code"], r["error_message"])
	}
	return b.String()
}
