// Package coalesce gathers calls that arrive while one is on the wire into a
// single round trip. A PostgreSQL statement or a Redis command costs little
// to run and a lot to send: on loopback most of a call's CPU is the two
// system calls and the wake-ups around them, and a commit costs one WAL
// flush whatever it holds. When many jobs run at once they all make the same
// few calls (take a lease, append a row, publish a result), so those calls
// share their round trips here: the first caller sends its call at once; the
// callers that come while it is on the wire wait, and go together in the
// next batch. A lone caller pays nothing extra — it never waits for company.
package coalesce

import (
	"context"
	"sync"
)

// Group runs calls of one kind in batches.
type Group[In, Out any] struct {
	// run carries out a batch; it sets each call's result. It must not keep
	// the slice.
	run func(calls []*Call[In, Out])
	max int

	mu    sync.Mutex
	queue []*Call[In, Out]
	busy  bool // a caller is leading: running batches until the queue is empty
}

// Call is one caller's part of a batch.
type Call[In, Out any] struct {
	In  In
	Out Out
	Err error

	done bool
	// wake tells a waiting caller that its call is done (false) or that it
	// leads now (true). It is sent at most once, so it never blocks.
	wake chan bool
}

// New returns a group whose batches hold at most size calls, carried out by run.
func New[In, Out any](size int, run func(calls []*Call[In, Out])) *Group[In, Out] {
	return &Group[In, Out]{run: run, max: max(size, 1)}
}

// Do makes one call and returns its result. If no batch is on the wire, the
// caller leads: it runs the batch holding its call. Otherwise it waits; when
// the leader's batch is done, the first caller still waiting takes the lead
// with everything queued behind it. A call whose ctx has already ended is not
// made; a call is never abandoned once queued (a lease taken for a caller
// that left would be stranded), so a run must bound its own time.
func (g *Group[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	if err := ctx.Err(); err != nil {
		var zero Out
		return zero, err
	}
	c := &Call[In, Out]{In: in, wake: make(chan bool, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	leading := !g.busy
	g.busy = true
	g.mu.Unlock()
	if !leading {
		if leading = <-c.wake; !leading {
			return c.Out, c.Err
		}
	}
	for !c.done {
		g.runNext(c)
	}
	g.handOff()
	return c.Out, c.Err
}

// runNext runs the batch at the head of the queue and wakes its callers,
// except the leader, who is running it.
func (g *Group[In, Out]) runNext(leader *Call[In, Out]) {
	g.mu.Lock()
	n := min(len(g.queue), g.max)
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()
	g.run(batch)
	for _, c := range batch {
		c.done = true
		if c != leader {
			c.wake <- false
		}
	}
}

// handOff passes the lead to the first caller still waiting, if any.
func (g *Group[In, Out]) handOff() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		g.busy = false
		return
	}
	g.queue[0].wake <- true
}
