package reconcile_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/core/reconcile"
	"github.com/galaxy/rtmanager/ports"
	"github.com/galaxy/rtmanager/ports/mocks"
)

const (
	deployment = "eu-blue"
	grace      = 30 * time.Second
)

var (
	t0      = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	old     = t0.Add(-time.Hour) // created well before the grace
	fresh   = t0.Add(-grace / 2) // created within the grace
	errDown = fmt.Errorf("docker: %w", ports.ErrUnavailable)
)

// asked is one repair the reconciler asked for.
type asked struct {
	kind      domain.OpKind
	game, cid string
}

// repairs records what a pass asks for and answers as told: changed unless
// the game is listed in busy or failing.
type repairs struct {
	mu      sync.Mutex
	asked   []asked
	busy    map[string]bool
	failing map[string]bool
}

func (r *repairs) answer(a asked) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, a)
	switch {
	case r.busy[a.game]:
		return false, lifecycle.ErrGameBusy
	case r.failing[a.game]:
		return false, errDown
	}
	return true, nil
}

func (r *repairs) Adopt(_ context.Context, in lifecycle.AdoptInput) (bool, error) {
	return r.answer(asked{domain.OpReconcileAdopt, in.GameID, in.ContainerID})
}

func (r *repairs) ObserveExit(_ context.Context, in lifecycle.ExitInput) (bool, error) {
	if in.Source != domain.SourceAutoReconcile {
		return false, fmt.Errorf("observe exit asked with source %s", in.Source)
	}
	return r.answer(asked{domain.OpReconcileObserveExit, in.GameID, in.ContainerID})
}

func (r *repairs) Dispose(_ context.Context, in lifecycle.DisposeInput) (bool, error) {
	if in.Source != domain.SourceAutoReconcile {
		return false, fmt.Errorf("dispose asked with source %s", in.Source)
	}
	return r.answer(asked{domain.OpReconcileDispose, in.GameID, in.ContainerID})
}

func (r *repairs) sorted() []asked {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.asked)
	slices.SortFunc(out, func(a, b asked) int {
		if a.game != b.game {
			return cmp.Compare(a.game, b.game)
		}
		return cmp.Compare(a.kind, b.kind)
	})
	return out
}

type fixture struct {
	docker  *mocks.MockDocker
	records *mocks.MockRuntimeStore
	metrics *mocks.MockReconcileMetrics
	repairs *repairs
	r       *reconcile.Reconciler
}

func newFixture(t *testing.T) *fixture {
	ctrl := gomock.NewController(t)
	clock := mocks.NewMockClock(ctrl)
	clock.EXPECT().Now().Return(t0).AnyTimes()
	f := &fixture{docker: mocks.NewMockDocker(ctrl), records: mocks.NewMockRuntimeStore(ctrl),
		metrics: mocks.NewMockReconcileMetrics(ctrl), repairs: &repairs{}}
	f.r = reconcile.New(reconcile.Config{Deployment: deployment, Interval: time.Hour, Grace: grace, Concurrency: 4},
		reconcile.Deps{Docker: f.docker, Records: f.records, Repairs: f.repairs, Clock: clock, Metrics: f.metrics,
			Logger: slog.New(slog.DiscardHandler)})
	return f
}

func ctr(game, id string, running bool, created time.Time) ports.ContainerInfo {
	state := "exited"
	if running {
		state = "running"
	}
	return ports.ContainerInfo{ID: id, Name: domain.ContainerName(game), State: state, Running: running, CreatedAt: created,
		Labels: map[string]string{ports.LabelOwner: ports.OwnerValue, ports.LabelDeployment: deployment, ports.LabelGameID: game}}
}

func rec(game string, st domain.Status, cid string) domain.Record {
	return domain.Record{GameID: game, Status: st, CurrentContainerID: cid, CurrentImageRef: "galaxy/game:1.0.0"}
}

// world scripts one listing of each kind.
func (f *fixture) world(cs []ports.ContainerInfo, rs []domain.Record) {
	gomock.InOrder(
		f.docker.EXPECT().ListOwned(gomock.Any()).Return(cs, nil),
		f.records.EXPECT().List(gomock.Any(), ports.ListRuntimesQuery{Limit: 1000}).Return(rs, nil),
	)
}

func TestAPassAsksForTheRepairOfEachDrift(t *testing.T) {
	foreign := ctr("g-foreign", "c-foreign", true, old)
	foreign.Labels[ports.LabelDeployment] = "eu-green"
	for _, tc := range []struct {
		name       string
		containers []ports.ContainerInfo
		records    []domain.Record
		want       []asked
		young      int
	}{
		{name: "a container no record names is adopted",
			containers: []ports.ContainerInfo{ctr("g1", "c1", true, old)},
			want:       []asked{{domain.OpReconcileAdopt, "g1", "c1"}}},
		{name: "a container whose record is removed is adopted",
			containers: []ports.ContainerInfo{ctr("g1", "c1", false, old)},
			records:    []domain.Record{rec("g1", domain.StatusRemoved, "c1")},
			want:       []asked{{domain.OpReconcileAdopt, "g1", "c1"}}},
		{name: "a container whose record names a vanished one is adopted, not the record disposed",
			containers: []ports.ContainerInfo{ctr("g1", "c2", true, old)},
			records:    []domain.Record{rec("g1", domain.StatusStopped, "c1")},
			want:       []asked{{domain.OpReconcileAdopt, "g1", "c2"}}},
		{name: "a running record whose container is not listed is disposed",
			records: []domain.Record{rec("g1", domain.StatusRunning, "c1")},
			want:    []asked{{domain.OpReconcileDispose, "g1", "c1"}}},
		{name: "a stopped record whose container is not listed is disposed",
			records: []domain.Record{rec("g1", domain.StatusStopped, "c1")},
			want:    []asked{{domain.OpReconcileDispose, "g1", "c1"}}},
		{name: "a running record whose container exited has its exit observed",
			containers: []ports.ContainerInfo{ctr("g1", "c1", false, old)},
			records:    []domain.Record{rec("g1", domain.StatusRunning, "c1")},
			want:       []asked{{domain.OpReconcileObserveExit, "g1", "c1"}}},
		{name: "records and containers that agree need nothing",
			containers: []ports.ContainerInfo{ctr("g1", "c1", true, old), ctr("g2", "c2", false, old)},
			records:    []domain.Record{rec("g1", domain.StatusRunning, "c1"), rec("g2", domain.StatusStopped, "c2")}},
		{name: "a removed record without a container needs nothing",
			records: []domain.Record{rec("g1", domain.StatusRemoved, "c1"), rec("g2", domain.StatusStopped, "")}},
		{name: "a young container without a record is left to the start making it",
			containers: []ports.ContainerInfo{ctr("g1", "c1", true, fresh)}, young: 1},
		{name: "a young exited container of a running record is left alone too",
			containers: []ports.ContainerInfo{ctr("g1", "c1", false, fresh)},
			records:    []domain.Record{rec("g1", domain.StatusRunning, "c1")}, young: 1},
		{name: "a container of another deployment is never touched",
			containers: []ports.ContainerInfo{foreign}},
		{name: "each game gets its own repair in one pass",
			containers: []ports.ContainerInfo{ctr("g1", "c1", true, old), ctr("g3", "c3", false, old), ctr("g4", "c4", true, old)},
			records: []domain.Record{rec("g2", domain.StatusRunning, "c2"), rec("g3", domain.StatusRunning, "c3"),
				rec("g4", domain.StatusRunning, "c4")},
			want: []asked{{domain.OpReconcileAdopt, "g1", "c1"}, {domain.OpReconcileDispose, "g2", "c2"},
				{domain.OpReconcileObserveExit, "g3", "c3"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.world(tc.containers, tc.records)
			for _, a := range tc.want {
				f.metrics.EXPECT().ReconcileDrift(a.kind)
			}
			f.metrics.EXPECT().ReconcilePassed(t0, time.Duration(0))

			rep, err := f.r.Pass(t.Context())

			if err != nil {
				t.Fatal(err)
			}
			if got := f.repairs.sorted(); !reflect.DeepEqual(got, tc.want) && len(got)+len(tc.want) > 0 {
				t.Errorf("asked for %v, want %v", got, tc.want)
			}
			wantRepaired := map[domain.OpKind]int{}
			for _, a := range tc.want {
				wantRepaired[a.kind]++
			}
			if !reflect.DeepEqual(rep.Repaired, wantRepaired) || rep.Young != tc.young || rep.Busy+rep.Failed != 0 {
				t.Errorf("report %+v, want repaired %v, young %d", rep, wantRepaired, tc.young)
			}
		})
	}
}

// A busy game is skipped and a failed repair is counted; neither stops the
// pass, and only what was repaired counts as a drift.
func TestABusyOrFailingGameDoesNotStopThePass(t *testing.T) {
	f := newFixture(t)
	f.repairs.busy = map[string]bool{"g1": true}
	f.repairs.failing = map[string]bool{"g2": true}
	f.world(nil, []domain.Record{rec("g1", domain.StatusRunning, "c1"), rec("g2", domain.StatusRunning, "c2"),
		rec("g3", domain.StatusRunning, "c3")})
	f.metrics.EXPECT().ReconcileDrift(domain.OpReconcileDispose).Times(1)
	f.metrics.EXPECT().ReconcilePassed(t0, time.Duration(0))

	rep, err := f.r.Pass(t.Context())

	if err != nil {
		t.Fatal(err)
	}
	if len(f.repairs.sorted()) != 3 || rep.Busy != 1 || rep.Failed != 1 || rep.Repaired[domain.OpReconcileDispose] != 1 {
		t.Errorf("asked %v, report %+v: want all three asked, one busy, one failed, one repaired", f.repairs.sorted(), rep)
	}
}

// One listing of containers, and records a page of 1,000 at a time: a pass
// over thousands of games makes a handful of calls, not one per game.
func TestAPassListsRecordsByPages(t *testing.T) {
	f := newFixture(t)
	page := func(from, n int) []domain.Record {
		var rs []domain.Record
		for i := from; i < from+n; i++ {
			id := fmt.Sprintf("g%05d", i)
			rs = append(rs, rec(id, domain.StatusStopped, "c"+id))
		}
		return rs
	}
	first, second := page(0, 1000), page(1000, 3)
	var cs []ports.ContainerInfo
	for _, r := range append(slices.Clone(first), second...) {
		cs = append(cs, ctr(r.GameID, r.CurrentContainerID, false, old))
	}
	gomock.InOrder(
		f.docker.EXPECT().ListOwned(gomock.Any()).Return(cs, nil),
		f.records.EXPECT().List(gomock.Any(), ports.ListRuntimesQuery{Limit: 1000}).Return(first, nil),
		f.records.EXPECT().List(gomock.Any(), ports.ListRuntimesQuery{Limit: 1000, AfterGameID: "g00999"}).Return(second, nil),
	)
	f.metrics.EXPECT().ReconcilePassed(t0, time.Duration(0))

	if _, err := f.r.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := f.repairs.sorted(); len(got) != 0 {
		t.Errorf("asked for %v on agreeing records", got)
	}
}

func TestAPassThatCannotListRepairsNothingAndRecordsNoPass(t *testing.T) {
	for _, tc := range []struct {
		name    string
		records bool // the container listing worked
	}{
		{name: "Docker down"},
		{name: "PostgreSQL down", records: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.records {
				f.docker.EXPECT().ListOwned(gomock.Any()).Return(nil, nil)
				f.records.EXPECT().List(gomock.Any(), gomock.Any()).Return(nil, errDown)
			} else {
				f.docker.EXPECT().ListOwned(gomock.Any()).Return(nil, errDown)
			}

			if _, err := f.r.Pass(t.Context()); !errors.Is(err, errDown) {
				t.Fatalf("Pass = %v, want the listing's error", err)
			}
		})
	}
}

// Trigger never blocks, however often it is called while no pass can run,
// and Run makes a pass for it without waiting for the interval (an hour).
func TestTriggerAsksRunForAPass(t *testing.T) {
	f := newFixture(t)
	for range 1000 {
		f.r.Trigger()
	}
	listed := make(chan struct{})
	f.docker.EXPECT().ListOwned(gomock.Any()).DoAndReturn(func(context.Context) ([]ports.ContainerInfo, error) {
		close(listed)
		return nil, errDown
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.r.Run(ctx)
	}()
	<-listed
	cancel()
	<-done
}

// gated holds every repair until released, noting how many were in flight
// at once; full closes when limit are.
type gated struct {
	repairs
	limit   int
	mu      sync.Mutex
	now     int
	most    int
	full    chan struct{}
	release chan struct{}
}

func (g *gated) Dispose(ctx context.Context, in lifecycle.DisposeInput) (bool, error) {
	g.mu.Lock()
	g.now++
	g.most = max(g.most, g.now)
	if g.now == g.limit {
		select {
		case <-g.full: // full once already: after the release, later repairs fill up again
		default:
			close(g.full)
		}
	}
	g.mu.Unlock()
	<-g.release
	g.mu.Lock()
	g.now--
	g.mu.Unlock()
	return g.repairs.Dispose(ctx, in)
}

// Repairs run side by side, but never more than Concurrency (4) at once: the
// fake holds them until four are in flight (a pass running them one by one
// would never get there), then lets all go.
func TestAPassRunsAtMostConcurrencyRepairsAtOnce(t *testing.T) {
	f := newFixture(t)
	g := &gated{limit: 4, full: make(chan struct{}), release: make(chan struct{})}
	clock := mocks.NewMockClock(gomock.NewController(t))
	clock.EXPECT().Now().Return(t0).AnyTimes()
	r := reconcile.New(reconcile.Config{Deployment: deployment, Interval: time.Hour, Grace: grace, Concurrency: 4},
		reconcile.Deps{Docker: f.docker, Records: f.records, Repairs: g, Clock: clock, Metrics: f.metrics,
			Logger: slog.New(slog.DiscardHandler)})
	var rs []domain.Record
	for i := range 10 {
		rs = append(rs, rec(fmt.Sprintf("g%d", i), domain.StatusStopped, fmt.Sprintf("c%d", i)))
	}
	f.world(nil, rs)
	f.metrics.EXPECT().ReconcileDrift(domain.OpReconcileDispose).Times(10)
	f.metrics.EXPECT().ReconcilePassed(t0, time.Duration(0))
	done := make(chan reconcile.Report)
	go func() {
		rep, _ := r.Pass(t.Context())
		done <- rep
	}()

	<-g.full
	close(g.release)
	rep := <-done

	if g.most != 4 || rep.Repaired[domain.OpReconcileDispose] != 10 {
		t.Errorf("at most %d repairs at once, %v repaired; want 4 at once, all 10", g.most, rep.Repaired)
	}
}
