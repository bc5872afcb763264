// Package postgres is Runtime Manager's durable store: the runtime records, the
// operation log, the health snapshots and the job fences in PostgreSQL
// (contract §2, §6, §8). It opens the pool, applies the embedded goose
// migrations and implements the store ports on top of the sqlc-generated
// queries in sqlcgen. Driver errors leave this package translated into the
// ports sentinels.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	sqlassets "github.com/galaxy/rtmanager/sql"
)

// defaultConnectTimeout bounds a connection attempt when the DSN sets no
// connect_timeout, so an unreachable server is reported in seconds instead of
// after the kernel's TCP timeout.
const defaultConnectTimeout = 5 * time.Second

// defaultStatementTimeout bounds every statement when the DSN sets no
// statement_timeout (milliseconds, PostgreSQL's unit).
const defaultStatementTimeout = "30000"

// Open parses the DSN, opens a pool and checks the server answers. An
// unreachable server is reported as ports.ErrUnavailable; a malformed DSN is a
// plain error. conns is the pool size unless the DSN sets pool_max_conns.
func Open(ctx context.Context, dsn string, conns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in parse errors.
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	// pgx sizes the pool by CPU count (4 on a small host), far fewer than
	// the operations a busy instance runs at once: jobs would queue for a
	// connection rather than for the database. The DSN's pool_max_conns wins.
	if !strings.Contains(dsn, "pool_max_conns") && conns > cfg.MaxConns {
		cfg.MaxConns = conns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	// A statement stalled on a lock or a sick server must not hold a game's
	// lease forever: the server cancels it (the DSN may set its own value).
	if _, set := cfg.ConnConfig.RuntimeParams["statement_timeout"]; !set {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = defaultStatementTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrapErr("open", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, wrapErr("open", err)
	}
	return pool, nil
}

// Ping checks the server answers; readiness uses it.
func Ping(ctx context.Context, pool *pgxpool.Pool) error {
	return wrapErr("ping", pool.Ping(ctx))
}

// Migrate applies the embedded migrations to the schema the pool's search_path
// selects. A PostgreSQL session advisory lock serialises instances booting at
// once: the loser waits, then finds nothing left to apply.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	var schema pgtype.Text
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return wrapErr("migrate: read current schema", err)
	}
	if !schema.Valid {
		return errors.New("postgres: migrate: the search_path names no existing schema (provision it with sql/provision.sql)")
	}
	// The lock is per schema rather than goose's database-wide default, so
	// other schemas of the same database (other services, parallel tests)
	// never wait for each other. Retrying every second for up to five minutes
	// covers any migration this service will ship.
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(migrationLockID(schema.String)),
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	migrations, err := fs.Sub(sqlassets.Migrations, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close() // leaves the pool open
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations,
		goose.WithSessionLocker(locker),
		// Only the embedded SQL files count; Go migrations registered globally
		// by some other import must not sneak in.
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return wrapErr("migrate", err)
	}
	return nil
}

// migrationLockID derives the advisory lock key of a schema's migrations.
func migrationLockID(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("rtmanager/goose/" + schema))
	return int64(h.Sum64())
}
