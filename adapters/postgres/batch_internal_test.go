package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/galaxy/rtmanager/adapters/internal/coalesce"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/internal/testenv"
)

func migratedPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := Open(t.Context(), testenv.FreshSchema(t), 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := Migrate(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

// appendRow is an operation row insert; kind "bogus" breaks a CHECK.
func appendRow(gameID, kind string, id *int64) *coalesce.Call[rowQuery, struct{}] {
	return &coalesce.Call[rowQuery, struct{}]{In: rowQuery{
		sql: `INSERT INTO operation_log (game_id, op_kind, op_source, outcome, started_at, finished_at)
		      VALUES ($1, $2, 'gm_rest', 'success', now(), now()) RETURNING id`,
		args: []any{gameID, kind},
		dest: []any{id},
	}}
}

func rowsOf(t *testing.T, pool *pgxpool.Pool, gameID string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM operation_log WHERE game_id = $1`, gameID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestABatchWithARefusedStatementGivesEveryOtherStatementItsOwnAnswer(t *testing.T) {
	pool := migratedPool(t)
	db := newBatchedDB(pool)
	var a, bad, b int64
	calls := []*coalesce.Call[rowQuery, struct{}]{
		appendRow("game-a", "start", &a), appendRow("game-bad", "bogus", &bad), appendRow("game-b", "stop", &b),
	}
	db.run(calls)

	var refused *pgconn.PgError
	if !errors.As(calls[1].Err, &refused) || refused.Code != "23514" {
		t.Fatalf("the refused statement's error = %v, want its CHECK violation", calls[1].Err)
	}
	for i, g := range map[int]string{0: "game-a", 2: "game-b"} {
		if calls[i].Err != nil {
			t.Fatalf("statement %d (%s): %v; a neighbour's refusal must not fail it", i, g, calls[i].Err)
		}
		// The first attempt was rolled back with the batch, so the row is
		// there once, from the attempt that answered.
		if n := rowsOf(t, pool, g); n != 1 {
			t.Fatalf("%s has %d rows, want exactly 1", g, n)
		}
	}
	if a == 0 || b == 0 || a == b {
		t.Fatalf("ids %d and %d: want two distinct ids", a, b)
	}
	if n := rowsOf(t, pool, "game-bad"); n != 0 {
		t.Fatalf("the refused row was stored %d times", n)
	}
}

func TestAMissingRowFailsOnlyItsOwnRead(t *testing.T) {
	pool := migratedPool(t)
	db := newBatchedDB(pool)
	var id int64
	db.run([]*coalesce.Call[rowQuery, struct{}]{appendRow("game-a", "start", &id)})
	read := func(gameID string, dest *int64) *coalesce.Call[rowQuery, struct{}] {
		return &coalesce.Call[rowQuery, struct{}]{In: rowQuery{
			sql: `SELECT id FROM operation_log WHERE game_id = $1`, args: []any{gameID}, dest: []any{dest},
		}}
	}
	var got, none int64
	calls := []*coalesce.Call[rowQuery, struct{}]{read("game-missing", &none), read("game-a", &got)}
	db.run(calls)
	if !errors.Is(calls[0].Err, pgx.ErrNoRows) {
		t.Fatalf("missing row: %v, want pgx.ErrNoRows", calls[0].Err)
	}
	if calls[1].Err != nil || got != id {
		t.Fatalf("read beside it = %d, %v; want %d", got, calls[1].Err, id)
	}
}

func TestConcurrentAppendsEachGetTheirOwnRow(t *testing.T) {
	pool := migratedPool(t)
	ops := NewStore(pool).Operations()
	const n = 200
	ids := make([]int64, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			ids[i], err = ops.Append(context.Background(), domain.Operation{
				GameID: fmt.Sprintf("game-%03d", i), Kind: domain.OpStart, Source: domain.SourceGMRest,
				Outcome: domain.OutcomeSuccess, StartedAt: time.Now(), FinishedAt: time.Now(),
			})
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Each caller got the id of its own row, not a neighbour's.
	for i, id := range ids {
		var gameID string
		if err := pool.QueryRow(t.Context(), `SELECT game_id FROM operation_log WHERE id = $1`, id).Scan(&gameID); err != nil {
			t.Fatalf("row %d: %v", id, err)
		}
		if want := fmt.Sprintf("game-%03d", i); gameID != want {
			t.Fatalf("caller %d got id %d, which is the row of %s", i, id, gameID)
		}
	}
	var total int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM operation_log`).Scan(&total); err != nil || total != n {
		t.Fatalf("%d rows (%v), want %d", total, err, n)
	}
}
