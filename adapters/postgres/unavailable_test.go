package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/galaxy/rtmanager/adapters/postgres"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// unreachableDSN points at a port nothing listens on, so connecting fails at once.
const unreachableDSN = "postgres://rtmanagerservice:rtmanagerservice@127.0.0.1:1/galaxy?sslmode=disable&connect_timeout=2"

// storeCalls exercises every store method; each must report ErrUnavailable
// when PostgreSQL cannot be used.
var storeCalls = []struct {
	name string
	call func(ctx context.Context, s *postgres.Store) error
}{
	{"runtimes get", func(ctx context.Context, s *postgres.Store) error {
		_, err := s.Runtimes().Get(ctx, "game-1")
		return err
	}},
	{"runtimes list", func(ctx context.Context, s *postgres.Store) error {
		_, err := s.Runtimes().List(ctx, ports.ListRuntimesQuery{Limit: 10})
		return err
	}},
	{"runtimes upsert", func(ctx context.Context, s *postgres.Store) error {
		_, err := s.Runtimes().Upsert(ctx, runningRecord("game-1"))
		return err
	}},
	{"runtimes update status", func(ctx context.Context, s *postgres.Store) error {
		_, err := s.Runtimes().UpdateStatus(ctx, ports.StatusUpdate{
			GameID: "game-1", From: domain.StatusRunning, To: domain.StatusStopped, At: at(0),
		})
		return err
	}},
	{"runtimes list stopped before", func(ctx context.Context, s *postgres.Store) error {
		_, err := s.Runtimes().ListStoppedBefore(ctx, at(0), 10)
		return err
	}},
	{"runtimes count by status", func(ctx context.Context, s *postgres.Store) error {
		_, err := s.Runtimes().CountByStatus(ctx)
		return err
	}},
	{"operations append", func(ctx context.Context, s *postgres.Store) error {
		_, err := s.Operations().Append(ctx, operation("game-1"))
		return err
	}},
	{"operations list", func(ctx context.Context, s *postgres.Store) error {
		_, err := s.Operations().List(ctx, ports.ListOperationsQuery{GameID: "game-1", Limit: 10})
		return err
	}},
	{"operations by source ref", func(ctx context.Context, s *postgres.Store) error {
		_, err := s.Operations().BySourceRef(ctx, "game-1", domain.SourceLobbyStream, "1700000000000-0", 10)
		return err
	}},
	{"fences advance", func(ctx context.Context, s *postgres.Store) error {
		_, err := s.Fences().Advance(ctx, "game-1", domain.JobPosition{Ms: 1700000000000, Rank: domain.JobRankStop})
		return err
	}},
	{"health upsert", func(ctx context.Context, s *postgres.Store) error {
		return s.Health().Upsert(ctx, snapshot("game-1", at(0)))
	}},
	{"health get", func(ctx context.Context, s *postgres.Store) error {
		_, err := s.Health().Get(ctx, "game-1")
		return err
	}},
}

func assertUnavailable(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("error %v, want ErrUnavailable", err)
	}
}

func TestUnavailable(t *testing.T) {
	t.Parallel()

	closed := newMigratedPool(t)
	closed.Close()
	closedStore := postgres.NewStore(closed)

	// pgxpool connects lazily, so a pool on a dead address builds fine and
	// fails on first use — the case of PostgreSQL going away after boot.
	dead, err := pgxpool.New(t.Context(), unreachableDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dead.Close)
	deadStore := postgres.NewStore(dead)

	for _, c := range storeCalls {
		t.Run(c.name+" on a closed pool is unavailable", func(t *testing.T) {
			assertUnavailable(t, c.call(t.Context(), closedStore))
		})
		t.Run(c.name+" on an unreachable server is unavailable", func(t *testing.T) {
			assertUnavailable(t, c.call(t.Context(), deadStore))
		})
	}

	t.Run("ping on a closed pool is unavailable", func(t *testing.T) {
		assertUnavailable(t, postgres.Ping(t.Context(), closed))
	})
	t.Run("migrate on a closed pool is unavailable", func(t *testing.T) {
		assertUnavailable(t, postgres.Migrate(t.Context(), closed))
	})
	t.Run("open of an unreachable DSN is unavailable", func(t *testing.T) {
		pool, err := postgres.Open(t.Context(), unreachableDSN, 4)
		if pool != nil {
			pool.Close()
		}
		assertUnavailable(t, err)
	})
	t.Run("open of a malformed DSN is a plain error", func(t *testing.T) {
		_, err := postgres.Open(t.Context(), "postgres://%zz", 4)
		if err == nil || errors.Is(err, ports.ErrUnavailable) {
			t.Fatalf("Open: %v, want a plain error", err)
		}
	})
}

func TestContextErrors(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)

	t.Run("a deadline that passed is unavailable and still a deadline", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := s.Runtimes().Get(ctx, "game-1")
		assertUnavailable(t, err)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v lost context.DeadlineExceeded", err)
		}
	})

	t.Run("a statement still waiting at its deadline is unavailable", func(t *testing.T) {
		mustUpsert(t, s, runningRecord("locked"))
		// Another session holds the row, so the CAS waits on the server
		// until the caller's deadline passes.
		tx, err := pool.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(context.Background()) }()
		if _, err := tx.Exec(t.Context(), "SELECT 1 FROM runtime_records WHERE game_id = 'locked' FOR UPDATE"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err = s.Runtimes().UpdateStatus(ctx, ports.StatusUpdate{
			GameID: "locked", From: domain.StatusRunning, To: domain.StatusStopped, At: at(time.Hour),
		})
		assertUnavailable(t, err)
	})

	t.Run("a cancelled caller is not mistaken for an unavailable database", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.Runtimes().Get(ctx, "game-1")
		if errors.Is(err, ports.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled only", err)
		}
	})
}
