package postgres

import (
	"context"

	"github.com/galaxy/rtmanager/adapters/postgres/sqlcgen"
	"github.com/galaxy/rtmanager/core/domain"
)

// JobFences implements ports.JobFences on table job_fences.
type JobFences struct {
	q *sqlcgen.Queries
}

// Advance moves the game's fence forward to pos unless it already stands past
// it, in one statement, and returns where the fence stands afterwards: pos
// when it moved or already stood at pos, the later stored position otherwise.
// Concurrent calls for one game serialise on the fence's row, so the fence
// only ever moves forward and every call sees at least its own position.
func (f *JobFences) Advance(ctx context.Context, gameID string, pos domain.JobPosition) (domain.JobPosition, error) {
	row, err := f.q.AdvanceJobFence(ctx, sqlcgen.AdvanceJobFenceParams{
		GameID:  gameID,
		JobMs:   pos.Ms,
		JobRank: int16(pos.Rank),
		JobSeq:  pos.Seq,
	})
	if err != nil {
		return domain.JobPosition{}, wrapErr("advance the job fence of "+gameID+" to "+pos.String(), err)
	}
	return domain.JobPosition{Ms: row.JobMs, Rank: int8(row.JobRank), Seq: row.JobSeq}, nil
}
