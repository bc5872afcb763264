// Package jobs is Game Lobby's transport (contract §6): it reads start and
// stop jobs from the job streams through the consumer group, hands each to
// the lifecycle service and answers it on the results stream. Jobs of
// different games run concurrently; jobs of one game run one after another in
// the order of their positions (domain.JobPosition), and the lifecycle's job
// fence keeps that order across instances. An entry is acknowledged only
// after its answer is published, so a crash loses nothing: what a dead
// consumer held is reclaimed by another after the claim idle time, and what
// this one holds is kept claimed by a heartbeat while it runs.
//
// Files: consumer.go (reading, ordering, dispatch, shutdown), handle.go (one
// job, from decoding to acknowledgement), heartbeat.go, decode.go.
package jobs

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

// Runner is what the consumer hands jobs to: the lifecycle service.
type Runner interface {
	Start(ctx context.Context, in lifecycle.StartInput) domain.Result
	Stop(ctx context.Context, in lifecycle.StopInput) domain.Result
	Refuse(ctx context.Context, kind domain.OpKind, gameID string, m lifecycle.Meta, reason string) domain.Result
}

// Config tunes the consumer.
type Config struct {
	// Concurrency bounds the games with a job in flight (RTMANAGER_JOB_CONCURRENCY).
	Concurrency int
	// ClaimIdle is how long an entry may stay idle before another consumer
	// reclaims it (RTMANAGER_STREAM_CLAIM_IDLE); the heartbeat runs three
	// times within it.
	ClaimIdle time.Duration
	// Block is how long one read waits for new entries. A blocked read does
	// not notice shutdown, so it stays short.
	Block time.Duration
	// Drain is how long a shutdown lets jobs in flight finish (RTMANAGER_SHUTDOWN_TIMEOUT).
	Drain time.Duration
}

// Deps are the ports the consumer works through.
type Deps struct {
	Source  ports.JobSource
	Dead    ports.DeadLetters
	Runner  Runner
	Clock   ports.Clock
	Metrics ports.Metrics
	Logger  *slog.Logger
}

// Consumer runs Lobby's jobs.
type Consumer struct {
	cfg Config
	d   Deps

	mu    sync.Mutex
	lanes map[string]*lane // one per game with jobs queued or running
	held  []job            // read, but possibly ahead of entries not read yet
	owned int              // jobs delivered to us and not yet finished
	freed chan struct{}    // signalled when a job finishes
	ready chan *lane       // lanes waiting for a worker
	// beating is held across each heartbeat and across the hand-back, so a
	// heartbeat in flight cannot reset the idle time of jobs just handed back.
	beating sync.Mutex
}

// lane is the queue of one game's jobs; one worker at a time runs it.
type lane struct {
	gameID  string
	queue   []job
	current *job // the job running now, if any
}

// New builds a consumer; Run starts it.
func New(cfg Config, d Deps) *Consumer {
	cfg.Concurrency = max(cfg.Concurrency, 1)
	if cfg.Block <= 0 {
		cfg.Block = time.Second
	}
	if cfg.ClaimIdle <= 0 {
		cfg.ClaimIdle = time.Minute
	}
	return &Consumer{cfg: cfg, d: d, lanes: map[string]*lane{}, freed: make(chan struct{}, 1)}
}

// Run consumes jobs until ctx ends. Then it stops reading, hands back the
// jobs it holds but has not started, and lets the ones in flight finish
// within Drain; a job cut off by the drain is left pending, unanswered, for
// another instance. Run returns when the drain is over.
func (c *Consumer) Run(ctx context.Context) {
	work, cut := context.WithCancel(context.WithoutCancel(ctx))
	defer cut()
	// Lanes are few — at most one per job held — so the channel never blocks.
	c.ready = make(chan *lane, 4*c.capacity()+16)
	var workers, beat sync.WaitGroup
	for range c.cfg.Concurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			c.work(work)
		}()
	}
	beat.Add(1)
	go func() {
		defer beat.Done()
		c.heartbeat(work)
	}()

	c.read(ctx)

	c.handBack(work)
	close(c.ready)
	drained := make(chan struct{})
	go func() {
		workers.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(c.cfg.Drain):
		c.d.Logger.Warn("shutdown: jobs still in flight after the drain time; they stay pending for another instance")
	}
	cut()
	beat.Wait()
}

// capacity is how many jobs the consumer holds at most before it reads more:
// enough to keep every worker busy and the next batch ready.
func (c *Consumer) capacity() int { return 2 * c.cfg.Concurrency }

// readAt is the room a read waits for: half the capacity.
func (c *Consumer) readAt() int { return max(1, c.capacity()/2) }

// read is the reading loop: it reads while there is room, orders each batch
// and dispatches it; on a Redis outage it backs off and tries again.
func (c *Consumer) read(ctx context.Context) {
	var fails int
	for ctx.Err() == nil {
		c.mu.Lock()
		room, held, owned := c.capacity()-c.owned, len(c.held), c.owned
		c.mu.Unlock()
		if room < c.readAt() {
			// Reads wait for half the capacity to be free, so each read
			// brings a batch instead of a job or two (a read costs three
			// Redis calls). A read that holds jobs back filled a stream's
			// share, so it leaves no room either: wait for the jobs in
			// flight to make some.
			if held == 0 || held < owned {
				select {
				case <-ctx.Done():
				case <-c.freed:
				}
				continue
			}
			// Only the held jobs fill the consumer, so nothing will make room
			// to read what they wait for. Running them now could run a stop
			// before a start it follows (that start then answered
			// "superseded"); read what they wait for instead, past the
			// capacity if need be. Each such read brings the entries that
			// precede them, and a read that fills no stream's share lets
			// them all go.
			room = c.readAt()
		}
		block := c.cfg.Block
		if held > 0 {
			block = 0
		}
		read, err := c.d.Source.Read(ctx, room, block)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			fails++
			c.d.Logger.Warn("read jobs failed; retrying", "err", err, "attempt", fails)
			sleep(ctx, backoff(fails))
			continue
		}
		fails = 0
		c.take(read, room)
	}
}

// take decodes a batch, keeps back the jobs that entries not yet read could
// precede, and dispatches the rest in position order.
func (c *Consumer) take(read ports.Batch, count int) {
	raws := read.Jobs
	batch := make([]job, 0, len(raws))
	reclaimed := 0
	var mine map[ports.JobKey]bool // what this consumer holds, looked up only for reclaimed entries
	for _, r := range raws {
		if !r.Reclaimed {
			batch = append(batch, decode(r))
			continue
		}
		reclaimed++
		if mine == nil {
			mine = make(map[ports.JobKey]bool)
			for _, h := range c.holding() {
				mine[h.Key()] = true
			}
		}
		if mine[r.Key()] {
			// Reclaimed from this very consumer: it missed its heartbeats
			// (Redis was away) and still holds the job; do not run it twice.
			continue
		}
		batch = append(batch, decode(r))
	}
	c.mu.Lock()
	c.owned += len(batch)
	for _, h := range c.held {
		h.carried = true
		batch = append(batch, h)
	}
	c.held = nil
	c.mu.Unlock()
	slices.SortStableFunc(batch, func(a, b job) int { return a.pos.Compare(b.pos) })

	ready, held := holdBack(batch, count-reclaimed, read.Complete)
	c.mu.Lock()
	c.held = held
	c.mu.Unlock()
	c.release(ready)
}

// holdBack splits a sorted batch into the jobs that may run and those held
// until a later read tells what entries not yet read lie between:
//   - a stream that filled its share of a read (newCount new entries) may
//     have more entries waiting, and those come after its last one read;
//     jobs of the other stream placed beyond that are held;
//   - a stop job of a millisecond the read cannot vouch for (complete, Redis's
//     clock before the read, is not past it) is held with what follows it: a
//     start of its game appended in that millisecond, after the read, comes
//     first (contract §6: start jobs first), so running the stop now would
//     answer that start "superseded". The next read, a millisecond later at
//     most, settles it. A stop more than aheadOfClock past complete had its
//     id chosen by its writer, not by Redis's clock; holding it would stall
//     it (and what follows) until that time, so it is not held.
func holdBack(batch []job, newCount int, complete int64) (ready, held []job) {
	cut := len(batch)
	if newCount > 0 {
		cut = filledCut(batch, newCount)
	}
	if complete > 0 {
		for i, j := range batch[:cut] {
			if !j.raw.Reclaimed && j.pos.Rank == domain.JobRankStop &&
				j.pos.Ms >= complete && j.pos.Ms-complete <= aheadOfClock.Milliseconds() {
				cut = i
				break
			}
		}
	}
	if cut == len(batch) {
		return batch, nil
	}
	return batch[:cut], slices.Clone(batch[cut:])
}

// aheadOfClock bounds how far past the read's start an entry appended
// during it can be: a read blocks for a second by default (Config.Block).
const aheadOfClock = 5 * time.Second

// filledCut is where the first rule of holdBack cuts the batch (its length
// when nothing is held). Reclaimed entries, jobs carried from an earlier read
// and undecodable ones take no part: only this read's entries fill a share.
func filledCut(batch []job, newCount int) int {
	var n [2]int
	var last [2]domain.JobPosition
	for _, j := range batch {
		if j.raw.Reclaimed || j.carried || j.pos.Rank < 0 || j.pos.Rank > 1 {
			continue
		}
		n[j.pos.Rank]++
		last[j.pos.Rank] = j.pos
	}
	horizon, bounded := domain.JobPosition{}, false
	for r := range n {
		if n[r] >= newCount && (!bounded || last[r].Compare(horizon) < 0) {
			horizon, bounded = last[r], true
		}
	}
	if !bounded {
		return len(batch)
	}
	for i, j := range batch {
		if j.pos.Compare(horizon) > 0 {
			return i
		}
	}
	return len(batch)
}

// release queues jobs on their games' lanes, each at its position; a game
// without a lane gets one, which waits for a worker.
//
// A job read later may still come first: a start written in the same
// millisecond as a stop of the game already read, but after it, has the
// earlier position (contract §6: start jobs first). Appending it would run
// the stop first and leave the start overtaken ("superseded"), on a single
// instance, although neither had begun.
func (c *Consumer) release(jobs []job) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, j := range jobs {
		if l, ok := c.lanes[j.gameID]; ok {
			at := slices.IndexFunc(l.queue, func(q job) bool { return q.pos.Compare(j.pos) > 0 })
			if at < 0 {
				at = len(l.queue)
			}
			l.queue = slices.Insert(l.queue, at, j)
			continue
		}
		l := &lane{gameID: j.gameID, queue: []job{j}}
		c.lanes[j.gameID] = l
		c.ready <- l
	}
}

// work runs lanes until the ready channel closes: each lane's jobs one after
// another until it is empty.
func (c *Consumer) work(ctx context.Context) {
	for l := range c.ready {
		for {
			c.mu.Lock()
			if len(l.queue) == 0 {
				delete(c.lanes, l.gameID)
				c.mu.Unlock()
				break
			}
			j := l.queue[0]
			l.queue = l.queue[1:]
			l.current = &j
			c.mu.Unlock()

			c.handle(ctx, j)
			c.mu.Lock()
			l.current = nil
			c.mu.Unlock()
			c.finished(1)
		}
	}
}

func (c *Consumer) finished(n int) {
	c.mu.Lock()
	c.owned -= n
	c.mu.Unlock()
	select {
	case c.freed <- struct{}{}:
	default:
	}
}

// handBack gives up every job held but not started, so another instance takes
// it at once instead of after the claim idle time.
func (c *Consumer) handBack(ctx context.Context) {
	c.beating.Lock()
	defer c.beating.Unlock()
	c.mu.Lock()
	jobs := c.held
	c.held = nil
	for _, l := range c.lanes {
		jobs = append(jobs, l.queue...)
		l.queue = nil
	}
	c.mu.Unlock()
	if len(jobs) == 0 {
		return
	}
	raws := make([]ports.Job, len(jobs))
	for i, j := range jobs {
		raws[i] = j.raw
	}
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.d.Source.HandBack(hctx, raws); err != nil {
		c.d.Logger.Warn("shutdown: hand back unstarted jobs failed; they are reclaimed after the claim idle time",
			"jobs", len(raws), "err", err)
	} else {
		c.d.Logger.Info("shutdown: handed back unstarted jobs", "jobs", len(raws))
	}
	c.finished(len(jobs))
}

// backoff is the wait before retry n (from 1) of something that failed for
// want of Redis or PostgreSQL: 100 ms doubling to 5 s, with jitter so
// instances do not retry in step.
func backoff(n int) time.Duration {
	d := 100 * time.Millisecond << min(n-1, 6)
	d = min(d, 5*time.Second)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends; it reports whether the wait was complete.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
