package integration

import (
	"context"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/test/harness"
)

// lobby writes jobs and reads results the way Game Lobby does, on the
// streams of one harness (and the Redis it is given).
type lobby struct {
	t   *testing.T
	rdb *goredis.Client
	s   *harness.Service
}

func lobbyOf(t *testing.T, s *harness.Service) *lobby { return &lobby{t: t, rdb: s.Redis, s: s} }

func (l *lobby) add(stream string, fields ...string) string {
	l.t.Helper()
	id, err := l.rdb.XAdd(context.Background(), &goredis.XAddArgs{Stream: stream, Values: fields}).Result()
	if err != nil {
		l.t.Fatalf("XADD %s: %v", stream, err)
	}
	return id
}

func now() string { return strconv.FormatInt(time.Now().UnixMilli(), 10) }

// startJob writes a start job and returns its entry id.
func (l *lobby) startJob(gameID, ref string) string {
	return l.add(l.s.Config.Streams.StartJobs, "game_id", gameID, "image_ref", ref, "requested_at_ms", now())
}

// stopJob writes a stop job and returns its entry id.
func (l *lobby) stopJob(gameID, reason string) string {
	return l.add(l.s.Config.Streams.StopJobs, "game_id", gameID, "reason", reason, "requested_at_ms", now())
}

// results returns every result entry so far, in stream order.
func (l *lobby) results() []map[string]string {
	l.t.Helper()
	return streamStrings(l.t, l.rdb, l.s.Config.Streams.JobResults)
}

// streamStrings returns the fields of every entry of a stream, in order.
func streamStrings(t *testing.T, rdb *goredis.Client, stream string) []map[string]string {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), stream, "-", "+").Result()
	if err != nil {
		t.Fatalf("XRANGE %s: %v", stream, err)
	}
	out := make([]map[string]string, len(msgs))
	for i, m := range msgs {
		out[i] = map[string]string{}
		for k, v := range m.Values {
			out[i][k] = v.(string)
		}
	}
	return out
}

// awaitResults waits until every job of one kind ("start" or "stop") with
// the given entry ids has a result, and returns all their results in stream
// order.
func (l *lobby) awaitResults(timeout time.Duration, kind string, jobIDs ...string) []map[string]string {
	l.t.Helper()
	jobs := make([]jobRef, len(jobIDs))
	for i, id := range jobIDs {
		jobs[i] = jobRef{kind: kind, id: id}
	}
	byJob, all := awaitJobs(l.t, l, timeout, jobs)
	var got []map[string]string
	for _, r := range all {
		if byJob[refOf(r)] != nil {
			got = append(got, r)
		}
	}
	return got
}

// resultFields is every field of contract §6.3.
var resultFields = []string{"game_id", "job_id", "job_kind", "outcome", "container_id", "engine_endpoint",
	"error_code", "error_message", "finished_at_ms"}

func checkResultShape(t *testing.T, r map[string]string) {
	t.Helper()
	for _, f := range resultFields {
		if _, ok := r[f]; !ok {
			t.Errorf("result %v lacks %s", r, f)
		}
	}
	if len(r) != len(resultFields) {
		t.Errorf("result %v has fields beyond §6.3", r)
	}
	if r["outcome"] == "failure" && r["error_code"] == "" {
		t.Errorf("failure without error_code: %v", r)
	}
}
