package jobs_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

func TestConsumerRunsAJobAnswersItThenAcknowledgesIt(t *testing.T) {
	// The entry was appended 1.5 s before the clock's now.
	ms := t0.UnixMilli() - 1500
	pos := domain.JobPosition{Ms: ms, Rank: domain.JobRankStart}
	stopPos := domain.JobPosition{Ms: ms, Rank: domain.JobRankStop}
	tests := []struct {
		name     string
		job      ports.Job
		res      domain.Result
		wantCall call
		want     ports.JobResult
	}{
		{
			name: "a start that succeeds is answered with its container and endpoint",
			job:  startJob(ms, "g-1", "galaxy/game:1.0.0"),
			res:  domain.Result{Outcome: domain.OutcomeSuccess, ContainerID: "c-9", EngineEndpoint: "http://galaxy-game-g-1:8080"},
			wantCall: call{Op: "start", Kind: domain.OpStart, GameID: "g-1", ImageRef: "galaxy/game:1.0.0",
				Meta: lifecycle.Meta{Source: domain.SourceLobbyStream, SourceRef: startJob(ms, "", "").ID, Job: &pos}},
			want: ports.JobResult{GameID: "g-1", JobID: startJob(ms, "", "").ID, JobKind: ports.JobStart,
				Outcome: domain.OutcomeSuccess, ContainerID: "c-9", EngineEndpoint: "http://galaxy-game-g-1:8080", FinishedAt: t0},
		},
		{
			name: "a start that fails is answered with its code and message",
			job:  startJob(ms, "g-2", "galaxy/game:9.9.9"),
			res:  domain.Failure(domain.CodeImagePullFailed, "pull galaxy/game:9.9.9: not found"),
			wantCall: call{Op: "start", Kind: domain.OpStart, GameID: "g-2", ImageRef: "galaxy/game:9.9.9",
				Meta: lifecycle.Meta{Source: domain.SourceLobbyStream, SourceRef: startJob(ms, "", "").ID, Job: &pos}},
			want: ports.JobResult{GameID: "g-2", JobID: startJob(ms, "", "").ID, JobKind: ports.JobStart,
				Outcome: domain.OutcomeFailure, ErrorCode: domain.CodeImagePullFailed,
				ErrorMessage: "pull galaxy/game:9.9.9: not found", FinishedAt: t0},
		},
		{
			name: "a replayed start is answered as a success with replay_no_op",
			job:  startJob(ms, "g-3", "galaxy/game:1.0.0"),
			res: domain.Result{Outcome: domain.OutcomeSuccess, ErrorCode: domain.CodeReplayNoOp,
				ContainerID: "c-3", EngineEndpoint: "http://galaxy-game-g-3:8080"},
			wantCall: call{Op: "start", Kind: domain.OpStart, GameID: "g-3", ImageRef: "galaxy/game:1.0.0",
				Meta: lifecycle.Meta{Source: domain.SourceLobbyStream, SourceRef: startJob(ms, "", "").ID, Job: &pos}},
			want: ports.JobResult{GameID: "g-3", JobID: startJob(ms, "", "").ID, JobKind: ports.JobStart,
				Outcome: domain.OutcomeSuccess, ErrorCode: domain.CodeReplayNoOp,
				ContainerID: "c-3", EngineEndpoint: "http://galaxy-game-g-3:8080", FinishedAt: t0},
		},
		{
			name: "a stop is run with its reason and answered",
			job:  stopJob(ms, "g-4", "cancelled"),
			res:  domain.Result{Outcome: domain.OutcomeSuccess, ContainerID: "c-4"},
			wantCall: call{Op: "stop", Kind: domain.OpStop, GameID: "g-4", Reason: "cancelled",
				Meta: lifecycle.Meta{Source: domain.SourceLobbyStream, SourceRef: stopJob(ms, "", "").ID, Job: &stopPos}},
			want: ports.JobResult{GameID: "g-4", JobID: stopJob(ms, "", "").ID, JobKind: ports.JobStop,
				Outcome: domain.OutcomeSuccess, ContainerID: "c-4", FinishedAt: t0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.allowHeartbeat()
			h.runner.do = func(context.Context, call) domain.Result { return tc.res }
			gomock.InOrder(
				h.src.EXPECT().Answer(gomock.Any(), tc.job, tc.want).DoAndReturn(h.answer),
				h.metrics.EXPECT().JobDone(tc.job.Kind, tc.res.Outcome, tc.res.ErrorCode, 1500*time.Millisecond),
			)
			h.batches <- []ports.Job{tc.job}
			stop := h.run()

			h.waitAcked(1)
			stop()

			calls := h.runner.seen()
			if len(calls) != 1 {
				t.Fatalf("runner calls = %+v, want one", calls)
			}
			got := calls[0]
			if got.Meta.Job == nil || *got.Meta.Job != *tc.wantCall.Meta.Job {
				t.Errorf("Meta.Job = %v, want the entry's position %v", got.Meta.Job, *tc.wantCall.Meta.Job)
			}
			got.Meta.Job, tc.wantCall.Meta.Job = nil, nil
			if got != tc.wantCall {
				t.Errorf("runner call = %+v, want %+v", got, tc.wantCall)
			}
		})
	}
}

func TestConsumerRefusesAMalformedEntry(t *testing.T) {
	bigStart := startJob(1, "g-1", "galaxy/game:1.0.0")
	bigStart.Fields["padding"] = strings.Repeat("x", 64<<10)
	noRef := startJob(1, "g-1", "")
	delete(noRef.Fields, "image_ref")
	noGame := stopJob(2, "", "finished")
	delete(noGame.Fields, "game_id")
	tests := []struct {
		name string
		job  ports.Job
		// game is the game the answer names; "" when the entry must not be answered.
		game     string
		kind     domain.OpKind
		wantWhy  string // what the refusal must name
		wantCode domain.ErrorCode
	}{
		{name: "a start without image_ref is refused in its game's name, answered, dead-lettered, acknowledged",
			job: noRef, game: "g-1", kind: domain.OpStart, wantWhy: "image_ref is missing"},
		{name: "a stop with an unknown reason is refused in its game's name, answered, dead-lettered, acknowledged",
			job: stopJob(3, "g-2", "bored"), game: "g-2", kind: domain.OpStop, wantWhy: `reason "bored"`},
		{name: "an entry with an unusable game id is dead-lettered and acknowledged, unanswered",
			job: startJob(4, "g.1", "galaxy/game:1.0.0"), wantWhy: `game_id "g.1" is invalid`},
		{name: "an entry without game_id is dead-lettered and acknowledged, unanswered",
			job: noGame, wantWhy: "game_id is missing"},
		{name: "an entry over 64 KiB is dead-lettered unanswered though its game id is valid",
			job: bigStart, wantWhy: "a job may carry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.allowHeartbeat()
			why := gomock.Cond(func(s string) bool { return strings.Contains(s, tc.wantWhy) })
			var deadReason string
			steps := []any{
				h.dead.EXPECT().DeadLetter(gomock.Any(), tc.job, why).DoAndReturn(func(_ context.Context, _ ports.Job, reason string) error {
					deadReason = reason
					return nil
				}),
				h.metrics.EXPECT().JobDeadLettered(tc.job.Kind),
			}
			if tc.game != "" {
				steps = append(steps, h.src.EXPECT().Answer(gomock.Any(), tc.job, gomock.Cond(func(r ports.JobResult) bool {
					return r.GameID == tc.game && r.JobID == tc.job.ID && r.JobKind == tc.job.Kind &&
						r.Outcome == domain.OutcomeFailure && r.ErrorCode == domain.CodeInvalidRequest &&
						strings.Contains(r.ErrorMessage, tc.wantWhy) && r.ContainerID == "" && r.EngineEndpoint == "" &&
						r.FinishedAt.Equal(t0)
				})).DoAndReturn(h.answer))
			} else {
				steps = append(steps, h.src.EXPECT().Ack(gomock.Any(), tc.job).DoAndReturn(h.ack))
			}
			steps = append(steps,
				h.metrics.EXPECT().JobDone(tc.job.Kind, domain.OutcomeFailure, domain.CodeInvalidRequest, gomock.Any()))
			gomock.InOrder(steps...)
			h.batches <- []ports.Job{tc.job}
			stop := h.run()

			h.waitAcked(1)
			stop()

			calls := h.runner.seen()
			if tc.game == "" {
				if len(calls) != 0 {
					t.Errorf("runner calls = %+v, want none for an entry naming no usable game", calls)
				}
				return
			}
			want := call{Op: "refuse", Kind: tc.kind, GameID: tc.game, Refusal: deadReason,
				Meta: lifecycle.Meta{Source: domain.SourceLobbyStream, SourceRef: tc.job.ID}}
			if len(calls) != 1 || calls[0] != want {
				t.Errorf("runner calls = %+v, want only %+v (the refusal the dead letter keeps)", calls, want)
			}
		})
	}
}

func TestConsumerRunsAJobAgainWhileTheServiceIsUnavailable(t *testing.T) {
	unavailable := domain.Failure(domain.CodeServiceUnavailable, "postgres: connection refused")
	tests := []struct {
		name    string
		answers []domain.Result // the runner's answers, attempt by attempt
	}{
		{name: "a second attempt that succeeds is the one answered",
			answers: []domain.Result{unavailable, {Outcome: domain.OutcomeSuccess, ContainerID: "c-1"}}},
		{name: "a failure after two outages is the one answered",
			answers: []domain.Result{unavailable, unavailable, domain.Failure(domain.CodeConflict, "busy")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.allowHeartbeat()
			var mu sync.Mutex
			attempt := 0
			h.runner.do = func(context.Context, call) domain.Result {
				mu.Lock()
				defer mu.Unlock()
				attempt++
				if attempt > len(tc.answers) {
					t.Errorf("attempt %d, want %d at most", attempt, len(tc.answers))
					return tc.answers[len(tc.answers)-1]
				}
				return tc.answers[attempt-1]
			}
			job := startJob(7, "g-1", "galaxy/game:1.0.0")
			final := tc.answers[len(tc.answers)-1]
			gomock.InOrder(
				h.src.EXPECT().Answer(gomock.Any(), job, gomock.Cond(func(r ports.JobResult) bool {
					return r.JobID == job.ID && r.Outcome == final.Outcome && r.ErrorCode == final.ErrorCode &&
						r.ErrorMessage == final.ErrorMessage && r.ContainerID == final.ContainerID
				})).DoAndReturn(h.answer),
				h.metrics.EXPECT().JobDone(ports.JobStart, final.Outcome, final.ErrorCode, gomock.Any()),
			)
			h.batches <- []ports.Job{job}
			stop := h.run()

			h.waitAcked(1)
			stop()

			calls := h.runner.seen()
			if len(calls) != len(tc.answers) {
				t.Fatalf("runner ran the job %d times, want %d", len(calls), len(tc.answers))
			}
			for _, c := range calls[1:] {
				if c.id() != calls[0].id() || *c.Meta.Job != *calls[0].Meta.Job || c.ImageRef != calls[0].ImageRef {
					t.Errorf("attempt %+v differs from the first %+v", c, calls[0])
				}
			}
		})
	}
}

func TestConsumerKeepsAJobPendingWhileItsAnswerCannotBeWritten(t *testing.T) {
	h := newHarness(t)
	h.cfg.Drain = 300 * time.Millisecond
	h.allowHeartbeat()
	job := startJob(1, "g-1", "galaxy/game:1.0.0")
	var mu sync.Mutex
	tries := 0
	retried := make(chan struct{})
	h.src.EXPECT().Answer(gomock.Any(), job, resultOf(job)).DoAndReturn(func(context.Context, ports.Job, ports.JobResult) error {
		mu.Lock()
		defer mu.Unlock()
		tries++
		if tries == 2 {
			close(retried)
		}
		return errors.New("redis: connection refused")
	}).MinTimes(2)
	// No Ack, no JobDone, no HandBack: the strict mocks fail on any of them;
	// the job stays pending for whoever reclaims it.
	h.batches <- []ports.Job{job}
	stop := h.run()

	select {
	case <-retried:
	case <-time.After(waitLimit):
		t.Fatal("the answer was not tried twice")
	}
	stop()

	if calls := h.runner.seen(); len(calls) != 1 {
		t.Errorf("runner ran the job %d times; a failed answer must not run it again", len(calls))
	}
}

func TestConsumerRetriesAFailedAnswerWithoutRunningTheJobAgain(t *testing.T) {
	h := newHarness(t)
	h.allowHeartbeat()
	job := stopJob(1, "g-1", "finished")
	gomock.InOrder(
		h.src.EXPECT().Answer(gomock.Any(), job, resultOf(job)).Return(errors.New("redis: i/o timeout")),
		h.src.EXPECT().Answer(gomock.Any(), job, resultOf(job)).DoAndReturn(h.answer),
		h.metrics.EXPECT().JobDone(ports.JobStop, domain.OutcomeSuccess, domain.CodeNone, gomock.Any()),
	)
	h.batches <- []ports.Job{job}
	stop := h.run()

	h.waitAcked(1)
	stop()
}

func TestConsumerReadsAgainAfterAFailedRead(t *testing.T) {
	h := newHarness(t)
	h.allowHeartbeat()
	h.failReads = 2
	job := startJob(1, "g-1", "galaxy/game:1.0.0")
	h.expectAnswered(job)
	h.batches <- []ports.Job{job}
	stop := h.run()

	h.waitAcked(1)
	stop()
	if n := len(h.runner.seen()); n != 1 {
		t.Errorf("runner ran %d jobs, want the one read after the outage", n)
	}
}

func TestConsumerRunsOneGamesJobsOneAtATimeInPositionOrder(t *testing.T) {
	h := newHarness(t)
	h.cfg.Concurrency = 4
	h.allowHeartbeat()
	// The first batch is out of order; the second arrives while the game's
	// first job runs and its others wait.
	batch1 := []ports.Job{stopJob(5, "g", "finished"), startJob(3, "g", "r:1"), startJob(4, "h", "r:1"), startJob(1, "g", "r:1")}
	batch2 := []ports.Job{startJob(7, "g", "r:2"), stopJob(6, "g", "cancelled"), stopJob(8, "h", "finished")}
	h.expectAnswered(append(slices.Clone(batch1), batch2...)...)
	first := h.holdAt("start@1-0")
	h.batches <- batch1
	h.run()

	waitEntered(t, h.runner.entered, "start@1-0")
	h.batches <- batch2
	// h's second job runs once the whole second batch is queued.
	waitEntered(t, h.runner.entered, "stop@8-0")
	close(first)
	h.waitAcked(len(batch1) + len(batch2))

	if got, want := h.runner.order("g"), []string{"start@1-0", "start@3-0", "stop@5-0", "stop@6-0", "start@7-0"}; !slices.Equal(got, want) {
		t.Errorf("game g ran %v, want %v", got, want)
	}
	if got, want := h.runner.order("h"), []string{"start@4-0", "stop@8-0"}; !slices.Equal(got, want) {
		t.Errorf("game h ran %v, want %v", got, want)
	}
	if _, overlaps := h.runner.stats(); len(overlaps) > 0 {
		t.Errorf("games %v had two jobs running at once", overlaps)
	}
}

// A start written in the same millisecond as a stop of the game, but after
// it, has the earlier position (start jobs first) though it is read later:
// it joins the game's lane before the queued stop, so neither is overtaken.
func TestConsumerQueuesAJobReadLaterBeforeAQueuedJobItPrecedes(t *testing.T) {
	h := newHarness(t)
	h.cfg.Concurrency = 4 // room to read on while the first job runs
	h.allowHeartbeat()
	// While the game's first start runs, its stop at 5 is queued; the start
	// at 5 (on the start stream: position 5, start, 0) arrives with the next
	// read.
	batch1 := []ports.Job{startJob(1, "g", "r:1"), stopJob(5, "g", "finished")}
	batch2 := []ports.Job{startJob(5, "g", "r:1")}
	h.expectAnswered(append(slices.Clone(batch1), batch2...)...)
	first := h.holdAt("start@1-0")
	h.batches <- batch1
	h.run()

	waitEntered(t, h.runner.entered, "start@1-0")
	h.batches <- batch2
	h.afterTaken()
	close(first)
	h.waitAcked(len(batch1) + len(batch2))

	if got, want := h.runner.order("g"), []string{"start@1-0", "start@5-0", "stop@5-0"}; !slices.Equal(got, want) {
		t.Errorf("game g ran %v, want %v", got, want)
	}
}

// A read returns up to its count of new entries per stream: a stream that
// filled its share may have more entries waiting, which may come before a
// job of the other stream that was read. That job waits for the next read.
func TestConsumerHoldsBackAJobThatAnUnreadEntryMayPrecede(t *testing.T) {
	h := newHarness(t)
	h.cfg.Concurrency = 2 // reads 4 entries per stream at first
	h.allowHeartbeat()
	// The stop stream fills its share of 4; the start of g at 10 is read, the
	// stop of g at 7 is not yet: it comes with the next read.
	batch1 := []ports.Job{stopJob(1, "a", "finished"), stopJob(2, "b", "finished"), stopJob(3, "c", "finished"),
		stopJob(4, "d", "finished"), startJob(10, "g", "r:1")}
	batch2 := []ports.Job{stopJob(7, "g", "cancelled")}
	h.expectAnswered(append(slices.Clone(batch1), batch2...)...)
	busy := make(gate)
	h.runner.entered = make(chan call, 64)
	h.runner.do = func(ctx context.Context, c call) domain.Result {
		if c.GameID != "g" {
			busy.wait(ctx)
		}
		return succeeded(c)
	}
	h.batches <- batch1
	h.batches <- batch2
	h.run()

	// Both workers are busy with the first stops while the start waits.
	waitEntered(t, h.runner.entered, "stop@1-0", "stop@2-0")
	close(busy)
	h.waitAcked(len(batch1) + len(batch2))

	if got := h.runner.order("g"); !slices.Equal(got, []string{"stop@7-0", "start@10-0"}) {
		t.Errorf("game g ran %v, want its stop at 7 before its start at 10", got)
	}
	if counts := h.readCounts(); len(counts) == 0 || counts[0] != 4 {
		t.Errorf("reads that returned entries asked for %v; the first must ask for 4", counts)
	}
}

// Held jobs wait for room to read what may precede them, but not forever:
// when they alone fill the consumer, it reads past its capacity, and a read
// that brings nothing new lets them run.
func TestConsumerRunsHeldJobsWhenNothingElseCanMakeRoom(t *testing.T) {
	h := newHarness(t)
	h.cfg.Concurrency = 1 // reads 2 entries per stream at first
	h.allowHeartbeat()
	// The stop stream fills its share of 2; both starts are held, and with
	// them the consumer holds its capacity of 2 once the stops are done.
	batch := []ports.Job{stopJob(1, "a", "finished"), stopJob(2, "b", "finished"), startJob(10, "g", "r:1"), startJob(11, "h", "r:1")}
	h.expectAnswered(batch...)
	h.batches <- batch
	h.run()

	// One worker takes the games in position order.
	if got, want := keys(h.waitAcked(len(batch))), keys(batch); !slices.Equal(got, want) {
		t.Errorf("acknowledged %v, want %v", got, want)
	}
}

func TestConsumerRunsDifferentGamesAtOnceUpToItsConcurrency(t *testing.T) {
	for _, concurrency := range []int{2, 3, 4} {
		t.Run(strconv.Itoa(concurrency)+" workers run "+strconv.Itoa(concurrency)+" games at once, never more", func(t *testing.T) {
			h := newHarness(t)
			h.cfg.Concurrency = concurrency
			h.allowHeartbeat()
			// One read brings twice as many games as there are workers.
			var batch []ports.Job
			for i := range 2 * concurrency {
				batch = append(batch, startJob(int64(i+1), "g"+strconv.Itoa(i), "r:1"))
			}
			h.expectAnswered(batch...)
			full := make(gate)
			h.runner.entered = make(chan call, 64)
			h.runner.do = func(ctx context.Context, c call) domain.Result {
				full.wait(ctx)
				return succeeded(c)
			}
			h.batches <- batch
			h.run()

			waitEntered(t, h.runner.entered, keys(batch[:concurrency])...)
			// All workers are blocked now; a worker too many would begin
			// another job. The window only lets it show itself.
			select {
			case c := <-h.runner.entered:
				t.Errorf("job %s began while %d others ran", c.id(), concurrency)
			case <-time.After(50 * time.Millisecond):
			}
			close(full)
			h.waitAcked(len(batch))

			maxInside, overlaps := h.runner.stats()
			if maxInside != concurrency {
				t.Errorf("at most %d jobs ran at once, want %d", maxInside, concurrency)
			}
			if len(overlaps) > 0 {
				t.Errorf("games %v had two jobs at once", overlaps)
			}
		})
	}
}

func TestConsumerShutdownHandsBackQueuedJobsAndDrainsRunningOnes(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		batch       []ports.Job
		running     []string // blocked in the runner when the consumer is stopped
		handedBack  []string
	}{
		{name: "the game's jobs behind its running one are handed back",
			concurrency: 2,
			batch:       []ports.Job{startJob(1, "g", "r:1"), stopJob(2, "g", "finished"), startJob(3, "g", "r:2")},
			running:     []string{"start@1-0"},
			handedBack:  []string{"stop@2-0", "start@3-0"}},
		{name: "games waiting for a worker and a job held for the next read are handed back",
			concurrency: 2,
			batch: []ports.Job{stopJob(1, "a", "finished"), stopJob(2, "b", "finished"), stopJob(3, "c", "finished"),
				stopJob(4, "d", "finished"), startJob(10, "g", "r:1")},
			running:    []string{"stop@1-0", "stop@2-0"},
			handedBack: []string{"stop@3-0", "stop@4-0", "start@10-0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.cfg.Concurrency = tc.concurrency
			h.allowHeartbeat()
			var running []ports.Job
			for _, j := range tc.batch {
				if slices.Contains(tc.running, key(j)) {
					running = append(running, j)
				}
			}
			h.expectAnswered(running...)
			release := make(gate)
			h.runner.entered = make(chan call, 64)
			h.runner.do = func(ctx context.Context, c call) domain.Result {
				release.wait(ctx)
				return succeeded(c)
			}
			var handed []ports.Job
			handedBack := make(chan struct{})
			h.src.EXPECT().HandBack(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, js []ports.Job) error {
				handed = slices.Clone(js)
				close(handedBack)
				return nil
			})
			h.batches <- tc.batch
			stop := h.run()

			waitEntered(t, h.runner.entered, tc.running...)
			stopped := make(chan time.Duration, 1)
			go func() { stopped <- stop() }()
			select {
			case <-handedBack:
			case <-time.After(waitLimit):
				t.Fatal("nothing was handed back")
			}
			close(release) // the running jobs finish only after the hand-back
			took := <-stopped

			got := keys(handed)
			slices.Sort(got)
			want := slices.Clone(tc.handedBack)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("handed back %v, want %v", got, want)
			}
			if acked := keys(h.ackedSoFar()); len(acked) != len(running) {
				t.Errorf("acknowledged %v, want the running %v", acked, tc.running)
			}
			if took >= h.cfg.Drain {
				t.Errorf("Run took %v to return, the whole drain time; the running jobs had finished", took)
			}
			for _, c := range h.runner.seen() {
				if !slices.Contains(tc.running, c.id()) {
					t.Errorf("the runner began %s after it was handed back", c.id())
				}
			}
		})
	}
}

// After missed heartbeats (Redis away longer than the claim idle time) a
// read may reclaim a job this consumer still runs; it must not run twice.
func TestConsumerDoesNotRunAJobItReclaimedFromItself(t *testing.T) {
	h := newHarness(t)
	h.allowHeartbeat()
	job := startJob(1, "g", "galaxy/game:1.0.0")
	h.expectAnswered(job)
	running := h.holdAt("start@1-0")
	h.batches <- []ports.Job{job}
	h.run()
	waitEntered(t, h.runner.entered, "start@1-0")

	again := job
	again.Reclaimed = true
	h.batches <- []ports.Job{again}
	h.afterTaken() // while the job still runs
	close(running)
	h.waitAcked(1)

	if n := len(h.runner.seen()); n != 1 {
		t.Errorf("the job ran %d times, want once", n)
	}
}
