package watch_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/health"
	"github.com/galaxy/rtmanager/ports"
	"github.com/galaxy/rtmanager/ports/mocks"
)

var (
	t0       = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	errDown  = errors.New("connection refused")
	errGone  = fmt.Errorf("inspect: %w", ports.ErrNotFound)
	quiet    = slog.New(slog.NewTextHandler(io.Discard, nil))
	tickStep = time.Second
)

// world is what the workers see, scripted tick by tick: the running records
// and the ports behind them. Snapshots upserted and events published are
// captured.
type world struct {
	t       *testing.T
	records *mocks.MockRuntimeStore
	store   *mocks.MockHealthStore
	pub     *mocks.MockHealthPublisher
	metrics *mocks.MockMetrics
	clock   *mocks.MockClock
	emitter *health.Emitter

	mu      sync.Mutex
	now     time.Time
	running []domain.Record
	// stopAfterList makes every game stop running right after the next
	// listing, as if the events listener recorded its exit meanwhile.
	stopAfterList bool
	// lost makes UpsertChanged report that another instance stored the change.
	lost      bool
	published []domain.HealthEvent
}

func newWorld(t *testing.T) *world {
	ctrl := gomock.NewController(t)
	w := &world{t: t, records: mocks.NewMockRuntimeStore(ctrl), store: mocks.NewMockHealthStore(ctrl),
		pub: mocks.NewMockHealthPublisher(ctrl), metrics: mocks.NewMockMetrics(ctrl), clock: mocks.NewMockClock(ctrl), now: t0}
	w.emitter = health.NewEmitter(w.store, w.pub, w.metrics)
	w.clock.EXPECT().Now().DoAndReturn(func() time.Time {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.now
	}).AnyTimes()
	w.records.EXPECT().List(gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, q ports.ListRuntimesQuery) ([]domain.Record, error) {
			if q.Status != domain.StatusRunning {
				t.Errorf("listed status %q, want running", q.Status)
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			listed := slices.Clone(w.running)
			if w.stopAfterList {
				w.running, w.stopAfterList = nil, false
			}
			return listed, nil
		}).AnyTimes()
	w.store.EXPECT().UpsertChanged(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
		func(context.Context, domain.HealthSnapshot, ...string) (bool, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			return !w.lost, nil
		}).AnyTimes()
	w.pub.EXPECT().PublishHealth(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, ev domain.HealthEvent) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.published = append(w.published, ev)
		return nil
	}).AnyTimes()
	w.metrics.EXPECT().HealthEventPublished(gomock.Any()).AnyTimes()
	return w
}

// run sets the running records (game id → container id).
func (w *world) run(games map[string]string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running = nil
	for _, g := range slices.Sorted(maps.Keys(games)) {
		w.running = append(w.running, domain.Record{GameID: g, Status: domain.StatusRunning,
			CurrentContainerID: games[g], EngineEndpoint: domain.EngineEndpoint(g)})
	}
}

// advance moves the clock one tick on.
func (w *world) advance() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(tickStep)
}

// events returns the published events, and forgets them.
func (w *world) events() []domain.HealthEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	evs := w.published
	w.published = nil
	return evs
}
