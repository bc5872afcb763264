package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/core/limits"
	"github.com/galaxy/rtmanager/ports"
	"github.com/galaxy/rtmanager/ports/mocks"
)

// The fixed world every test runs in.
const (
	game       = "g-1"
	network    = "galaxy-net"
	deployment = "eu-blue"
	// stateRoot is where the fake state directories live; nothing in these
	// unit tests touches the filesystem (adapters/statedir does, tested there).
	stateRoot = "/srv/galaxy/games"
	ref100    = "galaxy/game:1.0.0"
	ref101    = "galaxy/game:1.0.1"
	ref110    = "galaxy/game:1.1.0"
	ref200    = "galaxy/game:2.0.0"
	oldCID    = "c-old"
	newCID    = "c-new"
)

var (
	t0       = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	meta     = lifecycle.Meta{Source: domain.SourceGMRest, SourceRef: "req-7"}
	endpoint = domain.EngineEndpoint(game)
	ctrName  = domain.ContainerName(game)
	ctx      = context.Background()

	errBoom        = errors.New("boom")
	errDockerDown  = fmt.Errorf("docker: %w", ports.ErrUnavailable)
	errStoreDown   = fmt.Errorf("postgres: %w", ports.ErrUnavailable)
	errNoContainer = fmt.Errorf("container: %w", ports.ErrNotFound)
	errCAS         = fmt.Errorf("update: %w", ports.ErrConflict)
	errNotReady    = errors.New("connection refused")
	errNameTaken   = fmt.Errorf("create: name in use: %w", ports.ErrConflict)
)

// fixture wires a lifecycle.Service to strict gomock ports: any Docker, store,
// lease or publisher call a test did not expect fails it, which is how tests
// assert the calls that must NOT happen. Operation-log rows, notification
// intents and metrics are captured for assertions instead.
type fixture struct {
	t       *testing.T
	cfg     lifecycle.Config
	docker  *mocks.MockDocker
	records *mocks.MockRuntimeStore
	health  *mocks.MockHealthStore
	leases  *mocks.MockLeases
	lease   *mocks.MockLease
	events  *mocks.MockHealthPublisher
	prober  *mocks.MockEngineProber
	metrics *mocks.MockMetrics
	clock   *mocks.MockClock
	ops     *mocks.MockOperationLog
	notes   *mocks.MockNotificationPublisher
	dirs    *mocks.MockStateDirs
	fences  *mocks.MockJobFences
	lobby   ports.LobbyClient

	// dirCreated and dirErr script what StateDirs.Ensure answers.
	dirCreated bool
	dirErr     error
	ensured    int      // Ensure calls
	dropped    []string // RemoveIfEmpty paths

	mu      sync.Mutex
	rows    []domain.Operation
	intents []domain.NotificationIntent
	done    []domain.OpKind
	appendE error // Append fails with it when set
	// conditions are the RecordConditions of every conditional upsert.
	conditions []ports.RecordCondition
}

func (f *fixture) noteCondition(c ports.RecordCondition) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conditions = append(f.conditions, c)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctrl := gomock.NewController(t)
	f := &fixture{
		t: t,
		cfg: lifecycle.Config{
			Deployment:     deployment,
			Network:        network,
			StateMountPath: "/var/lib/galaxy-game",
			StateEnvName:   "GAME_STATE_PATH",
			PullPolicy:     domain.PullIfMissing,
			DefaultLimits:  limits.Limits{NanoCPUs: 1e9, MemoryBytes: 512 << 20, PidsLimit: 512},
			StopTimeout:    30 * time.Second,
			ReadyTimeout:   100 * time.Millisecond,
			EngineAddress:  lifecycle.AddressEndpoint,
			// One slot, so a test that forgets a semaphore release would hang.
			StartConcurrency: 1,
			LogDriver:        "json-file",
			LogOptions:       map[string]string{"max-size": "10m", "max-file": "3"},
		},
		docker:  mocks.NewMockDocker(ctrl),
		records: mocks.NewMockRuntimeStore(ctrl),
		health:  mocks.NewMockHealthStore(ctrl),
		leases:  mocks.NewMockLeases(ctrl),
		lease:   mocks.NewMockLease(ctrl),
		events:  mocks.NewMockHealthPublisher(ctrl),
		prober:  mocks.NewMockEngineProber(ctrl),
		metrics: mocks.NewMockMetrics(ctrl),
		fences:  mocks.NewMockJobFences(ctrl),
	}
	clock := mocks.NewMockClock(ctrl)
	clock.EXPECT().Now().Return(t0).AnyTimes()
	f.clock = clock

	ops := mocks.NewMockOperationLog(ctrl)
	ops.EXPECT().Append(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, op domain.Operation) (int64, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.appendE != nil {
			return 0, f.appendE
		}
		f.rows = append(f.rows, op)
		return int64(100 + len(f.rows)), nil
	}).AnyTimes()
	f.ops = ops

	notes := mocks.NewMockNotificationPublisher(ctrl)
	notes.EXPECT().PublishIntent(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, n domain.NotificationIntent) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.intents = append(f.intents, n)
		return nil
	}).AnyTimes()
	f.notes = notes

	// The state directory port behaves like a directory that exists already
	// unless a test says otherwise; its calls are counted for assertions.
	f.dirs = mocks.NewMockStateDirs(ctrl)
	f.dirs.EXPECT().Ensure(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, id string) (ports.StateDir, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.ensured++
		if f.dirErr != nil {
			return ports.StateDir{}, f.dirErr
		}
		return ports.StateDir{Path: filepath.Join(stateRoot, id), Created: f.dirCreated}, nil
	}).AnyTimes()
	f.dirs.EXPECT().RemoveIfEmpty(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, path string) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.dropped = append(f.dropped, path)
		return nil
	}).AnyTimes()

	f.metrics.EXPECT().OperationDone(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).
		Do(func(k domain.OpKind, _ domain.OpSource, _ domain.Outcome, _ domain.ErrorCode, _ time.Duration) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.done = append(f.done, k)
		}).AnyTimes()

	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.appendE == nil && len(f.done) != len(f.rows) {
			t.Errorf("%d OperationDone metrics for %d log rows: every row must be counted once", len(f.done), len(f.rows))
		}
	})
	return f
}

func (f *fixture) svc() *lifecycle.Service {
	ids := mocks.NewMockIDs(gomock.NewController(f.t))
	var n atomic.Int64 // concurrent operations ask for ids at once
	ids.EXPECT().NewID().DoAndReturn(func() string { return fmt.Sprintf("corr-%d", n.Add(1)) }).AnyTimes()
	return lifecycle.New(f.cfg, lifecycle.Deps{
		Docker: f.docker, Records: f.records, Operations: f.ops, Health: f.health, Leases: f.leases, Fences: f.fences,
		StateDirs: f.dirs, HealthEvents: f.events, Notifications: f.notes, Prober: f.prober, Lobby: f.lobby,
		Clock: f.clock, IDs: ids, Metrics: f.metrics, Logger: slog.New(slog.DiscardHandler),
	})
}

func (f *fixture) statePath() string { return filepath.Join(stateRoot, game) }

// stateDirCalls reports how often Ensure ran and which paths were taken back.
func (f *fixture) stateDirCalls() (ensured int, dropped []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ensured, append([]string(nil), f.dropped...)
}

// ---- records ----

func (f *fixture) rec(st domain.Status, ref, cid string) domain.Record {
	created := t0.Add(-48 * time.Hour)
	r := domain.Record{
		GameID: game, Status: st, CurrentContainerID: cid, CurrentImageRef: ref,
		EngineEndpoint: endpoint, StatePath: f.statePath(), DockerNetwork: network,
		LastOpAt: t0.Add(-time.Hour), CreatedAt: created,
	}
	started := t0.Add(-2 * time.Hour)
	r.StartedAt = &started
	if st != domain.StatusRunning {
		stopped := t0.Add(-time.Hour)
		r.StoppedAt = &stopped
	}
	return r
}

// ---- expectation helpers (each returns its call for ordering) ----

// expectLease: the game's lease is taken once and released once.
func (f *fixture) expectLease() {
	f.leases.EXPECT().Acquire(gomock.Any(), game).Return(f.lease, nil)
	f.lease.EXPECT().Release().Times(1)
	// A nil channel never closes: the lease is never lost unless a test says so.
	f.lease.EXPECT().Lost().Return(nil).AnyTimes()
}

// expectRecord: the record read under the lease; nil means there is none
// (and then no other game's id differs from this one only in case).
func (f *fixture) expectRecord(r *domain.Record) *gomock.Call {
	if r == nil {
		f.records.EXPECT().OtherCaseOf(gomock.Any(), game).Return("", errNoContainer).AnyTimes()
		return f.records.EXPECT().Get(gomock.Any(), game).Return(domain.Record{}, errNoContainer)
	}
	return f.records.EXPECT().Get(gomock.Any(), game).Return(*r, nil)
}

func (f *fixture) expectNetwork() *gomock.Call {
	return f.docker.EXPECT().NetworkExists(gomock.Any(), network).Return(true, nil)
}

func (f *fixture) expectImage(ref string, labels map[string]string) *gomock.Call {
	return f.docker.EXPECT().ImageInspect(gomock.Any(), ref).Return(ports.ImageInfo{ID: "sha256:" + ref, Labels: labels}, nil)
}

// expectPreflight: network present, image present, no limit labels.
func (f *fixture) expectPreflight(ref string) {
	gomock.InOrder(f.expectNetwork(), f.expectImage(ref, nil))
}

// expectNoLeftover: no container carries the game's name (cleanup's fallback).
func (f *fixture) expectNoLeftover() *gomock.Call {
	return f.docker.EXPECT().InspectContainer(gomock.Any(), ctrName).Return(ports.ContainerInfo{}, errNoContainer)
}

func ownedContainer(id string) ports.ContainerInfo {
	return ports.ContainerInfo{ID: id, Name: ctrName, State: "exited",
		Labels: map[string]string{ports.LabelOwner: ports.OwnerValue, ports.LabelDeployment: deployment, ports.LabelGameID: game}}
}

// expectLeftover: a container with the game's name exists.
func (f *fixture) expectLeftover(c ports.ContainerInfo) *gomock.Call {
	return f.docker.EXPECT().InspectContainer(gomock.Any(), ctrName).Return(c, nil)
}

// expectNameTaken: the first create of a launch finds the game's name taken
// by a leftover container.
func (f *fixture) expectNameTaken() *gomock.Call {
	return f.docker.EXPECT().CreateContainer(gomock.Any(), gomock.Any()).Return("", errNameTaken)
}

// expectLeftoverRemoved: an owned container with the game's name is found and
// removed; the removal is returned.
func (f *fixture) expectLeftoverRemoved(id string) *gomock.Call {
	return f.docker.EXPECT().RemoveContainer(gomock.Any(), id).Return(nil).After(f.expectLeftover(ownedContainer(id)))
}

// specs collects the ContainerSpecs passed to CreateContainer.
type specs struct {
	mu  sync.Mutex
	all []ports.ContainerSpec
}

func (s *specs) last(t *testing.T) ports.ContainerSpec {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.all) == 0 {
		t.Fatal("CreateContainer was never called")
	}
	return s.all[len(s.all)-1]
}

// expectCreate: CreateContainer answers id (or err) and records the spec.
func (f *fixture) expectCreate(id string, err error, into *specs) *gomock.Call {
	return f.docker.EXPECT().CreateContainer(gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, spec ports.ContainerSpec) (string, error) {
			if into != nil {
				into.mu.Lock()
				into.all = append(into.all, spec)
				into.mu.Unlock()
			}
			if err != nil {
				return "", err
			}
			return id, nil
		})
}

func (f *fixture) expectStartContainer(id string, err error) *gomock.Call {
	return f.docker.EXPECT().StartContainer(gomock.Any(), id).Return(err)
}

func (f *fixture) expectReady(base string) *gomock.Call {
	return f.prober.EXPECT().Healthz(gomock.Any(), base).Return(nil)
}

// expectNeverReady: /healthz never answers 200 while the container keeps
// running; the engine is then parked (see expectParked).
func (f *fixture) expectNeverReady(id string) (stop, upsert *gomock.Call, stored *domain.Record) {
	f.prober.EXPECT().Healthz(gomock.Any(), endpoint).Return(errNotReady).MinTimes(1)
	return f.expectParked(id)
}

// expectParked: an engine that did not get ready (and still runs when the
// gate checks) is stopped and its game recorded stopped by upsert.
func (f *fixture) expectParked(id string) (stop, upsert *gomock.Call, stored *domain.Record) {
	f.docker.EXPECT().InspectContainer(gomock.Any(), id).Return(ports.ContainerInfo{ID: id, Running: true, State: "running"}, nil).AnyTimes()
	stop = f.docker.EXPECT().StopContainer(gomock.Any(), id, f.cfg.StopTimeout).Return(nil)
	stored = new(domain.Record)
	upsert = f.records.EXPECT().UpsertIf(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, r domain.Record, c ports.RecordCondition) (domain.Record, error) {
			f.noteCondition(c)
			*stored = r
			return r, nil
		})
	return stop, upsert, stored
}

// expectUpsert: the record is installed by the conditional upsert; the
// written record is returned in *got, its condition in f.conditions.
func (f *fixture) expectUpsert(err error) (*gomock.Call, *domain.Record) {
	got := new(domain.Record)
	c := f.records.EXPECT().UpsertIf(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, r domain.Record, cond ports.RecordCondition) (domain.Record, error) {
			f.noteCondition(cond)
			*got = r
			if err != nil {
				return domain.Record{}, err
			}
			return r, nil
		})
	return c, got
}

// expectCAS: exactly this compare-and-swap, applied to prev.
func (f *fixture) expectCAS(prev domain.Record, u ports.StatusUpdate, err error) *gomock.Call {
	return f.records.EXPECT().UpdateStatus(gomock.Any(), u).DoAndReturn(
		func(_ context.Context, u ports.StatusUpdate) (domain.Record, error) {
			if err != nil {
				return domain.Record{}, err
			}
			r := prev
			r.Status, r.LastOpAt = u.To, u.At
			switch u.To {
			case domain.StatusRunning:
				r.CurrentContainerID, r.CurrentImageRef, r.StartedAt = u.ContainerID, u.ImageRef, &u.At
			case domain.StatusStopped:
				r.StoppedAt = &u.At
			case domain.StatusRemoved:
				r.RemovedAt = &u.At
			}
			return r, nil
		})
}

func casUpdate(from, to domain.Status, expected, cid, ref string) ports.StatusUpdate {
	return ports.StatusUpdate{GameID: game, From: from, To: to, ExpectedContainerID: expected,
		ContainerID: cid, ImageRef: ref, At: t0}
}

// expectStarted: container_started is recorded.
func (f *fixture) expectStarted(id, ref string) {
	f.expectEmitted(domain.HealthSnapshot{
		GameID: game, ContainerID: id, Status: domain.HealthHealthy, Source: domain.HealthSourceStart,
		LastEventType: domain.EventContainerStarted, Details: map[string]any{"image_ref": ref}, ObservedAt: t0,
	})
}

// expectEmitted: one health observation is recorded — its snapshot upserted
// BEFORE its event is published, then counted.
func (f *fixture) expectEmitted(snap domain.HealthSnapshot) {
	gomock.InOrder(
		f.health.EXPECT().Upsert(gomock.Any(), snap).Return(nil),
		f.events.EXPECT().PublishHealth(gomock.Any(), domain.HealthEvent{
			GameID: snap.GameID, ContainerID: snap.ContainerID, Type: snap.LastEventType,
			OccurredAt: snap.ObservedAt, Details: snap.Details,
		}).Return(nil),
		f.metrics.EXPECT().HealthEventPublished(snap.LastEventType),
	)
}

// expectLaunch: the happy launch of ref as container id after the pre-flight:
// create (the name is free), start, ready. It returns the spec collector.
func (f *fixture) expectLaunch(id string) *specs {
	s := &specs{}
	gomock.InOrder(
		f.expectCreate(id, nil, s),
		f.expectStartContainer(id, nil),
		f.expectReady(endpoint),
	)
	return s
}

// ---- assertions ----

// row is the expected shape of one operation-log row.
type row struct {
	kind      domain.OpKind
	code      domain.ErrorCode
	image     string
	container string
	details   map[string]any
}

func (r row) outcome() domain.Outcome {
	if r.code == domain.CodeNone || r.code == domain.CodeReplayNoOp {
		return domain.OutcomeSuccess
	}
	return domain.OutcomeFailure
}

// wantRows checks the appended rows, in order, field by field; all rows of one
// call share one correlation id and carry the caller's source and source ref.
func (f *fixture) wantRows(gameID string, want ...row) []domain.Operation {
	f.t.Helper()
	got := f.snapshotRows()
	if len(got) != len(want) {
		f.t.Fatalf("appended %d operation rows, want %d:\n%s", len(got), len(want), dumpRows(got))
	}
	for i, w := range want {
		g := got[i]
		if g.Kind != w.kind || g.Outcome != w.outcome() || g.ErrorCode != w.code ||
			g.ImageRef != w.image || g.ContainerID != w.container || g.GameID != gameID {
			f.t.Errorf("row %d = %s\nwant kind=%s outcome=%s code=%q image=%q container=%q game=%q",
				i, dumpRows(got[i:i+1]), w.kind, w.outcome(), w.code, w.image, w.container, gameID)
		}
		if !reflect.DeepEqual(g.Details, w.details) && !(len(g.Details) == 0 && len(w.details) == 0) {
			f.t.Errorf("row %d (%s) details = %v, want %v", i, g.Kind, g.Details, w.details)
		}
		if g.Source != meta.Source || g.SourceRef != meta.SourceRef {
			f.t.Errorf("row %d source = %s/%q, want %s/%q", i, g.Source, g.SourceRef, meta.Source, meta.SourceRef)
		}
		if g.CorrelationID == "" || g.CorrelationID != got[0].CorrelationID {
			f.t.Errorf("row %d correlation id %q, want the shared non-empty %q", i, g.CorrelationID, got[0].CorrelationID)
		}
		if (g.Outcome == domain.OutcomeFailure) != (g.ErrorMessage != "") {
			f.t.Errorf("row %d: outcome %s with error message %q", i, g.Outcome, g.ErrorMessage)
		}
		if !g.StartedAt.Equal(t0) || !g.FinishedAt.Equal(t0) {
			f.t.Errorf("row %d times %v..%v, want the fixed clock", i, g.StartedAt, g.FinishedAt)
		}
	}
	return got
}

func dumpRows(rows []domain.Operation) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "  {kind=%s outcome=%s code=%q image=%q container=%q details=%v msg=%q}\n",
			r.Kind, r.Outcome, r.ErrorCode, r.ImageRef, r.ContainerID, r.Details, r.ErrorMessage)
	}
	return b.String()
}

func (f *fixture) snapshotRows() []domain.Operation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]domain.Operation(nil), f.rows...)
}

// wantIntents checks the notification intents published, in order: one per
// listed row index of the failed start rows, keyed by that row's id.
func (f *fixture) wantIntents(want ...intentAt) {
	f.t.Helper()
	f.mu.Lock()
	got := append([]domain.NotificationIntent(nil), f.intents...)
	rows := append([]domain.Operation(nil), f.rows...)
	f.mu.Unlock()
	if len(got) != len(want) {
		f.t.Fatalf("published %d notification intents, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g, r := got[i], rows[w.row]
		id := int64(100 + w.row + 1)
		wantKey := fmt.Sprintf("runtime_manager:%s:%s:%d", r.GameID, w.typ, id)
		if g.Type != w.typ || g.OperationID != id || g.IdempotencyKey() != wantKey || g.GameID != r.GameID ||
			g.ImageRef != r.ImageRef || g.ErrorCode != r.ErrorCode || g.ErrorMessage != r.ErrorMessage ||
			!g.AttemptedAt.Equal(r.StartedAt) || !g.OccurredAt.Equal(r.FinishedAt) {
			f.t.Errorf("intent %d = %+v (key %s), want type %s for row %d %s (key %s)",
				i, g, g.IdempotencyKey(), w.typ, w.row, dumpRows([]domain.Operation{r}), wantKey)
		}
	}
}

type intentAt struct {
	row int
	typ domain.NotificationType
}

func wantResult(t *testing.T, res domain.Result, code domain.ErrorCode) {
	t.Helper()
	wantOutcome := row{code: code}.outcome()
	if res.Outcome != wantOutcome || res.ErrorCode != code {
		t.Fatalf("result = %s/%q (%s), want %s/%q", res.Outcome, res.ErrorCode, res.ErrorMessage, wantOutcome, code)
	}
	if res.Outcome == domain.OutcomeFailure && res.ErrorMessage == "" {
		t.Error("failure result without an error message")
	}
}

// wantRecord checks the fields of a record that the services decide.
func wantRecord(t *testing.T, what string, r *domain.Record, st domain.Status, ref, cid string) {
	t.Helper()
	if r == nil {
		t.Fatalf("%s: no record", what)
	}
	if r.GameID != game || r.Status != st || r.CurrentImageRef != ref || r.CurrentContainerID != cid ||
		r.EngineEndpoint != endpoint || r.DockerNetwork != network {
		t.Errorf("%s = %+v\nwant status=%s image=%q container=%q endpoint=%s network=%s", what, *r, st, ref, cid, endpoint, network)
	}
}

func details(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}
