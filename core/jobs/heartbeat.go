package jobs

import (
	"context"
	"time"

	"github.com/galaxy/rtmanager/core/internal/sweep"
	"github.com/galaxy/rtmanager/ports"
)

// heartbeat keeps every job this consumer holds claimed, three times per
// claim idle time, so that no other instance reclaims a job while it waits or
// runs here, however long it takes. A job reported lost was reclaimed by
// another consumer (this one missed its heartbeats, e.g. during a Redis
// outage): if it has not started it is dropped here, since its new owner runs
// it; if it is running it finishes, and the fence and the replay rules make
// the second run harmless. Each beat also refreshes the pending gauge.
func (c *Consumer) heartbeat(ctx context.Context) {
	every := max(c.cfg.ClaimIdle/3, 10*time.Millisecond)
	sweep.Every(ctx, every, func(ctx context.Context) { c.beat(ctx, every) })
}

func (c *Consumer) beat(ctx context.Context, every time.Duration) {
	c.beating.Lock()
	defer c.beating.Unlock()
	bctx, cancel := context.WithTimeout(ctx, every)
	defer cancel()
	held := c.holding()
	if len(held) > 0 {
		lost, err := c.d.Source.Touch(bctx, held)
		if err != nil {
			c.d.Logger.Warn("heartbeat failed; jobs held here may be reclaimed by another instance", "jobs", len(held), "err", err)
		} else if len(lost) > 0 {
			c.drop(lost)
		}
	}
	if n, err := c.d.Source.Pending(bctx); err == nil {
		c.d.Metrics.JobsPending(n)
	}
}

// holding lists every job delivered to this consumer and not finished.
func (c *Consumer) holding() []ports.Job {
	c.mu.Lock()
	defer c.mu.Unlock()
	jobs := make([]ports.Job, 0, c.owned)
	for _, j := range c.held {
		jobs = append(jobs, j.raw)
	}
	for _, l := range c.lanes {
		if l.current != nil {
			jobs = append(jobs, l.current.raw)
		}
		for _, j := range l.queue {
			jobs = append(jobs, j.raw)
		}
	}
	return jobs
}

// drop forgets jobs another consumer now owns, unless they already run.
func (c *Consumer) drop(lost []ports.Job) {
	gone := make(map[ports.JobKey]bool, len(lost))
	for _, j := range lost {
		gone[j.Key()] = true
	}
	keep := func(list []job) ([]job, int) {
		out := list[:0]
		for _, j := range list {
			if !gone[j.raw.Key()] {
				out = append(out, j)
			}
		}
		return out, len(list) - len(out)
	}
	c.mu.Lock()
	var dropped, n int
	c.held, n = keep(c.held)
	dropped += n
	for _, l := range c.lanes {
		l.queue, n = keep(l.queue)
		dropped += n
		if l.current != nil && gone[l.current.raw.Key()] {
			c.log(*l.current).Warn("a running job was reclaimed by another instance; it finishes here too")
		}
	}
	c.mu.Unlock()
	if dropped > 0 {
		c.d.Logger.Warn("jobs reclaimed by another instance before they started here; left to it", "jobs", dropped)
		c.finished(dropped)
	}
}
