package watch

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

// Reconnect backoff of the events stream (contract §7): 100 ms doubling to
// 30 s, with jitter.
const (
	reconnectFirst = 100 * time.Millisecond
	reconnectMax   = 30 * time.Second
)

// How often the listener looks whether a game's lease is free again: like a
// stream job waiting for one, soon at first, then at most four times a second.
const (
	idleFirst = 5 * time.Millisecond
	idleMax   = 250 * time.Millisecond
)

// Repairer brings a record in line with what happened to its container
// (lifecycle.Service).
type Repairer interface {
	ObserveExit(ctx context.Context, in lifecycle.ExitInput) (bool, error)
	Dispose(ctx context.Context, in lifecycle.DisposeInput) (bool, error)
}

// ListenerDeps are what the events listener works through.
type ListenerDeps struct {
	Docker  ports.Docker
	Records ports.RuntimeStore
	Leases  ports.Leases
	Repair  Repairer
	Clock   ports.Clock
	Metrics ports.Metrics
	Logger  *slog.Logger
	// Reconcile, when set, asks the reconciler for a pass; it must not block.
	// The listener calls it after each reconnect, because the daemon replays
	// only a short buffer of the events missed in between.
	Reconcile func()
}

// Listener is the Docker events listener (contract §7, events listener).
type Listener struct {
	d         ListenerDeps
	connected atomic.Bool

	// oom marks the containers that had an oom event: their die is
	// container_oom. Only the reading goroutine touches it.
	oom map[string]bool

	mu    sync.Mutex
	lanes map[string]*lane // by game id
	wg    sync.WaitGroup   // running lanes
}

// lane holds one game's events not yet handled. Each game's events are
// handled in order, one at a time; games do not wait for each other, so a
// game whose lease is busy (a repair waits for it) holds up nobody else.
type lane struct {
	queue []laneEvent
}

type laneEvent struct {
	ev  ports.ContainerEvent
	oom bool
}

// NewListener builds the events listener.
func NewListener(d ListenerDeps) *Listener {
	return &Listener{d: d, oom: map[string]bool{}, lanes: map[string]*lane{}}
}

// Check reports whether the events stream is connected (a /readyz check).
func (l *Listener) Check(context.Context) error {
	if !l.connected.Load() {
		return errors.New("docker events stream not connected")
	}
	return nil
}

// Run subscribes to the Docker events of this deployment's containers and
// handles them until ctx ends; then it waits for the events in hand (each
// repair under way ends with ctx, or finishes once it holds the lease).
//
// ready, when set, is called once the first subscription was made: from
// then on nothing is missed, since every subscription resumes from the time
// Run began or from the last event's time — so a listing made after ready
// cannot miss a change (contract §7: subscribe first, then list). A broken
// stream is subscribed again with backoff, and each resubscription asks for a
// reconcile pass.
func (l *Listener) Run(ctx context.Context, ready func()) {
	defer l.wg.Wait()
	since := l.d.Clock.Now()
	for fails := 0; ; {
		events, errs := l.d.Docker.Events(ctx, since)
		l.connected.Store(true)
		if ready != nil {
			ready()
			ready = nil
		}
		if fails > 0 {
			l.d.Metrics.EventsReconnected()
			if l.d.Reconcile != nil {
				l.d.Reconcile()
			}
		}
		seen := false
		for ev := range events {
			seen = true
			if ev.Time.After(since) {
				since = ev.Time
			}
			l.dispatch(ctx, ev)
		}
		err := <-errs
		l.connected.Store(false)
		if ctx.Err() != nil {
			return
		}
		if seen {
			fails = 0 // the stream worked: a new break starts the backoff again
		}
		fails++
		wait := reconnectDelay(fails)
		l.d.Logger.Warn("docker events stream broken; subscribing again", "err", err, "in", wait, "since", since)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// reconnectDelay is the wait before reconnect n (from 1): 100 ms doubling to
// 30 s, drawn from its upper half so instances do not reconnect in step.
func reconnectDelay(n int) time.Duration {
	d := min(reconnectFirst<<min(n-1, 9), reconnectMax)
	return d/2 + rand.N(d/2+1)
}

// dispatch notes an oom, queues a die or destroy on its game's lane, and
// ignores everything else (start belongs to the start service).
func (l *Listener) dispatch(ctx context.Context, ev ports.ContainerEvent) {
	switch ev.Action {
	case ports.ActionOOM:
		l.oom[ev.ContainerID] = true
	case ports.ActionDie, ports.ActionDestroy:
		oom := l.oom[ev.ContainerID]
		delete(l.oom, ev.ContainerID)
		if ev.GameID != "" {
			l.enqueue(ctx, laneEvent{ev: ev, oom: oom && ev.Action == ports.ActionDie})
			return
		}
	}
	l.handled(ev)
}

// handled counts an event done with, and the lag behind Docker.
func (l *Listener) handled(ev ports.ContainerEvent) {
	action := ev.Action
	switch action {
	case ports.ActionDie, ports.ActionOOM, ports.ActionDestroy:
	default:
		action = "other"
	}
	l.d.Metrics.EventHandled(action, l.d.Clock.Now().Sub(ev.Time))
}

func (l *Listener) enqueue(ctx context.Context, e laneEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ln, ok := l.lanes[e.ev.GameID]
	if !ok {
		ln = &lane{}
		l.lanes[e.ev.GameID] = ln
		l.wg.Add(1)
		go l.drain(ctx, e.ev.GameID, ln)
	}
	ln.queue = append(ln.queue, e)
}

// drain handles a game's queued events in order and ends when none is left.
func (l *Listener) drain(ctx context.Context, gameID string, ln *lane) {
	defer l.wg.Done()
	for {
		l.mu.Lock()
		if len(ln.queue) == 0 {
			delete(l.lanes, gameID)
			l.mu.Unlock()
			return
		}
		e := ln.queue[0]
		ln.queue = ln.queue[1:]
		l.mu.Unlock()
		l.handle(ctx, e)
		l.handled(e.ev)
	}
}

// handle repairs the record after a die or a destroy. A repair that fails
// (PostgreSQL or Redis down) is logged: the reconciler finds the drift.
func (l *Listener) handle(ctx context.Context, e laneEvent) {
	ev := e.ev
	log := l.d.Logger.With("game_id", ev.GameID, "container_id", ev.ContainerID, "action", ev.Action)
	running, err := l.stillRunning(ctx, ev)
	if err == nil && running {
		switch ev.Action {
		case ports.ActionDie:
			code, _ := strconv.Atoi(ev.ExitCode) // Docker's inspection has the last word
			_, err = l.d.Repair.ObserveExit(ctx, lifecycle.ExitInput{GameID: ev.GameID, ContainerID: ev.ContainerID,
				ExitCode: code, OOM: e.oom, Source: domain.SourceDockerEvent})
		case ports.ActionDestroy:
			_, err = l.d.Repair.Dispose(ctx, lifecycle.DisposeInput{GameID: ev.GameID, ContainerID: ev.ContainerID,
				Source: domain.SourceDockerEvent})
		}
	}
	if err != nil && ctx.Err() == nil {
		log.Warn("events: repair failed; the reconciler will find the drift", "err", err)
	}
}

// stillRunning reports whether the game's record still runs the event's
// container — only then is there anything to repair (contract §7: a die or
// a destroy of anything else is silent). It first waits until no operation
// holds the game's lease: RTM's own stop, restart, patch or cleanup makes
// exactly these events while it holds it, and the record says so once it
// lets go. The check takes no lease, so the listener never holds one for
// RTM's own work, and a REST call that follows that work is never refused
// because of it; the repair re-checks under the lease.
func (l *Listener) stillRunning(ctx context.Context, ev ports.ContainerEvent) (bool, error) {
	for delay := idleFirst; ; delay = min(2*delay, idleMax) {
		held, err := l.d.Leases.Held(ctx, ev.GameID)
		if err != nil {
			return false, err
		}
		if !held {
			break
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(delay):
		}
	}
	rec, err := l.d.Records.Get(ctx, ev.GameID)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return rec.Status == domain.StatusRunning && rec.CurrentContainerID == ev.ContainerID, nil
}
