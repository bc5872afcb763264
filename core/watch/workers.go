package watch

import (
	"context"
	"sync"
)

// Workers are one instance's watchers, run together.
type Workers struct {
	Events  *Listener
	Probe   *Probe
	Inspect *Inspect
}

// Run runs the events listener and, once it has subscribed, the probe and
// inspect workers, until ctx ends; it returns when all have stopped.
func (w Workers) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	subscribed := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.Events.Run(ctx, func() { close(subscribed) })
	}()
	select {
	case <-ctx.Done():
		return
	case <-subscribed:
	}
	for _, run := range []func(context.Context){w.Probe.Run, w.Inspect.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(ctx)
		}()
	}
}
