package lifecycle

import (
	"context"
	"errors"
	"fmt"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// Repairs bring a record in line with what happened to its container behind
// RTM's back (contract §7): the events listener reports an exit or a removal
// it saw, the reconciler one it found. Unlike an operation, a repair that
// finds nothing to repair writes nothing — no row, no event — and that is the
// common case: the die of a container RTM itself stopped, seen after the
// stop's compare-and-swap, or the same event seen by a second instance.
//
// A repair acts only under the game's lease, on the record as it stands then,
// and only after asking Docker about the recorded container, so RTM's own
// work (which holds the lease and updates the record) is never taken for
// drift, and of several instances exactly one wins each compare-and-swap and
// emits the event.

// ErrGameBusy means the game's lease is held: a reconcile pass skips the game
// and finds it again on its next pass.
var ErrGameBusy = errors.New("another operation on this game is in progress")

// ExitInput reports that a game's container stopped running.
type ExitInput struct {
	GameID      string
	ContainerID string
	// ExitCode and OOM as the observer saw them (the die event's exitCode,
	// an oom event before it); Docker's inspection, when the container still
	// exists, has the last word.
	ExitCode int
	OOM      bool
	// Source is docker_event (the events listener) or auto_reconcile.
	Source domain.OpSource
}

// DisposeInput reports that a game's container may no longer exist.
type DisposeInput struct {
	GameID      string
	ContainerID string
	// Source is docker_event (a destroy event) or auto_reconcile.
	Source domain.OpSource
}

// ObserveExit records the exit of the game's current container:
// running → stopped (op reconcile_observe_exit), then container_exited — or,
// for an exit the events listener saw after an oom event, container_oom. It
// reports whether it changed the record; nothing changes when the record is
// not running that container, or when Docker says it runs.
func (s *Service) ObserveExit(ctx context.Context, in ExitInput) (bool, error) {
	return s.repair(ctx, in.GameID, in.Source, func(ctx context.Context, rec *domain.Record) (*repaired, error) {
		if rec == nil || rec.Status != domain.StatusRunning || rec.CurrentContainerID != in.ContainerID {
			return nil, nil
		}
		code, oom := in.ExitCode, in.OOM
		info, err := s.d.Docker.InspectContainer(ctx, in.ContainerID)
		switch {
		case errors.Is(err, ports.ErrNotFound):
			// Gone since: the exit still happened; a later repair records the removal.
		case err != nil:
			return nil, fmt.Errorf("inspect container %s: %w", in.ContainerID, err)
		case info.Running:
			return nil, nil
		default:
			code, oom = info.ExitCode, oom || info.OOMKilled
		}
		snap := domain.HealthSnapshot{Status: domain.HealthExited, LastEventType: domain.EventContainerExited,
			Details: map[string]any{"exit_code": code, "oom": oom}}
		if oom && in.Source == domain.SourceDockerEvent {
			snap = domain.HealthSnapshot{Status: domain.HealthOOM, LastEventType: domain.EventContainerOOM,
				Details: map[string]any{"exit_code": code}}
		}
		return &repaired{kind: domain.OpReconcileObserveExit, to: domain.StatusStopped, event: &snap,
			details: map[string]any{"exit_code": code, "oom": oom}}, nil
	})
}

// Dispose records that the game's recorded container no longer exists:
// running or stopped → removed (op reconcile_dispose), plus
// container_disappeared when it was running. It reports whether it changed
// the record; nothing changes when the record names another container or
// Docker still has this one.
func (s *Service) Dispose(ctx context.Context, in DisposeInput) (bool, error) {
	return s.repair(ctx, in.GameID, in.Source, func(ctx context.Context, rec *domain.Record) (*repaired, error) {
		if rec == nil || rec.Status == domain.StatusRemoved || rec.CurrentContainerID != in.ContainerID {
			return nil, nil
		}
		_, err := s.d.Docker.InspectContainer(ctx, in.ContainerID)
		switch {
		case err == nil:
			return nil, nil
		case !errors.Is(err, ports.ErrNotFound):
			return nil, fmt.Errorf("inspect container %s: %w", in.ContainerID, err)
		}
		r := &repaired{kind: domain.OpReconcileDispose, to: domain.StatusRemoved,
			details: map[string]any{"previous_status": string(rec.Status)}}
		if rec.Status == domain.StatusRunning {
			by := "reconcile"
			if in.Source == domain.SourceDockerEvent {
				by = "docker_event"
			}
			r.event = &domain.HealthSnapshot{Status: domain.HealthDisappeared, LastEventType: domain.EventContainerDisappeared,
				Details: map[string]any{"detected_by": by}}
		}
		return r, nil
	})
}

// repaired is the repair a check decided on: the status the record moves to
// (from its status, on its container) — or, for an adoption, the whole
// record that replaces it —, the row's kind and details, and the health
// event it owes, if any (its game, container, source and time are filled in
// by repair).
type repaired struct {
	kind    domain.OpKind
	to      domain.Status
	install *domain.Record
	details map[string]any
	event   *domain.HealthSnapshot
}

// repair runs one repair under the game's lease. The events listener waits
// for a busy lease — what it saw happened, and a busy game is most often RTM
// finishing its own operation, which the record then shows — until ctx ends;
// a reconcile pass does not wait (ErrGameBusy). Once the lease is held the
// repair no longer listens to ctx, so a shutdown cannot cut it between the
// record change and its row. check gets the record as it stands under the
// lease, nil when the game has none.
func (s *Service) repair(ctx context.Context, gameID string, src domain.OpSource,
	check func(ctx context.Context, rec *domain.Record) (*repaired, error)) (bool, error) {
	wait := src == domain.SourceDockerEvent
	lease, err := s.acquire(context.WithoutCancel(ctx), ctx, gameID, wait)
	if err != nil {
		if !wait && domain.FailureOf(err).ErrorCode == domain.CodeConflict {
			return false, ErrGameBusy
		}
		return false, err
	}
	defer lease.Release()
	ctx = context.WithoutCancel(ctx)
	prev, found, err := s.record(ctx, gameID)
	if err != nil {
		return false, err
	}
	var rec *domain.Record
	if found {
		rec = &prev
	}
	r, err := check(ctx, rec)
	if err != nil || r == nil {
		return false, err
	}
	subject := r.install // the record the row and the event are about
	if subject == nil {
		subject = rec
	}
	o := s.newOp(r.kind, gameID, subject.CurrentImageRef, Meta{Source: src})
	o.containerID, o.details, o.lost = subject.CurrentContainerID, r.details, lease.Lost()
	if o.leaseLost() {
		return false, errLeaseLost
	}
	stored, err := s.writeRepair(ctx, rec, r)
	switch {
	case errors.Is(err, ports.ErrConflict):
		return false, nil // changed under us after all: nothing of ours to record
	case err != nil:
		return false, storeErr("record repair", err)
	}
	s.finish(ctx, o, applied(stored), nil)
	if r.event != nil {
		snap := *r.event
		snap.GameID, snap.ContainerID, snap.ObservedAt = gameID, subject.CurrentContainerID, stored.LastOpAt
		snap.Source = domain.HealthSourceReconcile
		if src == domain.SourceDockerEvent {
			snap.Source = domain.HealthSourceDockerEvent
		}
		s.health.Emit(ctx, o.log, snap)
	}
	return true, nil
}

// writeRepair is the repair's one record write, a compare-and-swap on the
// record check saw: its status change, or the adopted record in its place.
func (s *Service) writeRepair(ctx context.Context, rec *domain.Record, r *repaired) (domain.Record, error) {
	if r.install != nil {
		return s.d.Records.UpsertIf(ctx, *r.install, expectation(rec))
	}
	return s.setStatus(ctx, ports.StatusUpdate{GameID: rec.GameID, From: rec.Status, To: r.to,
		ExpectedContainerID: rec.CurrentContainerID, At: s.d.Clock.Now()})
}
