package postgres

import (
	"fmt"
	"math"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/galaxy/rtmanager/adapters/postgres/sqlcgen"
	"github.com/galaxy/rtmanager/ports"
)

// Store is the PostgreSQL persistence of Runtime Manager. It hands out one
// adapter per port because the ports share method names (Get, List, Upsert)
// with different signatures, so no single type can implement them all.
type Store struct {
	runtimes   *RuntimeStore
	operations *OperationLog
	health     *HealthStore
	fences     *JobFences
}

// NewStore builds the store adapters on a pool opened with Open and migrated
// with Migrate.
func NewStore(pool *pgxpool.Pool) *Store {
	q := sqlcgen.New(pool)
	// Every job reads a record, advances a fence and appends a row: those
	// statements share round trips and commits (batch.go).
	hot := sqlcgen.New(newBatchedDB(pool))
	return &Store{
		runtimes:   &RuntimeStore{q: q, hot: hot},
		operations: &OperationLog{q: q, hot: hot},
		health:     &HealthStore{q: q},
		fences:     &JobFences{q: hot},
	}
}

// Runtimes is the ports.RuntimeStore (table runtime_records).
func (s *Store) Runtimes() *RuntimeStore { return s.runtimes }

// Operations is the ports.OperationLog (table operation_log).
func (s *Store) Operations() *OperationLog { return s.operations }

// Health is the ports.HealthStore (table health_snapshots).
func (s *Store) Health() *HealthStore { return s.health }

// Fences is the ports.JobFences (table job_fences).
func (s *Store) Fences() *JobFences { return s.fences }

var (
	_ ports.RuntimeStore = (*RuntimeStore)(nil)
	_ ports.OperationLog = (*OperationLog)(nil)
	_ ports.HealthStore  = (*HealthStore)(nil)
	_ ports.JobFences    = (*JobFences)(nil)
)

// rowLimit converts a page size for SQL LIMIT. A non-positive limit is a
// caller bug rather than "everything": an unbounded read of a growing table is
// never what a page request means.
func rowLimit(op string, limit int) (int32, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("postgres: %s: limit %d must be positive", op, limit)
	}
	return int32(min(limit, math.MaxInt32)), nil
}
