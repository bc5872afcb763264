package sweep_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/core/internal/sweep"
)

func TestEach(t *testing.T) {
	tests := []struct {
		name    string
		cancel  bool
		n       int
		wantRan int
	}{
		{"every item runs, never more than n at once", false, 3, 40},
		{"no item starts once the context has ended", true, 3, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			if tc.cancel {
				cancel()
			}
			defer cancel()
			var mu sync.Mutex
			now, most, ran := 0, 0, 0
			items := make([]int, 40)
			sweep.Each(ctx, items, tc.n, func(int) {
				mu.Lock()
				now, ran = now+1, ran+1
				most = max(most, now)
				mu.Unlock()
				time.Sleep(time.Millisecond) // items overlap unless something bounds them
				mu.Lock()
				now--
				mu.Unlock()
			})
			if ran != tc.wantRan || most > tc.n {
				t.Errorf("ran %d, at most %d at once; want %d, at most %d", ran, most, tc.wantRan, tc.n)
			}
		})
	}
}
