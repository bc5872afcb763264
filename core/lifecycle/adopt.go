package lifecycle

import (
	"context"
	"errors"
	"fmt"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// AdoptInput names a container of ours that the game's record does not name.
type AdoptInput struct {
	GameID      string // the container's game_id label
	ContainerID string
}

// Adopt records a container of ours that its game's record does not name
// (contract §7, drift 1): a process killed between creating a container and
// recording it leaves one, and so does a lost record. The record is upserted
// from the container's labels and state — running or stopped as Docker says
// — with op reconcile_adopt (source auto_reconcile); adoption owes no health
// event. It reports whether it changed the record. Nothing changes when the
// record already names the container, when Docker no longer has it or it is
// not ours, or when the container the record names still exists too: two
// containers of one game are left for an operator (a warning is logged), as
// replacing either record would only make the other one the orphan.
func (s *Service) Adopt(ctx context.Context, in AdoptInput) (bool, error) {
	if err := domain.ValidateGameID(in.GameID); err != nil {
		return false, invalid("%v", err)
	}
	return s.repair(ctx, in.GameID, domain.SourceAutoReconcile, func(ctx context.Context, rec *domain.Record) (*repaired, error) {
		live := rec != nil && rec.Status != domain.StatusRemoved
		if live && rec.CurrentContainerID == in.ContainerID {
			return nil, nil
		}
		info, gone, err := s.inspectOwned(ctx, in.ContainerID)
		if err != nil || gone || info.Labels[ports.LabelGameID] != in.GameID {
			return nil, err
		}
		details := map[string]any{"container_state": info.State}
		if rec != nil {
			details["previous_status"], details["previous_container_id"] = string(rec.Status), rec.CurrentContainerID
		}
		if live && rec.CurrentContainerID != "" {
			_, recordedGone, err := s.inspectOwned(ctx, rec.CurrentContainerID)
			if err != nil || !recordedGone {
				s.d.Logger.Warn("two containers of one game: the recorded one still exists, the other is left unadopted",
					"game_id", in.GameID, "recorded_container_id", rec.CurrentContainerID, "container_id", in.ContainerID, "err", err)
				return nil, err
			}
		}
		return &repaired{kind: domain.OpReconcileAdopt, install: s.adopted(in.GameID, info), details: details}, nil
	})
}

// inspectOwned inspects a container; gone is true when Docker no longer has
// it or it is not ours (contract §3), which the reconciler treats alike.
func (s *Service) inspectOwned(ctx context.Context, id string) (info ports.ContainerInfo, gone bool, err error) {
	info, err = s.d.Docker.InspectContainer(ctx, id)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return info, true, nil
	case err != nil:
		return info, false, fmt.Errorf("inspect container %s: %w", id, err)
	}
	return info, !info.OwnedBy(s.cfg.Deployment), nil
}

// adopted is the record of an adopted container: running or stopped as
// Docker says, its image from the engine_image_ref label (the reference it
// was made from), its state directory from its bind mount, its times from
// Docker's (a container that never ran is stopped as of now).
func (s *Service) adopted(gameID string, info ports.ContainerInfo) *domain.Record {
	now := s.d.Clock.Now()
	st := domain.StatusStopped
	if info.Running {
		st = domain.StatusRunning
	}
	ref := info.Labels[ports.LabelImageRef]
	if ref == "" {
		ref = info.Image
	}
	rec := s.newRecord(gameID, st, info.ID, ref, info.Mounts[s.cfg.StateMountPath], now)
	if !info.StartedAt.IsZero() {
		rec.StartedAt = &info.StartedAt
	}
	switch {
	case info.Running:
	case !info.FinishedAt.IsZero():
		rec.StoppedAt = &info.FinishedAt
	default:
		rec.StoppedAt = &now
	}
	return &rec
}
