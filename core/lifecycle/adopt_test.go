package lifecycle_test

import (
	"reflect"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

// unrecorded is a container of ours that a record does not name: newCID,
// made from ref101, its state directory mounted where engines keep state.
func unrecorded(f *fixture, running bool) ports.ContainerInfo {
	c := ownedContainer(newCID)
	c.Labels[ports.LabelImageRef] = ref101
	c.Image = ref101
	c.Mounts = map[string]string{f.cfg.StateMountPath: f.statePath()}
	c.StartedAt, c.FinishedAt = t0.Add(-10*time.Minute), t0.Add(-5*time.Minute)
	c.Running = running
	if running {
		c.State, c.FinishedAt = "running", time.Time{}
	}
	return c
}

func adopt(f *fixture) (bool, error) {
	return f.svc().Adopt(ctx, lifecycle.AdoptInput{GameID: game, ContainerID: newCID})
}

func TestAdoptRecordsAContainerNoRecordNames(t *testing.T) {
	started, finished := t0.Add(-10*time.Minute), t0.Add(-5*time.Minute)
	gone := func(st domain.Status) *domain.Record {
		r := newFixture(t).rec(st, ref100, oldCID)
		return &r
	}
	for _, tc := range []struct {
		name    string
		rec     *domain.Record // the record before; nil: none
		running bool
		want    domain.Status
		cond    ports.RecordCondition
		details map[string]any
	}{
		{name: "a running engine without a record is recorded running", running: true, want: domain.StatusRunning,
			cond: ports.RecordCondition{Status: domain.StatusRemoved}, details: details("container_state", "running")},
		{name: "an exited engine without a record is recorded stopped", want: domain.StatusStopped,
			cond: ports.RecordCondition{Status: domain.StatusRemoved}, details: details("container_state", "exited")},
		{name: "a removed record starts a new lifetime", rec: gone(domain.StatusRemoved), running: true, want: domain.StatusRunning,
			cond:    ports.RecordCondition{Status: domain.StatusRemoved, ContainerID: oldCID},
			details: details("container_state", "running", "previous_status", "removed", "previous_container_id", oldCID)},
		{name: "a record naming a container that is gone is replaced", rec: gone(domain.StatusRunning), running: true,
			want: domain.StatusRunning, cond: ports.RecordCondition{Status: domain.StatusRunning, ContainerID: oldCID},
			details: details("container_state", "running", "previous_status", "running", "previous_container_id", oldCID)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			calls := []any{f.expectRecord(tc.rec),
				f.docker.EXPECT().InspectContainer(gomock.Any(), newCID).Return(unrecorded(f, tc.running), nil)}
			if tc.rec != nil && tc.rec.Status != domain.StatusRemoved {
				calls = append(calls, f.docker.EXPECT().InspectContainer(gomock.Any(), oldCID).Return(ports.ContainerInfo{}, errNoContainer))
			}
			upsert, got := f.expectUpsert(nil)
			gomock.InOrder(append(calls, upsert)...)

			changed, err := adopt(f)

			if !changed || err != nil {
				t.Fatalf("Adopt = %v, %v; want changed", changed, err)
			}
			want := domain.Record{GameID: game, Status: tc.want, CurrentContainerID: newCID, CurrentImageRef: ref101,
				EngineEndpoint: endpoint, StatePath: f.statePath(), DockerNetwork: network, StartedAt: &started,
				LastOpAt: t0, CreatedAt: t0}
			if !tc.running {
				want.StoppedAt = &finished
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("adopted record\n got %+v\nwant %+v", *got, want)
			}
			if !reflect.DeepEqual(f.conditions, []ports.RecordCondition{tc.cond}) {
				t.Errorf("upsert conditions = %v, want [%v]", f.conditions, tc.cond)
			}
			f.wantRepairRowOn(domain.OpReconcileAdopt, domain.SourceAutoReconcile, newCID, ref101, tc.details)
		})
	}
}

// A container created and never started has no Docker times: it is
// recorded stopped as of the adoption.
func TestAdoptRecordsANeverStartedContainerStoppedNow(t *testing.T) {
	f := newFixture(t)
	c := unrecorded(f, false)
	c.State, c.StartedAt, c.FinishedAt = "created", time.Time{}, time.Time{}
	f.expectLease()
	f.expectRecord(nil)
	f.docker.EXPECT().InspectContainer(gomock.Any(), newCID).Return(c, nil)
	_, got := f.expectUpsert(nil)

	if changed, err := adopt(f); !changed || err != nil {
		t.Fatalf("Adopt = %v, %v; want changed", changed, err)
	}
	if got.Status != domain.StatusStopped || got.StartedAt != nil || got.StoppedAt == nil || !got.StoppedAt.Equal(t0) {
		t.Errorf("adopted record %+v: want stopped as of now, never started", *got)
	}
}

// Nothing to adopt writes nothing: no upsert, no row (the strict mocks fail
// on any call not expected here).
func TestAdoptLeavesAloneWhatIsNotAnUnrecordedContainerOfOurs(t *testing.T) {
	named := func(st domain.Status, cid string) *domain.Record {
		r := newFixture(t).rec(st, ref100, cid)
		return &r
	}
	foreign := func(f *fixture) ports.ContainerInfo {
		c := unrecorded(f, true)
		c.Labels[ports.LabelDeployment] = "eu-green"
		return c
	}
	otherGame := func(f *fixture) ports.ContainerInfo {
		c := unrecorded(f, true)
		c.Labels[ports.LabelGameID] = "g-2"
		return c
	}
	for _, tc := range []struct {
		name     string
		rec      *domain.Record
		inspect  func(f *fixture) ports.ContainerInfo // nil: not asked
		gone     bool                                 // Docker no longer has newCID
		recorded bool                                 // the record's own container is still there
	}{
		{name: "the record names it already", rec: named(domain.StatusStopped, newCID)},
		{name: "it is gone since the listing", inspect: func(*fixture) ports.ContainerInfo { return ports.ContainerInfo{} }, gone: true},
		{name: "it belongs to another deployment", inspect: foreign},
		{name: "its labels name another game", inspect: otherGame},
		{name: "the record's own container still exists", rec: named(domain.StatusStopped, oldCID),
			inspect: func(f *fixture) ports.ContainerInfo { return unrecorded(f, true) }, recorded: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			f.expectRecord(tc.rec)
			if tc.inspect != nil {
				var err error
				if tc.gone {
					err = errNoContainer
				}
				f.docker.EXPECT().InspectContainer(gomock.Any(), newCID).Return(tc.inspect(f), err)
			}
			if tc.recorded {
				f.docker.EXPECT().InspectContainer(gomock.Any(), oldCID).Return(ownedContainer(oldCID), nil)
			}

			changed, err := adopt(f)

			if changed || err != nil {
				t.Fatalf("Adopt = %v, %v; want nothing changed, no error", changed, err)
			}
			f.wantRows(game)
		})
	}
}

func TestAdoptRefusesALabelThatIsNoGameID(t *testing.T) {
	f := newFixture(t) // no lease, no Docker call: the strict mocks fail on any

	changed, err := f.svc().Adopt(ctx, lifecycle.AdoptInput{GameID: "../etc", ContainerID: newCID})

	if changed || domain.FailureOf(err).ErrorCode != domain.CodeInvalidRequest {
		t.Fatalf("Adopt = %v, %v; want invalid_request", changed, err)
	}
}

func TestAnAdoptionThatLosesTheCompareAndSwapRecordsNothing(t *testing.T) {
	f := newFixture(t)
	f.expectLease()
	f.expectRecord(nil)
	f.docker.EXPECT().InspectContainer(gomock.Any(), newCID).Return(unrecorded(f, true), nil)
	f.expectUpsert(errCAS)

	changed, err := adopt(f)

	if changed || err != nil {
		t.Fatalf("Adopt = %v, %v; want nothing changed, no error", changed, err)
	}
	f.wantRows(game)
}
