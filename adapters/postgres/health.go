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
	details, err := encodeDetails(s.Details)
	if err != nil {
		return wrapErr("upsert health snapshot of "+s.GameID, err)
	}
	err = h.q.UpsertHealthSnapshot(ctx, sqlcgen.UpsertHealthSnapshotParams{
		GameID:        s.GameID,
		ContainerID:   s.ContainerID,
		Status:        string(s.Status),
		Source:        string(s.Source),
		LastEventType: string(s.LastEventType),
		Details:       details,
		ObservedAt:    timestamptz(s.ObservedAt),
	})
	return wrapErr("upsert health snapshot of "+s.GameID, err)
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
