package lifecycle

import (
	"context"

	"github.com/galaxy/rtmanager/core/domain"
)

// Restart replaces a game's container with a fresh one on the same image,
// under one lease: inner stop, removal, inner start (contract §4, Restart).
func (s *Service) Restart(ctx context.Context, in RestartInput) domain.Result {
	req := request{kind: domain.OpRestart, gameID: in.GameID, meta: in.Meta}
	return s.perform(ctx, req, func(ctx context.Context, o *op) (done, error) {
		rec, err := s.replaceable(ctx, o)
		if err != nil {
			return done{}, err
		}
		o.imageRef = rec.CurrentImageRef
		p, err := s.prepare(ctx, o, rec.CurrentImageRef, rec.EngineNode)
		if err != nil {
			return done{}, err
		}
		d, _, err := s.replace(ctx, o, rec, p)
		return d, err
	})
}

// replaceable reads the record a restart or patch works on: it must exist, not
// be removed and name an image.
func (s *Service) replaceable(ctx context.Context, o *op) (domain.Record, error) {
	rec, err := s.existing(ctx, o.gameID)
	switch {
	case err != nil:
		return rec, err
	case rec.Status == domain.StatusRemoved:
		return rec, domain.Errorf(domain.CodeConflict, "runtime is removed; start it instead")
	case rec.CurrentImageRef == "":
		return rec, domain.Errorf(domain.CodeConflict, "runtime has no current image to restart")
	}
	o.containerID = rec.CurrentContainerID
	return rec, nil
}

// replace runs the inner stop, removes the old container and runs the inner
// start from the prepared plan; each inner step logs its own row under the
// outer correlation id. launched says the old container was already gone when
// the result was decided, i.e. whether a rollback can be needed.
func (s *Service) replace(ctx context.Context, o *op, rec domain.Record, p plan) (d done, launched bool, err error) {
	stopped, err := s.inner(ctx, o, domain.OpStop, rec.CurrentImageRef, func(ctx context.Context, c *op) (done, error) {
		return s.runStop(ctx, c, rec)
	})
	if err != nil {
		return done{}, false, err
	}
	if err := s.removeContainer(ctx, *stopped.rec, domain.CodeContainerStartFailed); err != nil {
		return done{}, false, err
	}
	d, err = s.inner(ctx, o, domain.OpStart, p.imageRef, func(ctx context.Context, c *op) (done, error) {
		return s.launch(ctx, c, p, stopped.rec)
	})
	return d, true, err
}
