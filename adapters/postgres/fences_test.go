package postgres_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/galaxy/rtmanager/adapters/postgres"
	"github.com/galaxy/rtmanager/core/domain"
)

func position(ms int64, rank int8, seq int64) domain.JobPosition {
	return domain.JobPosition{Ms: ms, Rank: rank, Seq: seq}
}

func mustAdvance(t testing.TB, s *postgres.Store, gameID string, pos domain.JobPosition) domain.JobPosition {
	t.Helper()
	got, err := s.Fences().Advance(t.Context(), gameID, pos)
	if err != nil {
		t.Fatalf("Advance(%s, %s): %v", gameID, pos, err)
	}
	return got
}

// assertAdvance advances the game's fence to pos and checks where it now stands.
func assertAdvance(t testing.TB, s *postgres.Store, gameID string, pos, want domain.JobPosition) {
	t.Helper()
	if got := mustAdvance(t, s, gameID, pos); got != want {
		t.Fatalf("Advance(%s, %+v) = %+v, want %+v", gameID, pos, got, want)
	}
}

func TestJobFenceAdvance(t *testing.T) {
	t.Parallel()

	t.Run("the first job of a game sets the fence to its position", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		p := position(1700000000000, domain.JobRankStart, 3)
		assertAdvance(t, s, "game-1", p, p)
	})

	t.Run("a later job moves the fence", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		mustAdvance(t, s, "game-1", position(100, domain.JobRankStart, 0))
		later := position(101, domain.JobRankStart, 0)
		assertAdvance(t, s, "game-1", later, later)
		// It stays moved: the earlier position is now behind it.
		assertAdvance(t, s, "game-1", position(100, domain.JobRankStart, 0), later)
	})

	t.Run("an earlier job leaves the fence and gets the later position", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		later := position(200, domain.JobRankStart, 0)
		mustAdvance(t, s, "game-1", later)
		assertAdvance(t, s, "game-1", position(199, domain.JobRankStop, 9), later)
		assertAdvance(t, s, "game-1", later, later)
	})

	t.Run("the job at the fence gets its own position back", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		p := position(300, domain.JobRankStop, 4)
		mustAdvance(t, s, "game-1", p)
		assertAdvance(t, s, "game-1", p, p)
	})

	t.Run("in one millisecond a stop job is after every start job", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		start := position(400, domain.JobRankStart, 7)
		stop := position(400, domain.JobRankStop, 0)
		mustAdvance(t, s, "game-1", start)
		assertAdvance(t, s, "game-1", stop, stop)
		// The start job's sequence number is larger, yet it is behind the stop.
		assertAdvance(t, s, "game-1", start, stop)
	})

	t.Run("in one millisecond of one stream the sequence number orders", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		for _, rank := range []int8{domain.JobRankStart, domain.JobRankStop} {
			game := "game-" + itoa(int(rank))
			mustAdvance(t, s, game, position(500, rank, 1))
			second := position(500, rank, 2)
			assertAdvance(t, s, game, second, second)
			assertAdvance(t, s, game, position(500, rank, 1), second)
		}
	})

	t.Run("the millisecond orders before the stream and the sequence", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		later := position(601, domain.JobRankStart, 0)
		mustAdvance(t, s, "game-1", later)
		assertAdvance(t, s, "game-1", position(600, domain.JobRankStop, 1<<40), later)
	})

	t.Run("each game has a fence of its own", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		mustAdvance(t, s, "game-1", position(700, domain.JobRankStop, 0))
		p := position(1, domain.JobRankStart, 0)
		assertAdvance(t, s, "game-2", p, p)
	})

	t.Run("positions at the limits of their columns round-trip", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		zero := position(0, domain.JobRankStart, 0)
		assertAdvance(t, s, "game-1", zero, zero)
		top := position(1<<63-1, domain.JobRankStop, 1<<63-1)
		assertAdvance(t, s, "game-1", top, top)
	})

	t.Run("updated_at changes only when the fence moves", func(t *testing.T) {
		t.Parallel()
		s, pool := newStore(t)
		updatedAt := func() time.Time {
			t.Helper()
			var at time.Time
			if err := pool.QueryRow(t.Context(),
				"SELECT updated_at FROM job_fences WHERE game_id = 'game-1'").Scan(&at); err != nil {
				t.Fatal(err)
			}
			return at
		}
		p := position(800, domain.JobRankStart, 0)
		mustAdvance(t, s, "game-1", p)
		first := updatedAt()
		mustAdvance(t, s, "game-1", p)
		mustAdvance(t, s, "game-1", position(799, domain.JobRankStop, 0))
		if got := updatedAt(); !got.Equal(first) {
			t.Fatalf("updated_at %v after calls that did not move the fence, want %v", got, first)
		}
		mustAdvance(t, s, "game-1", position(801, domain.JobRankStart, 0))
		if got := updatedAt(); !got.After(first) {
			t.Fatalf("updated_at %v after the fence moved, want after %v", got, first)
		}
	})
}

// TestJobFenceAdvanceWaitingOnAWriter makes the races deterministic: another
// session inserts or moves the fence to a later position and commits only
// once Advance is waiting for that row. Advance must then report the
// committed fence, which its statement's snapshot does not show.
func TestJobFenceAdvanceWaitingOnAWriter(t *testing.T) {
	t.Parallel()

	later := position(2000, domain.JobRankStop, 5)
	mine := position(1500, domain.JobRankStart, 0)
	for _, tc := range []struct {
		name   string
		before *domain.JobPosition // the committed fence before the writer, nil for none
		write  string
	}{
		{"a fence inserted meanwhile", nil,
			"INSERT INTO job_fences (game_id, job_ms, job_rank, job_seq) VALUES ('game-1', $1, $2, $3)"},
		{"a fence moved meanwhile", &domain.JobPosition{Ms: 1000},
			"UPDATE job_fences SET job_ms = $1, job_rank = $2, job_seq = $3 WHERE game_id = 'game-1'"},
	} {
		t.Run("a call waiting on "+tc.name+" reports the committed fence", func(t *testing.T) {
			t.Parallel()
			s, pool := newStore(t)
			if tc.before != nil {
				mustAdvance(t, s, "game-1", *tc.before)
			}
			tx, err := pool.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(context.Background()) }()
			var writer int32
			if err := tx.QueryRow(t.Context(), "SELECT pg_backend_pid()").Scan(&writer); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(t.Context(), tc.write, later.Ms, later.Rank, later.Seq); err != nil {
				t.Fatal(err)
			}

			type answer struct {
				pos domain.JobPosition
				err error
			}
			done := make(chan answer, 1)
			go func() {
				pos, err := s.Fences().Advance(t.Context(), "game-1", mine)
				done <- answer{pos, err}
			}()
			waitUntilBlockedBy(t, pool, writer)
			if err := tx.Commit(t.Context()); err != nil {
				t.Fatal(err)
			}
			got := <-done
			if got.err != nil || got.pos != later {
				t.Fatalf("Advance = %v, %v; want the committed %v", got.pos, got.err, later)
			}
		})
	}
}

// waitUntilBlockedBy returns once some session waits for a lock the backend
// writer holds.
func waitUntilBlockedBy(t *testing.T, pool *pgxpool.Pool, writer int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := pool.QueryRow(t.Context(),
			"SELECT count(*) FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))", writer).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("Advance never waited for the writer's row")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestJobFenceAdvanceConcurrently races many callers — as many instances
// holding jobs of the same games would — on games without a fence yet, so
// the first inserts race too. The fence must end at the largest position, no
// caller may see a fence before its own position, and the fence a caller
// sees never goes back between its calls.
func TestJobFenceAdvanceConcurrently(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)

	const (
		games   = 4
		callers = 16
		calls   = 25
	)
	type result struct {
		game      string
		pos, seen domain.JobPosition
	}
	results := make([][]result, callers)
	errs := make([]error, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 42))
			<-start
			for range calls {
				game := "game-" + itoa(rng.IntN(games))
				// Narrow ranges, so ties of ms and of ms+rank are common.
				pos := position(1000+rng.Int64N(8), int8(rng.IntN(2)), rng.Int64N(4))
				seen, err := s.Fences().Advance(t.Context(), game, pos)
				if err != nil {
					errs[c] = err
					return
				}
				results[c] = append(results[c], result{game, pos, seen})
			}
		})
	}
	close(start)
	wg.Wait()
	for c, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: Advance: %v", c, err)
		}
	}

	highest := map[string]domain.JobPosition{}
	for c, rs := range results {
		last := map[string]domain.JobPosition{}
		for _, r := range rs {
			if r.seen.Compare(r.pos) < 0 {
				t.Errorf("caller %d: Advance(%s, %+v) = %+v, before its own position", c, r.game, r.pos, r.seen)
			}
			if prev, ok := last[r.game]; ok && r.seen.Compare(prev) < 0 {
				t.Errorf("caller %d: the fence of %s went back from %+v to %+v", c, r.game, prev, r.seen)
			}
			last[r.game] = r.seen
			if h, ok := highest[r.game]; !ok || r.pos.Compare(h) > 0 {
				highest[r.game] = r.pos
			}
		}
	}
	for game, want := range highest {
		// The lowest position leaves the fence where it stands and reports it.
		if got := mustAdvance(t, s, game, position(0, domain.JobRankStart, 0)); got != want {
			t.Errorf("the fence of %s stands at %+v, want the largest position %+v", game, got, want)
		}
	}
}
