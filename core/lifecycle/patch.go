package lifecycle

import (
	"context"
	"errors"
	"fmt"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// Patch replaces a game's container with one on a patch-level newer image; if
// the new engine fails to come up, the previous image is started again on the
// same state (contract §4, Patch).
func (s *Service) Patch(ctx context.Context, in PatchInput) domain.Result {
	var next domain.ImageRef
	req := request{kind: domain.OpPatch, gameID: in.GameID, imageRef: in.ImageRef, meta: in.Meta,
		check: func(*op) error {
			if in.ImageRef == "" {
				return invalid("image_ref is required")
			}
			var err error
			if next, err = domain.ParseImageRef(in.ImageRef); err != nil {
				return domain.Errorf(domain.CodeStartConfigInvalid, "%v", err)
			}
			return nil
		}}
	return s.perform(ctx, req, func(ctx context.Context, o *op) (done, error) {
		return s.patch(ctx, o, next)
	})
}

func (s *Service) patch(ctx context.Context, o *op, next domain.ImageRef) (done, error) {
	rec, err := s.replaceable(ctx, o)
	if err != nil {
		return done{}, err
	}
	current, err := domain.ParseImageRef(rec.CurrentImageRef)
	if err != nil {
		return done{}, domain.Errorf(domain.CodeImageRefNotSemver, "current %v", err)
	}
	if code, err := domain.PatchCompatible(current, next); err != nil {
		return done{}, domain.Errorf(code, "%v", err)
	}
	if rec.CurrentImageRef == o.imageRef {
		return replayed(rec), nil
	}
	previous := rec.CurrentImageRef
	o.details = map[string]any{"from_image_ref": previous, "to_image_ref": o.imageRef, "rolled_back": false}
	p, err := s.prepare(ctx, o, o.imageRef, rec.EngineNode)
	if err != nil {
		return done{}, err
	}
	d, launched, err := s.replace(ctx, o, rec, p)
	if err == nil || !launched {
		return d, err
	}
	rolled, rbErr := s.rollback(ctx, o, previous)
	if rbErr != nil {
		o.details["rollback_error"] = rbErr.Error()
		return done{}, err
	}
	o.details["rolled_back"] = true
	return rolled, fmt.Errorf("%w; rolled back to %s", err, previous)
}

// rollback starts the previous image again after a failed patch launch, on
// the same state. When that fails too, the record is made to name the
// previous image, so a later restart brings back the engine that last ran well.
func (s *Service) rollback(ctx context.Context, o *op, previousRef string) (done, error) {
	rec, found, err := s.record(ctx, o.gameID)
	if err != nil || !found {
		return done{}, errors.New("runtime record unreadable")
	}
	p, err := s.prepare(ctx, o, previousRef, rec.EngineNode)
	if err == nil {
		var d done
		d, err = s.inner(ctx, o, domain.OpStart, previousRef, func(ctx context.Context, c *op) (done, error) {
			return s.launch(ctx, c, p, &rec)
		})
		if err == nil {
			return d, nil
		}
	}
	s.keepPreviousRef(ctx, o, previousRef)
	return done{}, err
}

// keepPreviousRef makes a game whose patch and rollback both failed remember
// the image it last ran well.
func (s *Service) keepPreviousRef(ctx context.Context, o *op, previousRef string) {
	rec, found, err := s.record(ctx, o.gameID)
	if err != nil || !found || rec.Status != domain.StatusStopped || rec.CurrentImageRef == previousRef || o.leaseLost() {
		return
	}
	cond := ports.RecordCondition{Status: domain.StatusStopped, ContainerID: rec.CurrentContainerID}
	rec.CurrentImageRef = previousRef
	rec.LastOpAt = s.d.Clock.Now()
	if _, err := s.d.Records.UpsertIf(ctx, rec, cond); err != nil {
		o.log.Error("restore the previous image ref after a failed rollback", "err", err)
	}
}
