package lifecycle

import (
	"context"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// Cleanup removes a stopped game's container; the host state directory stays
// (contract §4, Cleanup).
func (s *Service) Cleanup(ctx context.Context, in CleanupInput) domain.Result {
	req := request{kind: domain.OpCleanupContainer, gameID: in.GameID, meta: in.Meta}
	return s.perform(ctx, req, func(ctx context.Context, o *op) (done, error) {
		rec, err := s.existing(ctx, o.gameID)
		if err != nil {
			return done{}, err
		}
		o.imageRef, o.containerID = rec.CurrentImageRef, rec.CurrentContainerID
		switch rec.Status {
		case domain.StatusRunning:
			return done{}, domain.Errorf(domain.CodeConflict, "runtime is running; stop it first")
		case domain.StatusRemoved:
			return replayed(rec), nil
		}
		if !in.LastOpBefore.IsZero() && !rec.LastOpAt.Before(in.LastOpBefore) {
			return replayed(rec), nil
		}
		if err := s.removeContainer(ctx, rec, domain.CodeInternalError); err != nil {
			return done{}, err
		}
		stored, err := s.setStatus(ctx, ports.StatusUpdate{
			GameID: rec.GameID, From: domain.StatusStopped, To: domain.StatusRemoved,
			ExpectedContainerID: rec.CurrentContainerID, At: s.d.Clock.Now(),
		})
		if err != nil {
			return done{}, storeErr("record cleanup", err)
		}
		return applied(stored), nil
	})
}
