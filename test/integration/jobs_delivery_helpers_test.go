package integration

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/test/harness"
)

// resultsOf returns the results of one job, in stream order.
func (l *lobby) resultsOf(jobID string) []map[string]string {
	l.t.Helper()
	var out []map[string]string
	for _, r := range l.results() {
		if r["job_id"] == jobID {
			out = append(out, r)
		}
	}
	return out
}

// pendingEntry is the pending-list entry of one job of a start stream, if the
// entry is pending.
func (l *lobby) pendingEntry(jobID string) (goredis.XPendingExt, bool) {
	l.t.Helper()
	p, err := l.rdb.XPendingExt(context.Background(), &goredis.XPendingExtArgs{
		Stream: l.s.Config.Streams.StartJobs, Group: l.s.Config.Streams.Group, Start: jobID, End: jobID, Count: 1,
	}).Result()
	if err != nil {
		l.t.Fatalf("XPENDING %s: %v", jobID, err)
	}
	if len(p) == 0 {
		return goredis.XPendingExt{}, false
	}
	return p[0], true
}

// pending counts the entries of both job streams delivered and not acknowledged.
func (l *lobby) pending() int64 {
	l.t.Helper()
	var n int64
	for _, stream := range []string{l.s.Config.Streams.StartJobs, l.s.Config.Streams.StopJobs} {
		p, err := l.rdb.XPending(context.Background(), stream, l.s.Config.Streams.Group).Result()
		if err != nil && !goredis.HasErrorPrefix(err, "NOGROUP") {
			l.t.Fatalf("XPENDING %s: %v", stream, err)
		}
		if p != nil {
			n += p.Count
		}
	}
	return n
}

// waitUntil polls cond until it holds; after timeout it fails the test with
// what it was waiting for.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v still waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkOneStartSuccessEach checks that every job has exactly one result, and that
// it is a start's success (a replay of one included).
func checkOneStartSuccessEach(t *testing.T, l *lobby, jobIDs ...string) {
	t.Helper()
	for _, id := range jobIDs {
		res := l.resultsOf(id)
		if len(res) != 1 {
			t.Errorf("job %s: %d results, want exactly 1: %v", id, len(res), res)
			continue
		}
		r := res[0]
		checkResultShape(t, r)
		if r["outcome"] != "success" || (r["error_code"] != "" && r["error_code"] != "replay_no_op") || r["job_kind"] != "start" {
			t.Errorf("job %s: result %v, want a start's success", id, r)
		}
	}
}

// checkRunningOnce checks that the game has exactly one container, running,
// and that the record names it — the one the job's result named.
func checkRunningOnce(t *testing.T, s *harness.Service, l *lobby, gameID, jobID string) {
	t.Helper()
	rec := call(t, s, http.MethodGet, rt(gameID), nil)
	cs := s.Containers(gameID)
	var named string
	if res := l.resultsOf(jobID); len(res) > 0 {
		named = res[0]["container_id"]
	}
	if rec.Status != 200 || str(rec.Body, "status") != "running" || len(cs) != 1 || cs[0].State != "running" ||
		cs[0].ID != str(rec.Body, "current_container_id") || cs[0].ID != named {
		t.Errorf("game %s: want one running container named by the record and the result %.12s; record %d %s, containers %+v",
			gameID, named, rec.Status, rec.Raw, cs)
	}
}

// logBuffer collects a service's log lines for a test to wait on.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *logBuffer) contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Contains(b.b.String(), s)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startJobsAtOnce writes one start job per game in one MULTI/EXEC, so a
// consumer's next read sees all of them or none: which jobs it reads together
// then does not depend on how fast it reads.
func (l *lobby) startJobsAtOnce(ref string, games ...string) []string {
	l.t.Helper()
	cmds := make([]*goredis.StringCmd, len(games))
	_, err := l.rdb.TxPipelined(context.Background(), func(p goredis.Pipeliner) error {
		for i, g := range games {
			cmds[i] = p.XAdd(context.Background(), &goredis.XAddArgs{Stream: l.s.Config.Streams.StartJobs,
				Values: []string{"game_id", g, "image_ref", ref, "requested_at_ms", now()}})
		}
		return nil
	})
	if err != nil {
		l.t.Fatalf("MULTI XADD ×%d: %v", len(games), err)
	}
	ids := make([]string, len(games))
	for i, c := range cmds {
		ids[i] = c.Val()
	}
	return ids
}

// watchLeaseTries watches every command Redis runs (MONITOR, on a connection
// of its own) and returns a check that says whether each of the given lease
// keys has been used by a command since: a job waiting for a lease the test
// holds retries it, so this is how a test sees that the job has started.
// Start it before the jobs are written; the test's own SET comes before.
func watchLeaseTries(t *testing.T, keys ...string) (allTried func() bool) {
	t.Helper()
	conn, err := net.Dial("tcp", testenv.RedisAddr())
	if err != nil {
		t.Fatalf("dial redis for MONITOR: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	rd := bufio.NewReader(conn)
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatalf("MONITOR: %v", err)
	}
	if line, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+OK") {
		t.Fatalf("MONITOR answered %q, %v", line, err)
	}
	var mu sync.Mutex
	tried := map[string]bool{}
	go func() {
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return // the connection closed at cleanup
			}
			for _, k := range keys {
				if strings.Contains(line, `"`+k+`"`) {
					mu.Lock()
					tried[k] = true
					mu.Unlock()
				}
			}
		}
	}()
	return func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(tried) == len(keys)
	}
}
