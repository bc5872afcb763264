// Package sweep holds what the background workers share when they go over
// every game: listing the records page by page, running work over many
// items with a bound on how much runs at once, and ticking at an interval.
package sweep

import (
	"context"
	"sync"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// Records lists every record with the status ("" for all), page records at
// a time, in game id order.
func Records(ctx context.Context, records ports.RuntimeStore, status domain.Status, page int) ([]domain.Record, error) {
	var all []domain.Record
	for {
		q := ports.ListRuntimesQuery{Status: status, Limit: page}
		if n := len(all); n > 0 {
			q.AfterGameID = all[n-1].GameID
		}
		got, err := records.List(ctx, q)
		if err != nil {
			return nil, err
		}
		all = append(all, got...)
		if len(got) < page {
			return all, nil
		}
	}
}

// Each runs fn for every item, at most n at once, and returns when all that
// started have returned. Once ctx has ended no further item starts.
func Each[T any](ctx context.Context, items []T, n int, fn func(T)) {
	slots := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			fn(it)
		}()
	}
	wg.Wait()
}

// Every runs tick once per interval until ctx ends; a tick that overruns
// the interval delays the next one rather than overlapping it.
func Every(ctx context.Context, interval time.Duration, tick func(context.Context)) {
	EveryOr(ctx, interval, nil, tick)
}

// EveryOr is Every that also ticks whenever kick delivers (a nil kick never
// does); a kicked tick does not move the interval's.
func EveryOr(ctx context.Context, interval time.Duration, kick <-chan struct{}, tick func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
		tick(ctx)
	}
}
