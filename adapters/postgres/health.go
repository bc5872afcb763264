package postgres

import (
	"context"

	"github.com/galaxy/rtmanager/adapters/postgres/sqlcgen"
	"github.com/galaxy/rtmanager/core/domain"
)

// HealthStore implements ports.HealthStore on table health_snapshots.
type HealthStore struct {
	q *sqlcgen.Queries
}

// Upsert stores the snapshot as the game's latest, unless the stored one was
// observed later: concurrent workers must not roll the snapshot back in time.
func (h *HealthStore) Upsert(ctx context.Context, s domain.HealthSnapshot) error {
	_, err := h.upsert(ctx, s, nil)
	return err
}

// UpsertChanged stores the snapshot like Upsert, but only when it changes the
// stored one (container, status, event type, or details other than the
// ignored keys), and reports whether it did.
func (h *HealthStore) UpsertChanged(ctx context.Context, s domain.HealthSnapshot, ignoredKeys ...string) (bool, error) {
	return h.upsert(ctx, s, append([]string{}, ignoredKeys...)) // never nil: nil is the unconditional Upsert
}

// upsert runs the one upsert statement: unconditional with ignoredKeys nil
// (SQL NULL), conditional on a change otherwise.
func (h *HealthStore) upsert(ctx context.Context, s domain.HealthSnapshot, ignoredKeys []string) (bool, error) {
	details, err := encodeDetails(s.Details)
	if err != nil {
		return false, wrapErr("upsert health snapshot of "+s.GameID, err)
	}
	n, err := h.q.UpsertHealthSnapshot(ctx, sqlcgen.UpsertHealthSnapshotParams{
		GameID:        s.GameID,
		ContainerID:   s.ContainerID,
		Status:        string(s.Status),
		Source:        string(s.Source),
		LastEventType: string(s.LastEventType),
		Details:       details,
		ObservedAt:    timestamptz(s.ObservedAt),
		IgnoredKeys:   ignoredKeys,
	})
	return n > 0, wrapErr("upsert health snapshot of "+s.GameID, err)
}

// Get returns the snapshot of a game or ports.ErrNotFound.
func (h *HealthStore) Get(ctx context.Context, gameID string) (domain.HealthSnapshot, error) {
	row, err := h.q.GetHealthSnapshot(ctx, gameID)
	if err != nil {
		return domain.HealthSnapshot{}, wrapErr("get health snapshot of "+gameID, err)
	}
	details, err := decodeDetails(row.Details)
	if err != nil {
		return domain.HealthSnapshot{}, wrapErr("get health snapshot of "+gameID, err)
	}
	return domain.HealthSnapshot{
		GameID:        row.GameID,
		ContainerID:   row.ContainerID,
		Status:        domain.HealthStatus(row.Status),
		Source:        domain.HealthSource(row.Source),
		LastEventType: domain.HealthEventType(row.LastEventType),
		Details:       details,
		ObservedAt:    timeOf(row.ObservedAt),
	}, nil
}
