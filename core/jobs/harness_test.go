package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/jobs"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
	"github.com/galaxy/rtmanager/ports/mocks"
)

// waitLimit bounds every wait on the consumer; a test that hits it failed.
const waitLimit = 10 * time.Second

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// startJob and stopJob build entries as the job source reads them; ms is the
// entry id's clock.
func startJob(ms int64, game, ref string) ports.Job {
	return ports.Job{Kind: ports.JobStart, ID: fmt.Sprintf("%d-0", ms), Fields: map[string]string{
		"game_id": game, "image_ref": ref, "requested_at_ms": strconv.FormatInt(ms, 10)}}
}

func stopJob(ms int64, game, reason string) ports.Job {
	return ports.Job{Kind: ports.JobStop, ID: fmt.Sprintf("%d-0", ms), Fields: map[string]string{
		"game_id": game, "reason": reason, "requested_at_ms": strconv.FormatInt(ms, 10)}}
}

// key names a job the way the tests compare them: kind and entry id (ids of
// the two streams may coincide).
func key(j ports.Job) string { return string(j.Kind) + "@" + j.ID }

func keys(js []ports.Job) []string {
	out := make([]string, 0, len(js))
	for _, j := range js {
		out = append(out, key(j))
	}
	return out
}

// harness runs a jobs.Consumer on strict gomock ports and a fake Runner.
// Read serves the batches a test pushes on batches, each once, then waits
// for the read's block time (or the end of the consumer) and returns nothing.
type harness struct {
	t       *testing.T
	cfg     jobs.Config
	src     *mocks.MockJobSource
	dead    *mocks.MockDeadLetters
	metrics *mocks.MockMetrics
	clock   *mocks.MockClock
	runner  *fakeRunner

	batches chan []ports.Job
	acked   chan ports.Job // every acknowledged job, in order

	mu        sync.Mutex
	counts    []int // the count of every read that returned a batch
	failReads int   // reads still to fail, as in a Redis outage
}

func newHarness(t *testing.T) *harness {
	ctrl := gomock.NewController(t)
	h := &harness{
		t:       t,
		cfg:     jobs.Config{Concurrency: 2, ClaimIdle: 300 * time.Millisecond, Block: 10 * time.Millisecond, Drain: 2 * time.Second},
		src:     mocks.NewMockJobSource(ctrl),
		dead:    mocks.NewMockDeadLetters(ctrl),
		metrics: mocks.NewMockMetrics(ctrl),
		clock:   mocks.NewMockClock(ctrl),
		runner:  newFakeRunner(),
		batches: make(chan []ports.Job, 16),
		acked:   make(chan ports.Job, 64),
	}
	h.clock.EXPECT().Now().Return(t0).AnyTimes()
	h.src.EXPECT().Read(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(h.read).AnyTimes()
	return h
}

// read serves the batches the test sends. It vouches for no millisecond
// (Complete 0): holding stops for their millisecond is holdBack's, tested
// on its own.
func (h *harness) read(ctx context.Context, count int, block time.Duration) (ports.Batch, error) {
	if count <= 0 {
		h.t.Errorf("Read asked for %d entries", count)
	}
	h.mu.Lock()
	fail := h.failReads > 0
	if fail {
		h.failReads--
	}
	h.mu.Unlock()
	if fail {
		return ports.Batch{}, errors.New("redis: connection refused")
	}
	served := func(b []ports.Job) (ports.Batch, error) {
		h.mu.Lock()
		h.counts = append(h.counts, count)
		h.mu.Unlock()
		return ports.Batch{Jobs: b}, nil
	}
	select {
	case b := <-h.batches:
		return served(b)
	default:
	}
	if block <= 0 {
		return ports.Batch{}, nil
	}
	t := time.NewTimer(block)
	defer t.Stop()
	select {
	case b := <-h.batches:
		return served(b)
	case <-ctx.Done():
		return ports.Batch{}, ctx.Err()
	case <-t.C:
		return ports.Batch{}, nil
	}
}

// afterTaken returns once the consumer has taken every batch sent so far: it
// sends an empty batch and waits until a read has received it, since the
// reading loop takes a batch before it reads again.
func (h *harness) afterTaken() {
	h.batches <- []ports.Job{}
	for len(h.batches) > 0 {
		time.Sleep(time.Millisecond)
	}
}

// holdAt makes the runner block the call that carries out entry id (as
// call.id names it) until the returned gate closes; every other call
// succeeds at once. Calls are reported on h.runner.entered as they begin.
func (h *harness) holdAt(id string) gate {
	g := make(gate)
	h.runner.entered = make(chan call, 64)
	h.runner.do = func(ctx context.Context, c call) domain.Result {
		if c.id() == id {
			g.wait(ctx)
		}
		return succeeded(c)
	}
	return g
}

// readCounts is the count asked by each read that returned a batch.
func (h *harness) readCounts() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.counts)
}

// allowHeartbeat lets the heartbeat run unobserved: every touch keeps every
// job, and the pending gauge reads zero.
func (h *harness) allowHeartbeat() {
	h.src.EXPECT().Touch(gomock.Any(), gomock.Any()).Return(nil, nil).AnyTimes()
	h.src.EXPECT().Pending(gomock.Any()).Return(int64(0), nil).AnyTimes()
	h.metrics.EXPECT().JobsPending(int64(0)).AnyTimes()
}

// expectAnswered expects job to be answered (its result published and its
// entry acknowledged) with the fake runner's success, once.
func (h *harness) expectAnswered(js ...ports.Job) {
	for _, j := range js {
		answer := h.src.EXPECT().Answer(gomock.Any(), j, resultOf(j)).DoAndReturn(h.answer)
		done := h.metrics.EXPECT().JobDone(j.Kind, domain.OutcomeSuccess, domain.CodeNone, gomock.Any())
		gomock.InOrder(answer, done)
	}
}

func (h *harness) ack(_ context.Context, j ports.Job) error {
	h.acked <- j
	return nil
}

func (h *harness) answer(ctx context.Context, j ports.Job, _ ports.JobResult) error {
	return h.ack(ctx, j)
}

// waitAcked waits for n acknowledgements and returns them in order.
func (h *harness) waitAcked(n int) []ports.Job {
	h.t.Helper()
	var got []ports.Job
	timeout := time.After(waitLimit)
	for len(got) < n {
		select {
		case j := <-h.acked:
			got = append(got, j)
		case <-timeout:
			h.t.Fatalf("acknowledged %v; waited for %d", keys(got), n)
		}
	}
	return got
}

// ackedSoFar returns the acknowledgements made and not yet waited for.
func (h *harness) ackedSoFar() []ports.Job {
	var got []ports.Job
	for {
		select {
		case j := <-h.acked:
			got = append(got, j)
		default:
			return got
		}
	}
}

// run starts the consumer; stop cancels it and waits until Run returns. A
// consumer still running at the end of the test is stopped first, before
// the mocks check their expectations.
func (h *harness) run() (stop func() time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	c := jobs.New(h.cfg, jobs.Deps{
		Source: h.src, Dead: h.dead, Runner: h.runner,
		Clock: h.clock, Metrics: h.metrics, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	var once sync.Once
	var took time.Duration
	stop = func() time.Duration {
		once.Do(func() {
			began := time.Now()
			cancel()
			select {
			case <-done:
				took = time.Since(began)
			case <-time.After(waitLimit):
				h.t.Errorf("Run did not return within %v of its context ending", waitLimit)
			}
		})
		return took
	}
	h.t.Cleanup(func() { stop() })
	return stop
}

// resultOf matches the results-stream entry of a job, whatever its content.
func resultOf(j ports.Job) gomock.Matcher {
	return gomock.Cond(func(r ports.JobResult) bool { return r.JobID == j.ID && r.JobKind == j.Kind })
}

// call is one call the fake runner received.
type call struct {
	Op       string // start, stop, refuse
	Kind     domain.OpKind
	GameID   string
	ImageRef string
	Reason   string
	Meta     lifecycle.Meta
	Refusal  string
}

// id is the stream entry the call carries out.
func (c call) id() string { return c.Op + "@" + c.Meta.SourceRef }

// fakeRunner stands in for the lifecycle service. It records the calls in
// the order they begin, and flags two calls of one game running at once.
// Its answer comes from do, which may block; by default a success.
type fakeRunner struct {
	mu        sync.Mutex
	calls     []call
	inside    map[string]int // calls running now, per game
	running   int            // calls running now
	maxInside int            // most calls running at once
	overlaps  []string       // games that had two calls at once
	entered   chan call      // every call as it begins, when not nil
	do        func(ctx context.Context, c call) domain.Result
}

func newFakeRunner() *fakeRunner {
	return &fakeRunner{inside: map[string]int{}}
}

// succeeded is the fake's default answer: a refusal as the lifecycle answers
// it, anything else a success.
func succeeded(c call) domain.Result {
	if c.Op == "refuse" {
		return domain.Failure(domain.CodeInvalidRequest, c.Refusal)
	}
	return domain.Result{Outcome: domain.OutcomeSuccess, ContainerID: "ctr-" + c.GameID,
		EngineEndpoint: "http://galaxy-game-" + c.GameID + ":8080"}
}

func (f *fakeRunner) enter(ctx context.Context, c call) domain.Result {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.inside[c.GameID]++
	if f.inside[c.GameID] > 1 {
		f.overlaps = append(f.overlaps, c.GameID)
	}
	f.running++
	f.maxInside = max(f.maxInside, f.running)
	do, entered := f.do, f.entered
	f.mu.Unlock()
	if entered != nil {
		entered <- c
	}
	res := succeeded(c)
	if do != nil {
		res = do(ctx, c)
	}
	f.mu.Lock()
	f.inside[c.GameID]--
	f.running--
	f.mu.Unlock()
	return res
}

func (f *fakeRunner) Start(ctx context.Context, in lifecycle.StartInput) domain.Result {
	return f.enter(ctx, call{Op: "start", Kind: domain.OpStart, GameID: in.GameID, ImageRef: in.ImageRef, Meta: in.Meta})
}

func (f *fakeRunner) Stop(ctx context.Context, in lifecycle.StopInput) domain.Result {
	return f.enter(ctx, call{Op: "stop", Kind: domain.OpStop, GameID: in.GameID, Reason: in.Reason, Meta: in.Meta})
}

func (f *fakeRunner) Refuse(ctx context.Context, kind domain.OpKind, gameID string, m lifecycle.Meta, reason string) domain.Result {
	return f.enter(ctx, call{Op: "refuse", Kind: kind, GameID: gameID, Meta: m, Refusal: reason})
}

func (f *fakeRunner) seen() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// order is the entries the runner carried out for one game, in the order
// they began.
func (f *fakeRunner) order(game string) []string {
	var out []string
	for _, c := range f.seen() {
		if c.GameID == game {
			out = append(out, c.id())
		}
	}
	return out
}

func (f *fakeRunner) stats() (maxInside int, overlaps []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxInside, slices.Clone(f.overlaps)
}

// gate blocks the calls it is asked about until it is opened.
type gate chan struct{}

func (g gate) wait(ctx context.Context) {
	select {
	case <-g:
	case <-ctx.Done():
	}
}

// waitEntered waits for the runner to begin the calls named by ids (in any
// order) and returns the calls it began meanwhile.
func waitEntered(t *testing.T, entered <-chan call, ids ...string) []call {
	t.Helper()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var got []call
	timeout := time.After(waitLimit)
	for len(want) > 0 {
		select {
		case c := <-entered:
			got = append(got, c)
			delete(want, c.id())
		case <-timeout:
			t.Fatalf("the runner never began %v (began %d others)", want, len(got))
		}
	}
	return got
}
