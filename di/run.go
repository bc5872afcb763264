package di

import (
	"context"
	"sync"
)

// Running is the background work of a started App.
type Running struct {
	stopJobs, stopWorkers, stopEvents func()
}

// Start runs the App's background work in the boot order of contract §10
// and returns once all of it runs; the HTTP server is the caller's.
//
//  1. The Docker events listener subscribes first, so nothing that happens
//     from the boot pass on is missed.
//  2. One reconcile pass brings the records and Docker in line before
//     anything acts on them; its failure is logged, and the next pass (every
//     RTMANAGER_RECONCILE_INTERVAL) tries again.
//  3. Then the job consumer, the reconciler's own loop, the retention
//     worker and the probe and inspect workers.
//
// Every loop ends when ctx does; Stop ends them and waits.
func (a *App) Start(ctx context.Context) *Running {
	subscribed := make(chan struct{})
	stopEvents := goRun(ctx, func(ctx context.Context) { a.Events.Run(ctx, func() { close(subscribed) }) })
	select {
	case <-subscribed:
	case <-ctx.Done():
	}
	_, _ = a.Reconciler.Pass(ctx) // logged by Pass
	return &Running{
		stopJobs:    goRun(ctx, a.Jobs.Run),
		stopWorkers: goRun(ctx, a.Reconciler.Run, a.Retention.Run, a.Probe.Run, a.Inspect.Run),
		stopEvents:  stopEvents,
	}
}

// Stop stops the job consumer as SIGTERM would (stop reading, hand back,
// drain), then the workers, then the events listener, and waits for each: an
// operation or repair in flight finishes first. It may be called more than
// once.
func (r *Running) Stop() {
	r.stopJobs()
	r.stopWorkers()
	r.stopEvents()
}

// goRun runs each loop in a goroutine of its own; the returned stop (which
// may be called more than once) cancels them and waits until all returned.
func goRun(ctx context.Context, loops ...func(context.Context)) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, loop := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx)
		}()
	}
	return sync.OnceFunc(func() {
		cancel()
		wg.Wait()
	})
}
