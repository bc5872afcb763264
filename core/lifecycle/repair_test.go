package lifecycle_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

func exitedContainer(code int, oom bool) ports.ContainerInfo {
	c := ownedContainer(oldCID)
	c.ExitCode, c.OOMKilled = code, oom
	return c
}

// wantRepairRow checks the single row a repair wrote, about the old container.
func (f *fixture) wantRepairRow(kind domain.OpKind, src domain.OpSource, details map[string]any) {
	f.t.Helper()
	f.wantRepairRowOn(kind, src, oldCID, ref100, details)
}

// wantRepairRowOn checks the single row a repair wrote, about container cid of image ref.
func (f *fixture) wantRepairRowOn(kind domain.OpKind, src domain.OpSource, cid, ref string, details map[string]any) {
	f.t.Helper()
	rows := f.snapshotRows()
	if len(rows) != 1 {
		f.t.Fatalf("appended %d rows, want the repair's one:\n%s", len(rows), dumpRows(rows))
	}
	r := rows[0]
	if r.Kind != kind || r.Source != src || r.Outcome != domain.OutcomeSuccess || r.ErrorCode != domain.CodeNone ||
		r.GameID != game || r.ContainerID != cid || r.ImageRef != ref || r.CorrelationID == "" {
		f.t.Errorf("row = %s source=%s, want kind=%s source=%s on %s/%s", dumpRows(rows), r.Source, kind, src, cid, ref)
	}
	if !reflect.DeepEqual(r.Details, details) {
		f.t.Errorf("row details = %v, want %v", r.Details, details)
	}
}

func observeExit(f *fixture, src domain.OpSource, code int, oom bool) (bool, error) {
	return f.svc().ObserveExit(ctx, lifecycle.ExitInput{GameID: game, ContainerID: oldCID, ExitCode: code, OOM: oom, Source: src})
}

func TestObserveExitStopsTheRecordAndEmitsOneEvent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		src      domain.OpSource
		eventOOM bool // the listener saw an oom event before the die
		inspect  ports.ContainerInfo
		inspErr  error
		want     domain.HealthSnapshot
		details  map[string]any
	}{
		{
			name: "listener: Docker's exit code wins over the event's", src: domain.SourceDockerEvent, inspect: exitedContainer(137, false),
			want: domain.HealthSnapshot{Status: domain.HealthExited, Source: domain.HealthSourceDockerEvent,
				LastEventType: domain.EventContainerExited, Details: details("exit_code", 137, "oom", false)},
			details: details("exit_code", 137, "oom", false),
		},
		{
			name: "listener: an exit after an oom event is container_oom", src: domain.SourceDockerEvent, eventOOM: true,
			inspect: exitedContainer(137, false),
			want: domain.HealthSnapshot{Status: domain.HealthOOM, Source: domain.HealthSourceDockerEvent,
				LastEventType: domain.EventContainerOOM, Details: details("exit_code", 137)},
			details: details("exit_code", 137, "oom", true),
		},
		{
			name: "listener: a container removed since keeps the event's code", src: domain.SourceDockerEvent, inspErr: errNoContainer,
			want: domain.HealthSnapshot{Status: domain.HealthExited, Source: domain.HealthSourceDockerEvent,
				LastEventType: domain.EventContainerExited, Details: details("exit_code", 3, "oom", false)},
			details: details("exit_code", 3, "oom", false),
		},
		{
			name: "reconciler: an OOM kill is container_exited saying oom", src: domain.SourceAutoReconcile, inspect: exitedContainer(137, true),
			want: domain.HealthSnapshot{Status: domain.HealthExited, Source: domain.HealthSourceReconcile,
				LastEventType: domain.EventContainerExited, Details: details("exit_code", 137, "oom", true)},
			details: details("exit_code", 137, "oom", true),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			prev := f.rec(domain.StatusRunning, ref100, oldCID)
			f.expectLease()
			want := tc.want
			want.GameID, want.ContainerID, want.ObservedAt = game, oldCID, t0
			gomock.InOrder(
				f.expectRecord(&prev),
				f.docker.EXPECT().InspectContainer(gomock.Any(), oldCID).Return(tc.inspect, tc.inspErr),
				f.expectCAS(prev, casUpdate(domain.StatusRunning, domain.StatusStopped, oldCID, "", ""), nil),
			)
			f.expectEmitted(want)

			changed, err := observeExit(f, tc.src, 3, tc.eventOOM)

			if !changed || err != nil {
				t.Fatalf("ObserveExit = %v, %v; want changed", changed, err)
			}
			f.wantRepairRow(domain.OpReconcileObserveExit, tc.src, tc.details)
		})
	}
}

// Nothing to repair writes nothing: no compare-and-swap, no row, no event
// (the strict mocks fail on any call not expected here).
func TestObserveExitLeavesAloneWhatIsNotAnExitOfTheRecordedContainer(t *testing.T) {
	running := func(cid string) *domain.Record {
		r := newFixture(t).rec(domain.StatusRunning, ref100, cid)
		return &r
	}
	stopped := newFixture(t).rec(domain.StatusStopped, ref100, oldCID)
	for _, tc := range []struct {
		name    string
		rec     *domain.Record
		inspect *ports.ContainerInfo
	}{
		{name: "no record", rec: nil},
		{name: "record already stopped (RTM stopped it)", rec: &stopped},
		{name: "record names the next container (RTM restarted it)", rec: running(newCID)},
		{name: "Docker says the container runs", rec: running(oldCID), inspect: &ports.ContainerInfo{ID: oldCID, Running: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			f.records.EXPECT().Get(gomock.Any(), game).DoAndReturn(func(context.Context, string) (domain.Record, error) {
				if tc.rec == nil {
					return domain.Record{}, errNoContainer
				}
				return *tc.rec, nil
			})
			if tc.inspect != nil {
				f.docker.EXPECT().InspectContainer(gomock.Any(), oldCID).Return(*tc.inspect, nil)
			}

			changed, err := observeExit(f, domain.SourceDockerEvent, 1, false)

			if changed || err != nil {
				t.Fatalf("ObserveExit = %v, %v; want nothing changed, no error", changed, err)
			}
			f.wantRows(game)
		})
	}
}

func TestARepairThatLosesTheCompareAndSwapRecordsNothing(t *testing.T) {
	f := newFixture(t)
	prev := f.rec(domain.StatusRunning, ref100, oldCID)
	f.expectLease()
	gomock.InOrder(
		f.expectRecord(&prev),
		f.docker.EXPECT().InspectContainer(gomock.Any(), oldCID).Return(exitedContainer(1, false), nil),
		f.expectCAS(prev, casUpdate(domain.StatusRunning, domain.StatusStopped, oldCID, "", ""), errCAS),
	)

	changed, err := observeExit(f, domain.SourceAutoReconcile, 1, false)

	if changed || err != nil {
		t.Fatalf("ObserveExit = %v, %v; want nothing changed, no error", changed, err)
	}
	f.wantRows(game)
}

func TestARepairThatCannotAskDockerChangesNothingAndSaysWhy(t *testing.T) {
	f := newFixture(t)
	prev := f.rec(domain.StatusRunning, ref100, oldCID)
	f.expectLease()
	f.expectRecord(&prev)
	f.docker.EXPECT().InspectContainer(gomock.Any(), oldCID).Return(ports.ContainerInfo{}, errDockerDown)

	changed, err := observeExit(f, domain.SourceAutoReconcile, 1, false)

	if changed || !errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("ObserveExit = %v, %v; want nothing changed and Docker's error", changed, err)
	}
	f.wantRows(game)
}

func TestAReconcileRepairSkipsABusyGame(t *testing.T) {
	f := newFixture(t)
	f.leases.EXPECT().Acquire(gomock.Any(), game).Return(nil, ports.ErrLeaseBusy)
	f.metrics.EXPECT().LeaseConflict()

	changed, err := observeExit(f, domain.SourceAutoReconcile, 1, false)

	if changed || !errors.Is(err, lifecycle.ErrGameBusy) {
		t.Fatalf("ObserveExit = %v, %v; want ErrGameBusy", changed, err)
	}
}

// The listener waits the busy lease out, then judges by the record as the
// lease's holder left it.
func TestAnEventRepairWaitsForABusyGame(t *testing.T) {
	f := newFixture(t)
	stopped := f.rec(domain.StatusStopped, ref100, oldCID)
	gomock.InOrder(
		f.leases.EXPECT().Acquire(gomock.Any(), game).Return(nil, ports.ErrLeaseBusy).Times(2),
		f.leases.EXPECT().Acquire(gomock.Any(), game).Return(f.lease, nil),
	)
	f.lease.EXPECT().Release()
	f.expectRecord(&stopped)

	changed, err := observeExit(f, domain.SourceDockerEvent, 0, false)

	if changed || err != nil {
		t.Fatalf("ObserveExit = %v, %v; want nothing changed after the wait", changed, err)
	}
}

func TestAnEventRepairGivesUpWaitingWhenItsContextEnds(t *testing.T) {
	f := newFixture(t)
	f.leases.EXPECT().Acquire(gomock.Any(), game).Return(nil, ports.ErrLeaseBusy).MinTimes(1)
	c, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()

	changed, err := f.svc().ObserveExit(c, lifecycle.ExitInput{GameID: game, ContainerID: oldCID, Source: domain.SourceDockerEvent})

	if changed || err == nil {
		t.Fatalf("ObserveExit = %v, %v; want an error once the context ended", changed, err)
	}
}

func TestDisposeRecordsAGoneContainerRemoved(t *testing.T) {
	for _, tc := range []struct {
		name  string
		from  domain.Status
		src   domain.OpSource
		event *domain.HealthSnapshot // nil: none owed
	}{
		{name: "running, found by the reconciler", from: domain.StatusRunning, src: domain.SourceAutoReconcile,
			event: &domain.HealthSnapshot{Status: domain.HealthDisappeared, Source: domain.HealthSourceReconcile,
				LastEventType: domain.EventContainerDisappeared, Details: details("detected_by", "reconcile")}},
		{name: "running, destroyed behind RTM's back", from: domain.StatusRunning, src: domain.SourceDockerEvent,
			event: &domain.HealthSnapshot{Status: domain.HealthDisappeared, Source: domain.HealthSourceDockerEvent,
				LastEventType: domain.EventContainerDisappeared, Details: details("detected_by", "docker_event")}},
		{name: "stopped: no event", from: domain.StatusStopped, src: domain.SourceAutoReconcile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			prev := f.rec(tc.from, ref100, oldCID)
			f.expectLease()
			gomock.InOrder(
				f.expectRecord(&prev),
				f.docker.EXPECT().InspectContainer(gomock.Any(), oldCID).Return(ports.ContainerInfo{}, errNoContainer),
				f.expectCAS(prev, casUpdate(tc.from, domain.StatusRemoved, oldCID, "", ""), nil),
			)
			if tc.event != nil {
				want := *tc.event
				want.GameID, want.ContainerID, want.ObservedAt = game, oldCID, t0
				f.expectEmitted(want)
			}

			changed, err := f.svc().Dispose(ctx, lifecycle.DisposeInput{GameID: game, ContainerID: oldCID, Source: tc.src})

			if !changed || err != nil {
				t.Fatalf("Dispose = %v, %v; want changed", changed, err)
			}
			f.wantRepairRow(domain.OpReconcileDispose, tc.src, details("previous_status", string(tc.from)))
		})
	}
}

func TestDisposeLeavesARecordWhoseContainerStillExists(t *testing.T) {
	f := newFixture(t)
	prev := f.rec(domain.StatusStopped, ref100, oldCID)
	f.expectLease()
	f.expectRecord(&prev)
	f.docker.EXPECT().InspectContainer(gomock.Any(), oldCID).Return(exitedContainer(0, false), nil)

	changed, err := f.svc().Dispose(ctx, lifecycle.DisposeInput{GameID: game, ContainerID: oldCID, Source: domain.SourceAutoReconcile})

	if changed || err != nil {
		t.Fatalf("Dispose = %v, %v; want nothing changed", changed, err)
	}
	f.wantRows(game)
}
