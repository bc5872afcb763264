package watch_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/core/watch"
	"github.com/galaxy/rtmanager/ports"
	"github.com/galaxy/rtmanager/ports/mocks"
)

// repairs is the lifecycle side of the listener: it records what it is asked
// to repair, and can hold a game's repairs until released.
type repairs struct {
	mu        sync.Mutex
	exits     []lifecycle.ExitInput
	disposals []lifecycle.DisposeInput
	hold      map[string]chan struct{} // by game id
	asked     chan string              // game ids, as repairs are asked for
}

func (r *repairs) ObserveExit(ctx context.Context, in lifecycle.ExitInput) (bool, error) {
	r.mu.Lock()
	r.exits = append(r.exits, in)
	hold := r.hold[in.GameID]
	r.mu.Unlock()
	r.asked <- in.GameID
	if hold != nil {
		<-hold
	}
	return true, nil
}

func (r *repairs) Dispose(ctx context.Context, in lifecycle.DisposeInput) (bool, error) {
	r.mu.Lock()
	r.disposals = append(r.disposals, in)
	r.mu.Unlock()
	r.asked <- in.GameID
	return true, nil
}

// subscription is one Events call: the test sends events on it and ends it.
type subscription struct {
	since  time.Time
	events chan ports.ContainerEvent
	errs   chan error
	once   *sync.Once
}

// end ends the stream with err, as the adapter does (once).
func (s subscription) end(err error) {
	s.once.Do(func() {
		close(s.events)
		s.errs <- err
		close(s.errs)
	})
}

// listenerWorld runs a listener over scripted Docker events and records.
type listenerWorld struct {
	*world
	listener   *watch.Listener
	repairs    *repairs
	subs       chan subscription
	handled    chan string // actions, as the listener is done with events
	reconciles chan struct{}
	records    map[string]domain.Record
	// held answers Leases.Held: whether the game's lease is taken, asked
	// for the nth time (from 1).
	held    func(gameID string, n int) bool
	asks    map[string]int
	cancel  context.CancelFunc
	done    chan struct{}
	readies int
}

func newListenerWorld(t *testing.T, records map[string]domain.Record) *listenerWorld {
	w := &listenerWorld{world: newWorld(t), repairs: &repairs{hold: map[string]chan struct{}{}, asked: make(chan string, 64)},
		subs: make(chan subscription, 4), handled: make(chan string, 64), reconciles: make(chan struct{}, 4), records: records}
	docker := mocks.NewMockDocker(gomock.NewController(t))
	docker.EXPECT().Events(gomock.Any(), gomock.Any()).DoAndReturn(
		func(ctx context.Context, since time.Time) (<-chan ports.ContainerEvent, <-chan error) {
			s := subscription{since: since, events: make(chan ports.ContainerEvent), errs: make(chan error, 1), once: &sync.Once{}}
			go func() { // the adapter ends the stream when ctx ends
				<-ctx.Done()
				s.end(ctx.Err())
			}()
			w.subs <- s
			return s.events, s.errs
		}).AnyTimes()
	w.world.records.EXPECT().Get(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, id string) (domain.Record, error) {
		w.world.mu.Lock()
		defer w.world.mu.Unlock()
		if r, ok := w.records[id]; ok {
			return r, nil
		}
		return domain.Record{}, fmt.Errorf("record: %w", ports.ErrNotFound)
	}).AnyTimes()
	w.held, w.asks = func(string, int) bool { return false }, map[string]int{}
	leases := mocks.NewMockLeases(gomock.NewController(t))
	leases.EXPECT().Held(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, id string) (bool, error) {
		w.world.mu.Lock()
		defer w.world.mu.Unlock()
		w.asks[id]++
		return w.held(id, w.asks[id]), nil
	}).AnyTimes()
	w.metrics.EXPECT().EventHandled(gomock.Any(), gomock.Any()).Do(func(action string, _ time.Duration) {
		w.handled <- action
	}).AnyTimes()
	w.metrics.EXPECT().EventsReconnected().AnyTimes()
	w.listener = watch.NewListener(watch.ListenerDeps{Docker: docker, Records: w.world.records, Leases: leases, Repair: w.repairs,
		Clock: w.clock, Metrics: w.metrics, Logger: quiet, Reconcile: func() { w.reconciles <- struct{}{} }})
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		w.listener.Run(ctx, func() { w.readies++ })
	}()
	t.Cleanup(w.stop)
	return w
}

// stop ends Run and waits for it.
func (w *listenerWorld) stop() {
	w.cancel()
	<-w.done
}

// subscription waits for the listener's next Events call.
func (w *listenerWorld) subscription() subscription { return <-w.subs }

// awaitHandled waits until the listener is done with n more events.
func (w *listenerWorld) awaitHandled(n int) {
	for range n {
		<-w.handled
	}
}

func event(action, gameID, cid string, sec int) ports.ContainerEvent {
	ev := ports.ContainerEvent{Action: action, GameID: gameID, ContainerID: cid, Time: t0.Add(time.Duration(sec) * time.Second)}
	if action == ports.ActionDie {
		ev.ExitCode = "137"
	}
	return ev
}

func TestListenerRepairs(t *testing.T) {
	running := func(cid string) domain.Record {
		return domain.Record{GameID: "g", Status: domain.StatusRunning, CurrentContainerID: cid}
	}
	exit := func(oom bool) lifecycle.ExitInput {
		return lifecycle.ExitInput{GameID: "g", ContainerID: "c1", ExitCode: 137, OOM: oom, Source: domain.SourceDockerEvent}
	}
	dispose := lifecycle.DisposeInput{GameID: "g", ContainerID: "c1", Source: domain.SourceDockerEvent}
	tests := []struct {
		name      string
		record    *domain.Record
		events    []ports.ContainerEvent
		exits     []lifecycle.ExitInput
		disposals []lifecycle.DisposeInput
	}{
		{"a die is an observed exit with its code", ptr(running("c1")),
			[]ports.ContainerEvent{event("die", "g", "c1", 1)}, []lifecycle.ExitInput{exit(false)}, nil},
		{"a die after the container's oom is an oom", ptr(running("c1")),
			[]ports.ContainerEvent{event("oom", "g", "c1", 1), event("die", "g", "c1", 2)}, []lifecycle.ExitInput{exit(true)}, nil},
		{"an oom marks only its own container", ptr(running("c1")),
			[]ports.ContainerEvent{event("oom", "g", "c0", 1), event("die", "g", "c1", 2)}, []lifecycle.ExitInput{exit(false)}, nil},
		{"a die of a container the record no longer runs is silent (RTM stopped it)",
			&domain.Record{GameID: "g", Status: domain.StatusStopped, CurrentContainerID: "c1"},
			[]ports.ContainerEvent{event("die", "g", "c1", 1)}, nil, nil},
		{"a die of a game without a record is silent", nil,
			[]ports.ContainerEvent{event("die", "g", "c1", 1)}, nil, nil},
		{"start and the other actions are ignored", ptr(running("c1")),
			[]ports.ContainerEvent{event("start", "g", "c1", 1), event("kill", "g", "c1", 2), event("stop", "g", "c1", 3)}, nil, nil},
		{"a destroy of the running record's container is a removal", ptr(running("c1")),
			[]ports.ContainerEvent{event("destroy", "g", "c1", 1)}, nil, []lifecycle.DisposeInput{dispose}},
		{"a destroy of a stopped record's container is silent",
			&domain.Record{GameID: "g", Status: domain.StatusStopped, CurrentContainerID: "c1"},
			[]ports.ContainerEvent{event("destroy", "g", "c1", 1)}, nil, nil},
		{"a destroy of another container than the record's is silent", ptr(running("c2")),
			[]ports.ContainerEvent{event("destroy", "g", "c1", 1)}, nil, nil},
		{"a destroy of a game without a record is silent", nil,
			[]ports.ContainerEvent{event("destroy", "g", "c1", 1)}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			records := map[string]domain.Record{}
			if tc.record != nil {
				records["g"] = *tc.record
			}
			w := newListenerWorld(t, records)
			sub := w.subscription()
			for _, ev := range tc.events {
				sub.events <- ev
			}
			w.awaitHandled(len(tc.events))
			w.stop()
			if !reflect.DeepEqual(w.repairs.exits, tc.exits) || !reflect.DeepEqual(w.repairs.disposals, tc.disposals) {
				t.Errorf("exits %+v and disposals %+v, want %+v and %+v", w.repairs.exits, w.repairs.disposals, tc.exits, tc.disposals)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestListenerSlowGameHoldsUpNobody: while one game's repair waits (its
// lease is busy), the events of other games are handled.
func TestListenerSlowGameHoldsUpNobody(t *testing.T) {
	w := newListenerWorld(t, map[string]domain.Record{
		"slow": {GameID: "slow", Status: domain.StatusRunning, CurrentContainerID: "c1"},
		"fast": {GameID: "fast", Status: domain.StatusRunning, CurrentContainerID: "c2"},
	})
	release := make(chan struct{})
	w.repairs.hold["slow"] = release
	sub := w.subscription()
	sub.events <- event("die", "slow", "c1", 1)
	if got := <-w.repairs.asked; got != "slow" {
		t.Fatalf("repair of %s asked first, want slow", got)
	}
	sub.events <- event("die", "slow", "c1", 2) // queued behind the first, in order
	sub.events <- event("die", "fast", "c2", 3)
	if got := <-w.repairs.asked; got != "fast" {
		t.Fatalf("repair of %s asked while slow waits, want fast", got)
	}
	close(release)
	if got := <-w.repairs.asked; got != "slow" {
		t.Fatalf("repair of %s asked after the release, want slow's second", got)
	}
	w.awaitHandled(3)
}

// TestListenerWaitsOutRTMsOwnWork: a die that comes while an operation holds
// the game's lease (RTM stopping its own container) is judged on the record
// that operation leaves, and asks for no repair — no lease is taken for it.
func TestListenerWaitsOutRTMsOwnWork(t *testing.T) {
	w := newListenerWorld(t, map[string]domain.Record{
		"g": {GameID: "g", Status: domain.StatusRunning, CurrentContainerID: "c1"},
	})
	w.world.mu.Lock()
	w.held = func(_ string, n int) bool {
		if n == 3 { // the stop is done: its record says so
			w.records["g"] = domain.Record{GameID: "g", Status: domain.StatusStopped, CurrentContainerID: "c1"}
		}
		return n <= 3
	}
	w.world.mu.Unlock()
	sub := w.subscription()
	sub.events <- event("die", "g", "c1", 1)
	w.awaitHandled(1)
	w.stop()
	if len(w.repairs.exits) != 0 || w.asks["g"] != 4 {
		t.Errorf("exits %+v after %d looks at the lease, want none after 4", w.repairs.exits, w.asks["g"])
	}
}

// TestListenerResubscribesFromTheLastEvent: a broken stream is subscribed
// again from the last event's time, which asks for a reconcile pass; ready
// is called once, at the first subscription.
func TestListenerResubscribesFromTheLastEvent(t *testing.T) {
	w := newListenerWorld(t, nil)
	first := w.subscription()
	if !first.since.Equal(t0) {
		t.Errorf("first subscription since %v, want the time Run began (%v)", first.since, t0)
	}
	first.events <- event("start", "g", "c1", 5)
	w.awaitHandled(1)
	if err := w.listener.Check(context.Background()); err != nil {
		t.Errorf("Check while subscribed: %v", err)
	}
	first.end(fmt.Errorf("events: %w", ports.ErrUnavailable))
	second := w.subscription()
	if want := t0.Add(5 * time.Second); !second.since.Equal(want) {
		t.Errorf("resubscribed since %v, want the last event's time %v", second.since, want)
	}
	<-w.reconciles
	second.events <- event("die", "g", "c1", 6)
	w.awaitHandled(1)
	w.stop()
	if w.readies != 1 {
		t.Errorf("ready called %d times, want once", w.readies)
	}
	if len(w.reconciles) != 0 {
		t.Errorf("%d more reconcile passes asked for, want one per reconnect", len(w.reconciles)+1)
	}
	if err := w.listener.Check(context.Background()); err == nil {
		t.Error("Check after the listener stopped: nil, want not connected")
	}
}

func TestReconnectDelay(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		from, to time.Duration
	}{
		{"the first reconnect waits up to 100 ms", 1, 50 * time.Millisecond, 100 * time.Millisecond},
		{"each failed reconnect doubles the wait", 3, 200 * time.Millisecond, 400 * time.Millisecond},
		{"the wait stops growing at 30 s", 40, 15 * time.Second, 30 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 100 {
				if d := watch.ReconnectDelay(tc.n); d < tc.from || d > tc.to {
					t.Fatalf("delay %v before reconnect %d, want within [%v, %v]", d, tc.n, tc.from, tc.to)
				}
			}
		})
	}
}
