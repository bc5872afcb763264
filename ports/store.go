package ports

import (
	"context"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
)

//go:generate go tool -modfile=../tools/go.mod mockgen -destination=mocks/store_mock.go -package=mocks . RuntimeStore,OperationLog,HealthStore,JobFences

// RuntimeStore keeps the runtime records (table runtime_records).
type RuntimeStore interface {
	// Get returns the record of a game or ErrNotFound.
	Get(ctx context.Context, gameID string) (domain.Record, error)
	// OtherCaseOf returns the id of a recorded game that differs from gameID
	// only in letter case, or ErrNotFound when there is none.
	OtherCaseOf(ctx context.Context, gameID string) (string, error)
	// List returns records ordered by game_id, after the cursor's game id
	// (exclusive, "" for the first page), optionally filtered by status.
	List(ctx context.Context, q ListRuntimesQuery) ([]domain.Record, error)
	// Upsert installs or replaces a record; created_at is set on insert only.
	Upsert(ctx context.Context, rec domain.Record) (domain.Record, error)
	// UpsertIf is the compare-and-swap upsert: it inserts when the game has no
	// record, and replaces an existing one only while it matches the
	// condition; otherwise ErrConflict, with nothing changed.
	UpsertIf(ctx context.Context, rec domain.Record, cond RecordCondition) (domain.Record, error)
	// UpdateStatus is the compare-and-swap status change: it applies only when
	// the record's status is From (and, when set, its container is
	// ExpectedContainerID). Zero rows → ErrConflict; a pair outside the
	// transition table → domain.ErrInvalidTransition, with nothing changed.
	UpdateStatus(ctx context.Context, u StatusUpdate) (domain.Record, error)
	// ListStoppedBefore returns stopped records whose last_op_at is older than before.
	ListStoppedBefore(ctx context.Context, before time.Time, limit int) ([]domain.Record, error)
	// CountByStatus counts records per status (for metrics).
	CountByStatus(ctx context.Context) (map[domain.Status]int, error)
}

// ListRuntimesQuery selects one page of runtime records.
type ListRuntimesQuery struct {
	Status      domain.Status // "" for all
	AfterGameID string        // keyset cursor, exclusive
	Limit       int
}

// RecordCondition is what an existing record must still be for UpsertIf to replace it.
type RecordCondition struct {
	Status      domain.Status // required
	ContainerID string        // "" for no container condition
}

// StatusUpdate describes one compare-and-swap status change.
type StatusUpdate struct {
	GameID              string
	From                domain.Status
	To                  domain.Status
	ExpectedContainerID string // "" for no container condition
	// ContainerID and ImageRef become the current ones on stopped → running.
	ContainerID string
	ImageRef    string
	At          time.Time
}

// OperationLog is the append-only history of operations (table operation_log).
type OperationLog interface {
	// Append stores one entry and returns its id.
	Append(ctx context.Context, op domain.Operation) (int64, error)
	// List returns a game's entries newest first, with id < BeforeID when BeforeID > 0.
	List(ctx context.Context, q ListOperationsQuery) ([]domain.Operation, error)
	// BySourceRef returns a game's entries from one source with one
	// source_ref (a stream job's entry id), oldest first, at most limit.
	BySourceRef(ctx context.Context, gameID string, source domain.OpSource, sourceRef string, limit int) ([]domain.Operation, error)
}

// ListOperationsQuery selects one page of a game's operation log.
type ListOperationsQuery struct {
	GameID   string
	BeforeID int64
	Limit    int
}

// HealthStore keeps the latest health snapshot per game (table health_snapshots).
type HealthStore interface {
	Upsert(ctx context.Context, s domain.HealthSnapshot) error
	// UpsertChanged stores the snapshot only when it changes the stored one
	// — another container, status or event type, or other details once the
	// ignored keys are left out — and is not older; it reports whether it
	// stored it. Several instances observing the same change race on it, and
	// exactly one wins.
	UpsertChanged(ctx context.Context, s domain.HealthSnapshot, ignoredKeys ...string) (bool, error)
	// Get returns the snapshot of a game or ErrNotFound.
	Get(ctx context.Context, gameID string) (domain.HealthSnapshot, error)
}

// JobFences remembers, per game, the position of the last stream job applied
// to it (table job_fences), so jobs of one game take effect in their order
// even when several instances hold them (contract §6).
type JobFences interface {
	// Advance moves the game's fence forward to pos — unless it already
	// stands past pos — and returns where the fence now stands: pos itself
	// when the job may act, a later position when a later job was applied.
	Advance(ctx context.Context, gameID string, pos domain.JobPosition) (domain.JobPosition, error)
}
