package jobs_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

func TestHeartbeatKeepsAJobClaimedWhileItRunsLongerThanTheClaimIdleTime(t *testing.T) {
	h := newHarness(t)
	// Three beats per claim idle time: the job runs until the fourth, so
	// longer than the claim idle time.
	const beats = 4
	job := startJob(1, "g-1", "galaxy/game:1.0.0")
	var mu sync.Mutex
	touches := 0
	touched := make(gate)
	h.src.EXPECT().Touch(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, js []ports.Job) ([]ports.Job, error) {
		if got := keys(js); !slices.Equal(got, []string{key(job)}) {
			t.Errorf("touched %v, want the running %s", got, key(job))
		}
		mu.Lock()
		defer mu.Unlock()
		touches++
		if touches == beats {
			close(touched)
		}
		return nil, nil
	}).MinTimes(beats)
	h.src.EXPECT().Pending(gomock.Any()).Return(int64(1), nil).AnyTimes()
	h.metrics.EXPECT().JobsPending(int64(1)).AnyTimes()
	h.expectAnswered(job)
	h.runner.do = func(ctx context.Context, c call) domain.Result {
		touched.wait(ctx)
		return succeeded(c)
	}
	h.batches <- []ports.Job{job}
	began := time.Now()
	stop := h.run()

	h.waitAcked(1)
	if ran := time.Since(began); ran <= h.cfg.ClaimIdle {
		t.Errorf("the job ran %v, not longer than the claim idle time %v", ran, h.cfg.ClaimIdle)
	}
	stop()
}

func TestHeartbeatDropsAQueuedJobAnotherConsumerReclaimed(t *testing.T) {
	h := newHarness(t)
	running, lost, later := startJob(1, "g", "r:1"), stopJob(2, "g", "finished"), startJob(3, "g", "r:2")
	var mu sync.Mutex
	reported := false
	dropped := make(gate)
	h.src.EXPECT().Touch(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, js []ports.Job) ([]ports.Job, error) {
		mu.Lock()
		defer mu.Unlock()
		has := slices.ContainsFunc(js, func(j ports.Job) bool { return key(j) == key(lost) })
		switch {
		case !reported:
			if !has {
				t.Errorf("touched %v before the queued %s", keys(js), key(lost))
			}
			reported = true
			return []ports.Job{lost}, nil
		case has:
			t.Errorf("touched %v: the lost %s is still held", keys(js), key(lost))
		default:
			// The heartbeat is one goroutine: this beat follows the drop.
			select {
			case <-dropped:
			default:
				close(dropped)
			}
		}
		return nil, nil
	}).MinTimes(2)
	h.src.EXPECT().Pending(gomock.Any()).Return(int64(2), nil).AnyTimes()
	h.metrics.EXPECT().JobsPending(int64(2)).AnyTimes()
	// The lost job is neither run, answered, acknowledged nor handed back.
	h.expectAnswered(running, later)
	h.runner.do = func(ctx context.Context, c call) domain.Result {
		if c.id() == key(running) {
			dropped.wait(ctx)
		}
		return succeeded(c)
	}
	h.batches <- []ports.Job{running, lost}
	stop := h.run()

	select {
	case <-dropped:
	case <-time.After(waitLimit):
		t.Fatal("the heartbeat did not beat again after reporting the job lost")
	}
	// A later job of the game: it would run after the lost one, were that
	// still queued.
	h.batches <- []ports.Job{later}
	h.waitAcked(2)
	stop()

	if got := h.runner.order("g"); !slices.Equal(got, []string{key(running), key(later)}) {
		t.Errorf("game g ran %v; the lost %s must not run here", got, key(lost))
	}
}

func TestHeartbeatFeedsThePendingGauge(t *testing.T) {
	h := newHarness(t)
	// Nothing is held, so nothing is touched: the strict mock fails a Touch.
	var mu sync.Mutex
	asked := 0
	h.src.EXPECT().Pending(gomock.Any()).DoAndReturn(func(context.Context) (int64, error) {
		mu.Lock()
		defer mu.Unlock()
		asked++
		if asked == 1 {
			return 0, errors.New("redis: i/o timeout") // no reading, no gauge
		}
		return 7, nil
	}).MinTimes(2)
	set := make(chan int64, 64)
	h.metrics.EXPECT().JobsPending(int64(7)).Do(func(n int64) { set <- n }).MinTimes(1)
	stop := h.run()

	select {
	case <-set:
	case <-time.After(waitLimit):
		t.Fatal("the pending gauge was never set")
	}
	stop()
}
