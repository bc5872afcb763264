package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/galaxy/rtmanager/adapters/postgres/sqlcgen"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// RuntimeStore implements ports.RuntimeStore on table runtime_records.
type RuntimeStore struct {
	q   *sqlcgen.Queries
	hot *sqlcgen.Queries // batched (batch.go)
}

// Get returns the record of a game or ports.ErrNotFound.
func (s *RuntimeStore) Get(ctx context.Context, gameID string) (domain.Record, error) {
	row, err := s.hot.GetRuntimeRecord(ctx, gameID)
	if err != nil {
		return domain.Record{}, wrapErr("get runtime "+gameID, err)
	}
	return recordFromRow(row), nil
}

// OtherCaseOf returns the id of a recorded game that differs from gameID only
// in letter case, or ports.ErrNotFound.
func (s *RuntimeStore) OtherCaseOf(ctx context.Context, gameID string) (string, error) {
	id, err := s.q.OtherCaseOfRuntime(ctx, gameID)
	if err != nil {
		return "", wrapErr("look for a case variant of "+gameID, err)
	}
	return id, nil
}

// List returns one page of records ordered by game_id (byte order), after
// q.AfterGameID, optionally only those with q.Status.
func (s *RuntimeStore) List(ctx context.Context, q ports.ListRuntimesQuery) ([]domain.Record, error) {
	limit, err := rowLimit("list runtimes", q.Limit)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.ListRuntimeRecords(ctx, sqlcgen.ListRuntimeRecordsParams{
		AfterGameID: q.AfterGameID,
		Status:      nullText(string(q.Status)),
		RowLimit:    limit,
	})
	if err != nil {
		return nil, wrapErr("list runtimes", err)
	}
	return recordsFromRows(rows), nil
}

// Upsert installs or replaces a record and returns it as stored. created_at is
// written on insert only; a zero CreatedAt on insert means "now", taken as the
// record's LastOpAt so the caller's clock stays the only clock.
func (s *RuntimeStore) Upsert(ctx context.Context, rec domain.Record) (domain.Record, error) {
	return s.upsert(ctx, rec, nil)
}

// UpsertIf inserts, or replaces a record that still matches cond; a record
// that changed under the caller is ports.ErrConflict and stays as it was.
func (s *RuntimeStore) UpsertIf(ctx context.Context, rec domain.Record, cond ports.RecordCondition) (domain.Record, error) {
	if !cond.Status.IsKnown() {
		return domain.Record{}, fmt.Errorf("postgres: upsert runtime %s: condition status %q is not a status", rec.GameID, cond.Status)
	}
	return s.upsert(ctx, rec, &cond)
}

func (s *RuntimeStore) upsert(ctx context.Context, rec domain.Record, cond *ports.RecordCondition) (domain.Record, error) {
	op := "upsert runtime " + rec.GameID
	if rec.LastOpAt.IsZero() {
		return domain.Record{}, fmt.Errorf("postgres: %s: last_op_at is required", op)
	}
	params := upsertParams(rec)
	if cond != nil {
		params.IfStatus, params.IfContainer = nullText(string(cond.Status)), nullText(cond.ContainerID)
	}
	row, err := s.q.UpsertRuntimeRecord(ctx, params)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Record{}, fmt.Errorf("postgres: %s: record is no longer %s: %w", op, cond.Status, ports.ErrConflict)
	}
	if violates(err, caseVariantIndex) {
		return domain.Record{}, fmt.Errorf("postgres: %s: a game id differing only in case is recorded: %w", op, ports.ErrConflict)
	}
	if err != nil {
		return domain.Record{}, wrapErr(op, err)
	}
	return recordFromRow(row), nil
}

// UpdateStatus applies one compare-and-swap status change. The pair is checked
// against the transition table before any SQL, so a refused pair changes
// nothing and wraps domain.ErrInvalidTransition. Zero matching rows — another
// status, another container, or no record at all — is ports.ErrConflict.
func (s *RuntimeStore) UpdateStatus(ctx context.Context, u ports.StatusUpdate) (domain.Record, error) {
	op := fmt.Sprintf("update runtime %s to %s", u.GameID, u.To)
	if err := domain.Transition(u.From, u.To); err != nil {
		return domain.Record{}, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if u.To == domain.StatusRunning && (u.ContainerID == "" || u.ImageRef == "") {
		return domain.Record{}, fmt.Errorf("postgres: %s: a running runtime needs a container id and an image ref", op)
	}
	if u.At.IsZero() {
		return domain.Record{}, fmt.Errorf("postgres: %s: the time of the change is required", op)
	}
	row, err := s.q.UpdateRuntimeStatus(ctx, sqlcgen.UpdateRuntimeStatusParams{
		GameID:              u.GameID,
		FromStatus:          string(u.From),
		ToStatus:            string(u.To),
		ExpectedContainerID: nullText(u.ExpectedContainerID),
		NewContainerID:      nullText(u.ContainerID),
		NewImageRef:         nullText(u.ImageRef),
		At:                  timestamptz(u.At),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		want := string(u.From)
		if u.ExpectedContainerID != "" {
			want += " with container " + u.ExpectedContainerID
		}
		return domain.Record{}, fmt.Errorf("postgres: %s: record is not %s: %w", op, want, ports.ErrConflict)
	}
	if err != nil {
		return domain.Record{}, wrapErr(op, err)
	}
	return recordFromRow(row), nil
}

// ListStoppedBefore returns up to limit stopped records whose last_op_at is
// strictly older than before, oldest first.
func (s *RuntimeStore) ListStoppedBefore(ctx context.Context, before time.Time, limit int) ([]domain.Record, error) {
	n, err := rowLimit("list stopped runtimes", limit)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.ListStoppedBefore(ctx, sqlcgen.ListStoppedBeforeParams{
		Before:   timestamptz(before),
		RowLimit: n,
	})
	if err != nil {
		return nil, wrapErr("list stopped runtimes", err)
	}
	return recordsFromRows(rows), nil
}

// CountByStatus counts records per status. Every known status is present,
// with 0 when no record has it, so a metrics gauge drops back to zero.
func (s *RuntimeStore) CountByStatus(ctx context.Context) (map[domain.Status]int, error) {
	rows, err := s.q.CountRuntimeRecordsByStatus(ctx)
	if err != nil {
		return nil, wrapErr("count runtimes", err)
	}
	counts := make(map[domain.Status]int, len(domain.AllStatuses))
	for _, st := range domain.AllStatuses {
		counts[st] = 0
	}
	for _, r := range rows {
		counts[domain.Status(r.Status)] = int(r.Records)
	}
	return counts, nil
}

func upsertParams(rec domain.Record) sqlcgen.UpsertRuntimeRecordParams {
	created := rec.CreatedAt
	if created.IsZero() {
		created = rec.LastOpAt
	}
	return sqlcgen.UpsertRuntimeRecordParams{
		GameID:             rec.GameID,
		Status:             string(rec.Status),
		CurrentContainerID: nullText(rec.CurrentContainerID),
		CurrentImageRef:    nullText(rec.CurrentImageRef),
		EngineEndpoint:     rec.EngineEndpoint,
		StatePath:          rec.StatePath,
		DockerNetwork:      rec.DockerNetwork,
		EngineNode:         nullText(rec.EngineNode),
		StartedAt:          nullTimestamptz(rec.StartedAt),
		StoppedAt:          nullTimestamptz(rec.StoppedAt),
		RemovedAt:          nullTimestamptz(rec.RemovedAt),
		LastOpAt:           timestamptz(rec.LastOpAt),
		CreatedAt:          timestamptz(created),
	}
}

func recordFromRow(r sqlcgen.RuntimeRecord) domain.Record {
	return domain.Record{
		GameID:             r.GameID,
		Status:             domain.Status(r.Status),
		CurrentContainerID: textOf(r.CurrentContainerID),
		CurrentImageRef:    textOf(r.CurrentImageRef),
		EngineEndpoint:     r.EngineEndpoint,
		StatePath:          r.StatePath,
		DockerNetwork:      r.DockerNetwork,
		EngineNode:         textOf(r.EngineNode),
		StartedAt:          timePtrOf(r.StartedAt),
		StoppedAt:          timePtrOf(r.StoppedAt),
		RemovedAt:          timePtrOf(r.RemovedAt),
		LastOpAt:           timeOf(r.LastOpAt),
		CreatedAt:          timeOf(r.CreatedAt),
	}
}

func recordsFromRows(rows []sqlcgen.RuntimeRecord) []domain.Record {
	out := make([]domain.Record, 0, len(rows))
	for _, r := range rows {
		out = append(out, recordFromRow(r))
	}
	return out
}
