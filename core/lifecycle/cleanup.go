package lifecycle

import (
	"context"
	"errors"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// Cleanup removes a stopped game's container; the host state directory stays
// (SPEC §4 Cleanup).
func (s *Service) Cleanup(ctx context.Context, in CleanupInput) domain.Result {
	ctx = detach(ctx)
	o := s.newOp(domain.OpCleanupContainer, in.GameID, "", in.Meta)
	if err := domain.ValidateGameID(in.GameID); err != nil {
		return s.finish(ctx, o, invalid("%v", err))
	}
	return s.withLease(ctx, o, func() domain.Result {
		rec, fail := s.existing(ctx, in.GameID)
		if fail != nil {
			return s.finish(ctx, o, *fail)
		}
		o.imageRef, o.containerID = rec.CurrentImageRef, rec.CurrentContainerID
		switch rec.Status {
		case domain.StatusRunning:
			return s.finish(ctx, o, domain.Failure(domain.CodeConflict, "runtime is running; stop it first"))
		case domain.StatusRemoved:
			return s.finish(ctx, o, domain.Success(rec, domain.CodeReplayNoOp))
		}
		if fail := s.removeContainer(ctx, rec, domain.CodeInternalError); fail != nil {
			return s.finish(ctx, o, *fail)
		}
		stored, err := s.d.Records.UpdateStatus(ctx, ports.StatusUpdate{
			GameID: rec.GameID, From: domain.StatusStopped, To: domain.StatusRemoved,
			ExpectedContainerID: rec.CurrentContainerID, At: s.d.Clock.Now(),
		})
		if err != nil {
			return s.finish(ctx, o, storeFailure("record cleanup", err))
		}
		return s.finish(ctx, o, domain.Success(stored, domain.CodeNone))
	})
}

// removeContainer removes the record's container; one already gone is fine.
// Without a container id it falls back to the game's container name, and then
// removes only a container carrying the owner label (invariant 3).
func (s *Service) removeContainer(ctx context.Context, rec domain.Record, code domain.ErrorCode) *domain.Result {
	id := rec.CurrentContainerID
	if id == "" {
		return s.removeOwnedByName(ctx, domain.ContainerName(rec.GameID), code)
	}
	if err := s.d.Docker.RemoveContainer(ctx, id); err != nil && !errors.Is(err, ports.ErrNotFound) {
		r := dockerFailure(code, "remove container", err)
		return &r
	}
	return nil
}
