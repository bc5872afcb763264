package lifecycle

import (
	"context"
	"errors"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// Stop stops a game's engine and keeps its container until cleanup (SPEC §4 Stop).
func (s *Service) Stop(ctx context.Context, in StopInput) domain.Result {
	ctx = detach(ctx)
	o := s.newOp(domain.OpStop, in.GameID, "", in.Meta)
	if err := domain.ValidateGameID(in.GameID); err != nil {
		return s.finish(ctx, o, invalid("%v", err))
	}
	if !domain.StopReason(in.Reason).IsKnown() {
		return s.finish(ctx, o, invalid("reason %q is not one of %v", in.Reason, domain.AllStopReasons))
	}
	o.details = map[string]any{"reason": in.Reason}
	return s.withLease(ctx, o, func() domain.Result {
		rec, fail := s.existing(ctx, in.GameID)
		if fail != nil {
			return s.finish(ctx, o, *fail)
		}
		return s.finish(ctx, o, s.runStop(ctx, o, rec))
	})
}

// runStop is the lease-free stop: a stopped or removed runtime is a replay; a
// container already gone is not an error, the record still becomes stopped.
func (s *Service) runStop(ctx context.Context, o *op, rec domain.Record) domain.Result {
	o.imageRef = rec.CurrentImageRef
	o.containerID = rec.CurrentContainerID
	if rec.Status != domain.StatusRunning {
		return domain.Success(rec, domain.CodeReplayNoOp)
	}
	err := s.d.Docker.StopContainer(ctx, rec.CurrentContainerID, s.cfg.StopTimeout)
	if err != nil && !errors.Is(err, ports.ErrNotFound) {
		return dockerFailure(domain.CodeInternalError, "stop container", err)
	}
	stored, err := s.d.Records.UpdateStatus(ctx, ports.StatusUpdate{
		GameID: rec.GameID, From: domain.StatusRunning, To: domain.StatusStopped,
		ExpectedContainerID: rec.CurrentContainerID, At: s.d.Clock.Now(),
	})
	if err != nil {
		return storeFailure("record stop", err)
	}
	return domain.Success(stored, domain.CodeNone)
}
