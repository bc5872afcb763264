package lifecycle

import (
	"context"
	"errors"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// Stop stops a game's engine and keeps its container until cleanup (contract §4, Stop).
func (s *Service) Stop(ctx context.Context, in StopInput) domain.Result {
	req := request{kind: domain.OpStop, gameID: in.GameID, meta: in.Meta,
		check: func(o *op) error {
			if !domain.StopReason(in.Reason).IsKnown() {
				return invalid("reason %q is not one of %v", in.Reason, domain.AllStopReasons)
			}
			o.details = map[string]any{"reason": in.Reason}
			return nil
		}}
	return s.perform(ctx, req, func(ctx context.Context, o *op) (done, error) {
		rec, err := s.existing(ctx, o.gameID)
		if err != nil {
			return done{}, err
		}
		return s.runStop(ctx, o, rec)
	})
}

// runStop is the lease-free stop: a stopped or removed runtime is a replay; a
// container already gone is not an error, the record still becomes stopped.
func (s *Service) runStop(ctx context.Context, o *op, rec domain.Record) (done, error) {
	o.imageRef, o.containerID = rec.CurrentImageRef, rec.CurrentContainerID
	if rec.Status != domain.StatusRunning {
		return replayed(rec), nil
	}
	err := s.d.Docker.StopContainer(ctx, rec.CurrentContainerID, s.cfg.StopTimeout)
	if err != nil && !errors.Is(err, ports.ErrNotFound) {
		return done{}, dockerErr(domain.CodeInternalError, "stop container", err)
	}
	stored, err := s.setStatus(ctx, ports.StatusUpdate{
		GameID: rec.GameID, From: domain.StatusRunning, To: domain.StatusStopped,
		ExpectedContainerID: rec.CurrentContainerID, At: s.d.Clock.Now(),
	})
	if err != nil {
		return done{}, storeErr("record stop", err)
	}
	return applied(stored), nil
}
