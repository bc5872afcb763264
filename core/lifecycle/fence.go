package lifecycle

import (
	"context"

	"github.com/galaxy/rtmanager/core/domain"
)

// Lobby's jobs for one game must take effect in the order of their positions
// (contract §6), also when two instances each hold one of them: the lease
// serialises them but does not order them. The fence orders them: under the
// lease, a job first moves the game's fence to its own position; a job that
// finds the fence already past it was overtaken by a later job and does not
// act. A redelivered job finds the fence at its own position and runs again
// under the replay rules.

// earlierAnswers bounds how many rows of one job are read back; a job is
// answered a handful of times at most (each redelivery once).
const earlierAnswers = 20

// fenced runs w for the stream job at pos unless a later job of the game was
// applied first.
func (s *Service) fenced(ctx context.Context, o *op, pos domain.JobPosition, w work) (done, error) {
	at, err := s.d.Fences.Advance(ctx, o.gameID, pos)
	if err != nil {
		return done{}, storeErr("advance the game's job fence", err)
	}
	if at.Compare(pos) > 0 {
		return s.overtaken(ctx, o, at)
	}
	return w(ctx, o)
}

// overtaken answers a job that a later one overtook. If the job itself ran
// before (this is a redelivery), its first real answer is repeated — a success
// as replay_no_op, a failure as it was — so Lobby never hears two different
// outcomes for one job. A job that never ran is a conflict: it did not act.
func (s *Service) overtaken(ctx context.Context, o *op, later domain.JobPosition) (done, error) {
	rows, err := s.d.Operations.BySourceRef(ctx, o.gameID, o.source, o.sourceRef, earlierAnswers)
	if err != nil {
		return done{}, storeErr("read the job's earlier answers", err)
	}
	for _, row := range rows {
		// Entry ids of the two streams may coincide; the kind tells them
		// apart. service_unavailable is no answer: such a job is retried.
		if row.Kind != o.kind || row.ErrorCode == domain.CodeServiceUnavailable {
			continue
		}
		o.echo = true
		o.imageRef, o.containerID = row.ImageRef, row.ContainerID
		if row.Outcome == domain.OutcomeFailure {
			return done{}, &domain.Error{Code: row.ErrorCode, Message: row.ErrorMessage}
		}
		rec, found, err := s.record(ctx, o.gameID)
		if err != nil {
			return done{}, err
		}
		if found {
			return replayed(rec), nil
		}
	}
	return done{}, domain.Errorf(domain.CodeConflict,
		"superseded: the later job %s of this game was applied first, so this job did not act", later)
}
