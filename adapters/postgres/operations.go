package postgres

import (
	"context"
	"math"

	"github.com/galaxy/rtmanager/adapters/postgres/sqlcgen"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// OperationLog implements ports.OperationLog on table operation_log.
type OperationLog struct {
	q   *sqlcgen.Queries
	hot *sqlcgen.Queries // batched (batch.go)
}

// Append stores one entry and returns its id; nil Details are stored as {}.
func (l *OperationLog) Append(ctx context.Context, op domain.Operation) (int64, error) {
	details, err := encodeDetails(op.Details)
	if err != nil {
		return 0, wrapErr("append operation for "+op.GameID, err)
	}
	id, err := l.hot.AppendOperation(ctx, sqlcgen.AppendOperationParams{
		GameID:        op.GameID,
		OpKind:        string(op.Kind),
		OpSource:      string(op.Source),
		SourceRef:     op.SourceRef,
		CorrelationID: op.CorrelationID,
		Outcome:       string(op.Outcome),
		ErrorCode:     string(op.ErrorCode),
		ErrorMessage:  op.ErrorMessage,
		ImageRef:      op.ImageRef,
		ContainerID:   op.ContainerID,
		Details:       details,
		StartedAt:     timestamptz(op.StartedAt),
		FinishedAt:    timestamptz(op.FinishedAt),
	})
	if err != nil {
		return 0, wrapErr("append operation for "+op.GameID, err)
	}
	return id, nil
}

// List returns one page of a game's entries newest first, those with
// id < q.BeforeID when BeforeID > 0.
func (l *OperationLog) List(ctx context.Context, q ports.ListOperationsQuery) ([]domain.Operation, error) {
	limit, err := rowLimit("list operations of "+q.GameID, q.Limit)
	if err != nil {
		return nil, err
	}
	before := q.BeforeID
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := l.q.ListOperations(ctx, sqlcgen.ListOperationsParams{
		GameID:   q.GameID,
		BeforeID: before,
		RowLimit: limit,
	})
	if err != nil {
		return nil, wrapErr("list operations of "+q.GameID, err)
	}
	return operationsFromRows("list operations of "+q.GameID, rows)
}

// BySourceRef returns a game's entries from one source with one source_ref
// (a stream job's entry id), oldest first, at most limit.
func (l *OperationLog) BySourceRef(ctx context.Context, gameID string, source domain.OpSource, sourceRef string, limit int) ([]domain.Operation, error) {
	op := "list operations of " + gameID + " from " + string(source) + " " + sourceRef
	n, err := rowLimit(op, limit)
	if err != nil {
		return nil, err
	}
	rows, err := l.q.ListOperationsBySourceRef(ctx, sqlcgen.ListOperationsBySourceRefParams{
		GameID:    gameID,
		OpSource:  string(source),
		SourceRef: sourceRef,
		RowLimit:  n,
	})
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return operationsFromRows(op, rows)
}

// operationsFromRows converts the rows of one read; op names the read in an error.
func operationsFromRows(op string, rows []sqlcgen.OperationLog) ([]domain.Operation, error) {
	out := make([]domain.Operation, 0, len(rows))
	for _, r := range rows {
		o, err := operationFromRow(r)
		if err != nil {
			return nil, wrapErr(op, err)
		}
		out = append(out, o)
	}
	return out, nil
}

func operationFromRow(r sqlcgen.OperationLog) (domain.Operation, error) {
	details, err := decodeDetails(r.Details)
	if err != nil {
		return domain.Operation{}, err
	}
	return domain.Operation{
		ID:            r.ID,
		GameID:        r.GameID,
		Kind:          domain.OpKind(r.OpKind),
		Source:        domain.OpSource(r.OpSource),
		SourceRef:     r.SourceRef,
		CorrelationID: r.CorrelationID,
		Outcome:       domain.Outcome(r.Outcome),
		ErrorCode:     domain.ErrorCode(r.ErrorCode),
		ErrorMessage:  r.ErrorMessage,
		ImageRef:      r.ImageRef,
		ContainerID:   r.ContainerID,
		Details:       details,
		StartedAt:     timeOf(r.StartedAt),
		FinishedAt:    timeOf(r.FinishedAt),
	}, nil
}
