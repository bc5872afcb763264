package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/test/harness"
)

// jobsEnv pins the shipped defaults the figures depend on: 16 jobs of
// different games in flight, of which 4 at a time in Docker create+start.
var jobsEnv = map[string]string{"JOB_CONCURRENCY": "16", "DOCKER_START_CONCURRENCY": "4"}

// Replay benchmark sizes: replayGames running games take every job; the
// sustained phase writes replayJobs jobs keeping at most replayBacklog
// unanswered and measures after the first replayWarmup answers; the paced
// phase offers pacedRate jobs/s for pacedFor.
const (
	replayGames   = 16
	replayJobs    = 30000
	replayWarmup  = 3000
	replayBacklog = 1000
	replayBatch   = 50
	pacedRate     = 1000
	pacedFor      = 10 * time.Second
	// stallTimeout fails a phase whose results stop coming.
	stallTimeout = 30 * time.Second
)

// BenchmarkReplayedStartJobs measures the consumer's own cost: start jobs
// for games already running the same image, each answered
// success/replay_no_op without touching Docker. It reports the sustained
// throughput with a bounded backlog (jobs/s), then the latency from XADD to
// the result at a fixed offered rate (p50-ms, p99-ms). Run with -benchtime
// 1x: one run writes max(b.N, replayJobs) jobs in the sustained phase.
func BenchmarkReplayedStartJobs(b *testing.B) {
	s := harness.Start(b, harness.Options{NoContract: true, Env: jobsEnv})
	l := newLobby(b, s)
	games, want := runningGames(b, s, l, replayGames)

	n := max(b.N, replayJobs)
	sus := l.flow(b, games, n, replayBacklog, 0, want)
	done := sus.done[replayWarmup-1:]
	rate := float64(len(done)-1) / done[len(done)-1].Sub(done[0]).Seconds()

	paced := l.flow(b, games, int(pacedFor.Seconds())*pacedRate, 0, pacedRate, want)
	p50, p99 := percentile(paced.latency, 50), percentile(paced.latency, 99)
	// Answered below the offered rate, the service fell behind and the
	// latency is mostly queueing.
	answered := float64(len(paced.done)) / paced.done[len(paced.done)-1].Sub(paced.began).Seconds()

	b.ReportMetric(rate, "jobs/s")
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	fmt.Printf("\nreplayed start jobs on %d games: %.0f jobs/s sustained (n=%d, backlog ≤ %d, target ≥ 3000) | "+
		"at %d jobs/s offered (%.0f written, %.0f answered): p50 %.1f ms, p99 %.1f ms (n=%d)\n",
		replayGames, rate, len(done), replayBacklog, pacedRate, paced.offered, answered, ms(p50), ms(p99), len(paced.latency))
}

// runningGames starts n games with start jobs and returns their ids and the
// check every replayed start job of them must pass: success/replay_no_op
// naming the game's container.
func runningGames(b *testing.B, s *harness.Service, l *lobby, n int) ([]string, func(result) error) {
	games := make([]string, n)
	for i := range games {
		games[i] = s.GameID("replay")
	}
	containers := map[string]string{}
	started, _ := l.burst(b, games)
	for _, r := range started {
		containers[r.gameID] = r.containerID
	}
	return games, func(r result) error {
		if r.outcome != "success" || r.errorCode != "replay_no_op" || r.kind != "start" ||
			r.containerID == "" || r.containerID != containers[r.gameID] {
			return fmt.Errorf("want a start answered success/replay_no_op with the game's container, got %+v", r)
		}
		return nil
	}
}

// Fresh benchmark sizes: freshGames start jobs written at once, against bare
// SDK bursts of the same size shaped as sdkShapes; freshRounds measured
// rounds (or b.N) after one warm-up round.
const (
	freshGames  = 40
	freshRounds = 3
)

// sdkShapes are the bare bursts tried. The service runs 16 jobs at a time
// with 4 of them in create+start; the fairest baseline is the best the SDK
// does at any parallelism, so plain parallelism 4, 8, 16 and 40 are tried,
// and the service's own shape (16 launches, create+start bounded to 4).
var sdkShapes = []sdkShape{{4, 0}, {8, 0}, {16, 0}, {40, 0}, {16, 4}}

// BenchmarkFreshStartJobs measures freshGames fresh start jobs written at once
// — from the first XADD to the last result — beside the best bare SDK burst
// of as many create+start+ready launches, alternating in one run, and reports
// the ratio of their throughputs (target ≥ 0.85). Every container is removed
// between phases. Run with -benchtime 1x: one run takes max(b.N, 3) rounds.
func BenchmarkFreshStartJobs(b *testing.B) {
	s := harness.Start(b, harness.Options{NoContract: true, Env: jobsEnv})
	l := newLobby(b, s)
	rounds := max(b.N, freshRounds)
	const warmup = 1
	var svc []float64
	sdk := make([][]float64, len(sdkShapes))
	for r := range rounds + warmup {
		games := make([]string, freshGames)
		for i := range games {
			games[i] = s.GameID("fresh")
		}
		res, t0 := l.burst(b, games)
		took := res[len(res)-1].seen.Sub(t0)
		ids := make([]string, len(res))
		for i, x := range res {
			ids[i] = x.containerID
		}
		removeAll(b, s, ids)
		line := fmt.Sprintf("round %d: service %.1f jobs/s; SDK starts/s", r, freshGames/took.Seconds())
		if r >= warmup {
			svc = append(svc, freshGames/took.Seconds())
		}
		for i, sh := range sdkShapes {
			d := bareBurst(b, s, freshGames, sh)
			line += fmt.Sprintf(" %s: %.1f", sh, freshGames/d.Seconds())
			if r >= warmup {
				sdk[i] = append(sdk[i], freshGames/d.Seconds())
			}
		}
		if r < warmup {
			line += " (warm-up)"
		}
		b.Log(line)
	}
	svcMed := median(svc)
	best, shapes := 0, ""
	for i, xs := range sdk {
		if median(xs) > median(sdk[best]) {
			best = i
		}
		shapes += fmt.Sprintf(" %s: %.1f", sdkShapes[i], median(xs))
	}
	ratio := svcMed / median(sdk[best])
	b.ReportMetric(svcMed, "svc-jobs/s")
	b.ReportMetric(median(sdk[best]), "sdk-starts/s")
	b.ReportMetric(ratio, "ratio")
	fmt.Printf("\n%d fresh start jobs at once: service median %.1f jobs/s | best bare SDK create+start+ready median %.1f starts/s "+
		"at parallelism %s (per parallelism[/create+start bound]:%s) | ratio %.3f (n=%d rounds, target ≥ 0.85)\n",
		freshGames, svcMed, median(sdk[best]), sdkShapes[best], shapes, ratio, len(svc))
}

// lobby writes start jobs and reads their results on one harness's streams,
// as Game Lobby does.
type lobby struct {
	s    *harness.Service
	rdb  *goredis.Client
	last string // the last result entry read
}

func newLobby(b *testing.B, s *harness.Service) *lobby {
	l := &lobby{s: s, rdb: s.Redis, last: "0-0"}
	msgs, err := s.Redis.XRevRangeN(context.Background(), s.Config.Streams.JobResults, "+", "-", 1).Result()
	if err != nil {
		b.Fatal(err)
	}
	if len(msgs) > 0 {
		l.last = msgs[0].ID
	}
	return l
}

// add writes one start job per game, in one pipeline, and returns their entry
// ids and when the pipeline was sent.
func (l *lobby) add(ctx context.Context, games []string) ([]string, time.Time, error) {
	p := l.rdb.Pipeline()
	cmds := make([]*goredis.StringCmd, len(games))
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	for i, g := range games {
		cmds[i] = p.XAdd(ctx, &goredis.XAddArgs{Stream: l.s.Config.Streams.StartJobs,
			Values: []string{"game_id", g, "image_ref", image, "requested_at_ms", now}})
	}
	at := time.Now()
	if _, err := p.Exec(ctx); err != nil {
		return nil, at, fmt.Errorf("XADD start jobs: %w", err)
	}
	ids := make([]string, len(cmds))
	for i, c := range cmds {
		ids[i] = c.Val()
	}
	return ids, at, nil
}

// result is one entry of the results stream, and when the reader saw it.
type result struct {
	jobID, gameID, kind, outcome, errorCode, errorMessage, containerID string
	seen                                                               time.Time
}

// read returns the results written since the last read, waiting up to block
// for the first.
func (l *lobby) read(ctx context.Context, block time.Duration) ([]result, error) {
	streams, err := l.rdb.XRead(ctx, &goredis.XReadArgs{
		Streams: []string{l.s.Config.Streams.JobResults, l.last}, Count: 1000, Block: block,
	}).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("XREAD results: %w", err)
	}
	seen := time.Now()
	var out []result
	for _, st := range streams {
		for _, m := range st.Messages {
			f := func(k string) string { v, _ := m.Values[k].(string); return v }
			out = append(out, result{jobID: f("job_id"), gameID: f("game_id"), kind: f("job_kind"),
				outcome: f("outcome"), errorCode: f("error_code"), errorMessage: f("error_message"),
				containerID: f("container_id"), seen: seen})
			l.last = m.ID
		}
	}
	return out, nil
}

// burst writes one fresh start job per game at once and returns their
// results in the order seen, and when the jobs were written; each must be a
// success that launched an engine.
func (l *lobby) burst(b *testing.B, games []string) ([]result, time.Time) {
	ctx := context.Background()
	ids, at, err := l.add(ctx, games)
	if err != nil {
		b.Fatal(err)
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var got []result
	for last := time.Now(); len(got) < len(ids); {
		rs, err := l.read(ctx, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rs {
			if !want[r.jobID] {
				b.Fatalf("result of a job not written here: %+v", r)
			}
			if r.outcome != "success" || r.errorCode != "" || r.containerID == "" {
				b.Fatalf("fresh start job: %+v", r)
			}
			got = append(got, r)
			last = r.seen
		}
		if time.Since(last) > 2*time.Minute {
			b.Fatalf("only %d of %d fresh start jobs answered", len(got), len(ids))
		}
	}
	return got, at
}

// measured is what one flow of jobs measured.
type measured struct {
	done    []time.Time     // when each result was seen, in order
	latency []time.Duration // from each job's XADD to its result
	began   time.Time       // when the writer started
	offered float64         // jobs/s written
}

// flow writes n start jobs round-robin over games and reads their results
// concurrently, matching them by job id; every result must pass check.
// With rate 0 the writer goes as fast as the service absorbs jobs, in
// pipelined batches, keeping at most backlog unanswered; with a rate it
// writes jobs at that pace, each XADD sent when due.
func (l *lobby) flow(b *testing.B, games []string, n, backlog, rate int, check func(result) error) measured {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	if rate > 0 {
		backlog = n
	}
	t := &tracker{sent: map[string]time.Time{}, early: map[string]time.Time{}, credits: make(chan struct{}, backlog)}

	writeErr := make(chan error, 1)
	var offered float64
	t0 := time.Now()
	go func() {
		var err error
		defer func() {
			if err != nil {
				cancel(err) // stops the reader too
			}
			writeErr <- err
		}()
		for sent := 0; sent < n; {
			k := min(replayBatch, n-sent)
			if rate > 0 {
				due := min(int(time.Since(t0)*time.Duration(rate)/time.Second)+1, n)
				if due <= sent {
					time.Sleep(time.Until(t0.Add(time.Duration(sent) * time.Second / time.Duration(rate))))
					continue
				}
				k = due - sent
			}
			for range k {
				select {
				case t.credits <- struct{}{}: // blocks while the backlog is full
				case <-ctx.Done():
					return
				}
			}
			batch := make([]string, k)
			for i := range batch {
				batch[i] = games[(sent+i)%len(games)]
			}
			var ids []string
			var at time.Time
			if ids, at, err = l.add(ctx, batch); err != nil {
				return
			}
			t.wrote(ids, at)
			sent += k
		}
		offered = float64(n) / time.Since(t0).Seconds()
	}()

	var bad []string
	nbad := 0
	for last := time.Now(); t.count() < n; {
		rs, err := l.read(ctx, 200*time.Millisecond)
		if err != nil {
			if cause := context.Cause(ctx); cause != nil {
				err = cause // the writer failed first
			}
			b.Fatal(err)
		}
		for _, r := range rs {
			if err := check(r); err != nil {
				if nbad++; len(bad) < 5 {
					bad = append(bad, err.Error())
				}
			}
			t.answered(r.jobID, r.seen)
			last = r.seen
		}
		if time.Since(last) > stallTimeout {
			cancel(errors.New("results stalled"))
			b.Fatalf("results stalled: %d of %d jobs answered (writer: %v)", t.count(), n, <-writeErr)
		}
	}
	if err := <-writeErr; err != nil {
		b.Fatal(err)
	}
	if nbad > 0 {
		b.Fatalf("%d of %d results were not the expected answer, e.g. %v", nbad, n, bad)
	}
	if len(t.early) > 0 || len(t.sent) > 0 {
		b.Fatalf("%d results of jobs not written here, %d jobs unanswered", len(t.early), len(t.sent))
	}
	slices.SortFunc(t.done, time.Time.Compare)
	return measured{done: t.done, latency: t.latency, began: t0, offered: offered}
}

// tracker matches written jobs with their results, whichever is known first.
type tracker struct {
	mu      sync.Mutex
	sent    map[string]time.Time // written, not answered yet
	early   map[string]time.Time // answered before the writer recorded the id
	done    []time.Time
	latency []time.Duration
	credits chan struct{} // one per job written and not answered
}

func (t *tracker) wrote(ids []string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		if seen, ok := t.early[id]; ok {
			delete(t.early, id)
			t.match(at, seen)
			continue
		}
		t.sent[id] = at
	}
}

func (t *tracker) answered(id string, seen time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if at, ok := t.sent[id]; ok {
		delete(t.sent, id)
		t.match(at, seen)
		return
	}
	t.early[id] = seen
}

// match records one answered job; t.mu is held. The job's credit was taken
// before it was written, so giving it back never blocks.
func (t *tracker) match(at, seen time.Time) {
	t.done = append(t.done, seen)
	t.latency = append(t.latency, seen.Sub(at))
	<-t.credits
}

func (t *tracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.done)
}

func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)*p/100, len(s)-1)]
}
