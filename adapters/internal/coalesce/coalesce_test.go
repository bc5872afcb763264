package coalesce

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// double is a run that answers each call with twice its input, fails odd
// inputs, and records the batch sizes it saw.
type double struct {
	mu      sync.Mutex
	sizes   []int
	running int
	overlap bool
	delay   time.Duration
}

func (d *double) run(calls []*Call[int, int]) {
	d.mu.Lock()
	d.sizes = append(d.sizes, len(calls))
	d.running++
	if d.running > 1 {
		d.overlap = true
	}
	d.mu.Unlock()
	time.Sleep(d.delay)
	for _, c := range calls {
		if c.In%2 == 1 {
			c.Err = fmt.Errorf("odd %d", c.In)
			continue
		}
		c.Out = 2 * c.In
	}
	d.mu.Lock()
	d.running--
	d.mu.Unlock()
}

func TestALoneCallRunsAtOnceInABatchOfItsOwn(t *testing.T) {
	d := &double{}
	g := New(8, d.run)
	for i := range 3 {
		out, err := g.Do(ctx, 2*i)
		if err != nil || out != 4*i {
			t.Fatalf("Do(%d) = %d, %v", 2*i, out, err)
		}
	}
	if fmt.Sprint(d.sizes) != "[1 1 1]" {
		t.Fatalf("batch sizes %v, want three batches of one", d.sizes)
	}
}

func TestConcurrentCallsShareBatchesAndEachGetsItsOwnResult(t *testing.T) {
	d := &double{delay: 2 * time.Millisecond}
	const size, callers = 16, 400
	g := New(size, d.run)
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := g.Do(ctx, i)
			switch {
			case i%2 == 1 && (err == nil || err.Error() != fmt.Sprintf("odd %d", i)):
				errs <- fmt.Errorf("Do(%d): error %v, want its own failure", i, err)
			case i%2 == 0 && (err != nil || out != 2*i):
				errs <- fmt.Errorf("Do(%d) = %d, %v, want %d", i, out, err, 2*i)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	total, biggest := 0, 0
	for _, n := range d.sizes {
		total += n
		biggest = max(biggest, n)
	}
	if total != callers {
		t.Errorf("batches held %d calls, want %d: a call was lost or run twice", total, callers)
	}
	if biggest > size {
		t.Errorf("a batch held %d calls, more than the bound %d", biggest, size)
	}
	if len(d.sizes) == callers {
		t.Errorf("every call ran alone; calls made while a batch was on the wire must share the next")
	}
	if d.overlap {
		t.Errorf("two batches ran at once; one leads at a time")
	}
}

func TestTheLeadPassesOnWhenTheLeadersCallIsDone(t *testing.T) {
	// The first caller's batch blocks until three more callers queue; they
	// must all be served by a new leader once the first returns.
	release := make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	g := New(8, func(calls []*Call[int, int]) {
		mu.Lock()
		sizes = append(sizes, len(calls))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			<-release
		}
		for _, c := range calls {
			c.Out = c.In
		}
	})
	first := make(chan error, 1)
	go func() {
		_, err := g.Do(ctx, 0)
		first <- err
	}()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 1 })
	var wg sync.WaitGroup
	for i := 1; i <= 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := g.Do(ctx, i); err != nil || out != i {
				t.Errorf("Do(%d) = %d, %v", i, out, err)
			}
		}()
	}
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.queue) == 3 })
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if fmt.Sprint(sizes) != "[1 3]" {
		t.Fatalf("batch sizes %v, want the first call alone, then the three queued behind it together", sizes)
	}
	if g.busy {
		t.Fatal("the group is still marked busy with nothing queued")
	}
}

func TestACallWhoseContextEndedIsNotMade(t *testing.T) {
	d := &double{}
	g := New(8, d.run)
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.Do(done, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do with an ended context: %v, want context.Canceled", err)
	}
	if len(d.sizes) != 0 {
		t.Fatalf("a batch ran: %v", d.sizes)
	}
}

func TestABatchLargerThanTheBoundIsSplit(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	g := New(2, func(calls []*Call[int, int]) {
		mu.Lock()
		sizes = append(sizes, len(calls))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			<-release
		}
	})
	go g.Do(ctx, 0)
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 1 })
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() { defer wg.Done(); g.Do(ctx, i) }()
	}
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.queue) == 5 })
	close(release)
	wg.Wait()
	if fmt.Sprint(sizes) != "[1 2 2 1]" {
		t.Fatalf("batch sizes %v, want [1 2 2 1]", sizes)
	}
}

var ctx = context.Background()

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(errors.New("condition not reached in 10s"))
		}
		time.Sleep(time.Millisecond)
	}
}
