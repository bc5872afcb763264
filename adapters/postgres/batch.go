package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/galaxy/rtmanager/adapters/internal/coalesce"
	"github.com/galaxy/rtmanager/adapters/postgres/sqlcgen"
)

// The statements every job makes — read the game's record, advance its job
// fence, append its operation row — are sent as pgx batches of the calls
// made at the same time (package coalesce): one round trip for the lot and,
// for the writes, one commit, since a batch runs as one implicit
// transaction. Each keeps its own answer.

// batchSize bounds the statements of one batch.
const batchSize = 64

// batchTimeout bounds one batch. A queued statement is never abandoned, so
// its callers wait for this at most; the server's statement_timeout bounds
// each statement within it.
const batchTimeout = 35 * time.Second

// rowQuery is one single-row statement and where its row goes.
type rowQuery struct {
	sql  string
	args []any
	dest []any
}

// batchedDB is the sqlcgen.DBTX of the hot statements: its QueryRow joins
// the next batch when the row is scanned. Exec and Query go straight to the
// pool. The statements it carries must not depend on running in a
// transaction of their own: a batch is one.
type batchedDB struct {
	pool  *pgxpool.Pool
	group *coalesce.Group[rowQuery, struct{}]
}

var _ sqlcgen.DBTX = (*batchedDB)(nil)

func newBatchedDB(pool *pgxpool.Pool) *batchedDB {
	db := &batchedDB{pool: pool}
	db.group = coalesce.New(batchSize, db.run)
	return db
}

func (db *batchedDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return db.pool.Exec(ctx, sql, args...)
}

func (db *batchedDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return db.pool.Query(ctx, sql, args...)
}

func (db *batchedDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return batchedRow{db: db, ctx: ctx, sql: sql, args: args}
}

// batchedRow is a statement not sent yet: Scan sends it, with whatever else
// is being sent.
type batchedRow struct {
	db   *batchedDB
	ctx  context.Context
	sql  string
	args []any
}

func (r batchedRow) Scan(dest ...any) error {
	_, err := r.db.group.Do(r.ctx, rowQuery{sql: r.sql, args: r.args, dest: dest})
	return err
}

// run sends one batch. A statement the server refused rolls the whole batch
// back — the statements that had answered before it too — so when one was
// refused, each is sent again alone and gets its own answer. A missing row
// is no refusal: nothing was rolled back. Nor is a lost connection, after
// which nobody knows whether the batch committed: its callers get the error,
// as they would for a statement of their own.
func (db *batchedDB) run(calls []*coalesce.Call[rowQuery, struct{}]) {
	db.send(calls)
	if len(calls) == 1 {
		return
	}
	var refused *pgconn.PgError
	for _, c := range calls {
		if errors.As(c.Err, &refused) {
			for _, c := range calls {
				db.send([]*coalesce.Call[rowQuery, struct{}]{c})
			}
			return
		}
	}
}

// send runs calls as one batch and sets each one's error.
func (db *batchedDB) send(calls []*coalesce.Call[rowQuery, struct{}]) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	b := &pgx.Batch{}
	for _, c := range calls {
		c.Err = nil
		b.Queue(c.In.sql, c.In.args...).QueryRow(func(row pgx.Row) error {
			c.Err = row.Scan(c.In.dest...)
			return nil // each call keeps its own error; the batch goes on
		})
	}
	if err := db.pool.SendBatch(ctx, b).Close(); err != nil {
		// The batch as a whole failed (the connection, or its commit): no
		// statement of it stands, whatever its row said.
		for _, c := range calls {
			if c.Err == nil || errors.Is(c.Err, pgx.ErrNoRows) {
				c.Err = err
			}
		}
	}
}
