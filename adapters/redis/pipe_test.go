package redis

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/ports"
)

func TestACommandRefusedInAPipelineFailsOnlyItself(t *testing.T) {
	r := newSharedRedis(t)
	str, counter := r.key("str"), r.key("counter")
	if err := r.Set(ctxT(t), str, "not a number", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// The three as one pipeline, as a leader sends them.
	incr := func(key string) command {
		return func(ctx context.Context, pl goredis.Pipeliner) goredis.Cmder { return pl.Incr(ctx, key) }
	}
	calls := []*callOf{{In: incr(counter)}, {In: incr(str)}, {In: incr(counter)}}
	runPipe(r.Client, calls)
	if calls[1].Err == nil {
		t.Fatal("INCR of a string answered no error")
	}
	for _, i := range []int{0, 2} {
		if calls[i].Err != nil {
			t.Fatalf("command %d failed beside the refused one: %v", i, calls[i].Err)
		}
		if got := calls[i].Out.(*goredis.IntCmd).Val(); got != int64(i/2+1) {
			t.Fatalf("command %d answered %d, want its own reply %d", i, got, i/2+1)
		}
	}
}

func TestConcurrentAcquisitionsGiveEachGameOneHolder(t *testing.T) {
	r := newSharedRedis(t)
	leases := NewLeases(r.Client, LeaseConfig{Logger: quiet})
	const games, callers = 20, 10
	ids := make([]string, games)
	for i := range ids {
		ids[i] = r.uniqueGame("pipe")
	}
	held := make([]atomic.Int32, games)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got []ports.Lease
	for range callers {
		for g := range games {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := leases.Acquire(context.Background(), ids[g])
				switch {
				case errors.Is(err, ports.ErrLeaseBusy):
				case err != nil:
					t.Error(err)
				default:
					held[g].Add(1)
					mu.Lock()
					got = append(got, l)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	for g := range held {
		if n := held[g].Load(); n != 1 {
			t.Errorf("game %d has %d holders, want 1", g, n)
		}
	}
	for _, l := range got {
		l.Release()
	}
	for _, id := range ids {
		if n, err := r.Exists(ctxT(t), LeaseKey(id)).Result(); err != nil || n != 0 {
			t.Fatalf("lease of %s still there after release (%d, %v)", id, n, err)
		}
	}
}
