package lifecycle

import (
	"context"
	"fmt"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// Restart replaces a game's container with a fresh one on the same image,
// under one lease: inner stop, removal, inner start (SPEC §4 Restart).
func (s *Service) Restart(ctx context.Context, in RestartInput) domain.Result {
	ctx = detach(ctx)
	o := s.newOp(domain.OpRestart, in.GameID, "", in.Meta)
	if err := domain.ValidateGameID(in.GameID); err != nil {
		return s.finish(ctx, o, invalid("%v", err))
	}
	return s.withLease(ctx, o, func() domain.Result {
		rec, fail := s.replaceable(ctx, o)
		if fail != nil {
			return s.finish(ctx, o, *fail)
		}
		o.imageRef = rec.CurrentImageRef
		p, fail := s.prepare(ctx, rec.GameID, rec.CurrentImageRef)
		if fail != nil {
			return s.finish(ctx, o, *fail)
		}
		res, _ := s.replace(ctx, o, rec, p)
		return s.finish(ctx, o, res)
	})
}

// Patch replaces a game's container with one on a patch-level newer image; if
// the new engine fails to come up, the previous image is started again on the
// same state (SPEC §4 Patch).
func (s *Service) Patch(ctx context.Context, in PatchInput) domain.Result {
	ctx = detach(ctx)
	o := s.newOp(domain.OpPatch, in.GameID, in.ImageRef, in.Meta)
	if err := domain.ValidateGameID(in.GameID); err != nil {
		return s.finish(ctx, o, invalid("%v", err))
	}
	if in.ImageRef == "" {
		return s.finish(ctx, o, invalid("image_ref is required"))
	}
	next, err := domain.ParseImageRef(in.ImageRef)
	if err != nil {
		return s.finish(ctx, o, domain.Failure(domain.CodeStartConfigInvalid, err.Error()))
	}
	return s.withLease(ctx, o, func() domain.Result {
		rec, fail := s.replaceable(ctx, o)
		if fail != nil {
			return s.finish(ctx, o, *fail)
		}
		current, err := domain.ParseImageRef(rec.CurrentImageRef)
		if err != nil {
			return s.finish(ctx, o, domain.Failure(domain.CodeImageRefNotSemver, "current "+err.Error()))
		}
		if code, err := domain.PatchCompatible(current, next); err != nil {
			return s.finish(ctx, o, domain.Failure(code, err.Error()))
		}
		if rec.CurrentImageRef == in.ImageRef {
			return s.finish(ctx, o, domain.Success(rec, domain.CodeReplayNoOp))
		}
		o.details = map[string]any{"from_image_ref": rec.CurrentImageRef, "to_image_ref": in.ImageRef}
		p, fail := s.prepare(ctx, rec.GameID, in.ImageRef)
		if fail != nil {
			return s.finish(ctx, o, *fail)
		}
		res, launched := s.replace(ctx, o, rec, p)
		if res.Succeeded() || !launched {
			return s.finish(ctx, o, res)
		}
		return s.finish(ctx, o, s.rollback(ctx, o, rec.CurrentImageRef, res))
	})
}

// replaceable reads the record a restart or patch works on: it must exist, not
// be removed and name an image.
func (s *Service) replaceable(ctx context.Context, o *op) (domain.Record, *domain.Result) {
	rec, fail := s.existing(ctx, o.gameID)
	var r domain.Result
	switch {
	case fail != nil:
		return rec, fail
	case rec.Status == domain.StatusRemoved:
		r = domain.Failure(domain.CodeConflict, "runtime is removed; start it instead")
	case rec.CurrentImageRef == "":
		r = domain.Failure(domain.CodeConflict, "runtime has no current image to restart")
	default:
		o.containerID = rec.CurrentContainerID
		return rec, nil
	}
	return rec, &r
}

// replace runs the inner stop, removes the old container and runs the inner
// start from the prepared plan; each inner step logs its own row under the
// outer correlation id. launched says the old container was already gone when
// the result was decided, i.e. whether a rollback can be needed.
func (s *Service) replace(ctx context.Context, o *op, rec domain.Record, p plan) (res domain.Result, launched bool) {
	stop := s.child(o, domain.OpStop, rec.CurrentImageRef)
	stopped := s.finish(ctx, stop, s.runStop(ctx, stop, rec))
	if !stopped.Succeeded() {
		return stopped, false
	}
	if fail := s.removeContainer(ctx, *stopped.Record, domain.CodeContainerStartFailed); fail != nil {
		return *fail, false
	}
	start := s.child(o, domain.OpStart, p.imageRef)
	return s.finish(ctx, start, s.launch(ctx, start, p, stopped.Record)), true
}

// rollback starts the previous image again after a failed patch launch. The
// patch still fails; its row says whether the rollback worked.
func (s *Service) rollback(ctx context.Context, o *op, previousRef string, failed domain.Result) domain.Result {
	out := domain.Failure(failed.ErrorCode, failed.ErrorMessage)
	out.ContainerID = failed.ContainerID
	o.details["rolled_back"] = false
	rec, found, fail := s.getRecord(ctx, o.gameID)
	if fail != nil || !found {
		o.details["rollback_error"] = "runtime record unreadable"
		return out
	}
	p, pfail := s.prepare(ctx, o.gameID, previousRef)
	var rb domain.Result
	if pfail != nil {
		rb = *pfail
	} else {
		start := s.child(o, domain.OpStart, previousRef)
		rb = s.finish(ctx, start, s.launch(ctx, start, p, &rec))
	}
	if !rb.Succeeded() {
		o.details["rollback_error"] = rb.ErrorMessage
		s.keepPreviousRef(ctx, o, previousRef)
		return out
	}
	o.details["rolled_back"] = true
	out.ErrorMessage = fmt.Sprintf("%s; rolled back to %s", failed.ErrorMessage, previousRef)
	out.ContainerID = rb.ContainerID
	out.Record = rb.Record
	return out
}

// keepPreviousRef makes a game whose patch and rollback both failed remember
// the image it last ran well, so a later restart brings that one back rather
// than the broken new one.
func (s *Service) keepPreviousRef(ctx context.Context, o *op, previousRef string) {
	rec, found, fail := s.getRecord(ctx, o.gameID)
	if fail != nil || !found || rec.Status != domain.StatusStopped || rec.CurrentImageRef == previousRef || o.leaseLost() {
		return
	}
	cond := ports.RecordCondition{Status: domain.StatusStopped, ContainerID: rec.CurrentContainerID}
	rec.CurrentImageRef = previousRef
	rec.LastOpAt = s.d.Clock.Now()
	if _, err := s.d.Records.UpsertIf(ctx, rec, cond); err != nil {
		o.log.Error("restore the previous image ref after a failed rollback", "err", err)
	}
}
