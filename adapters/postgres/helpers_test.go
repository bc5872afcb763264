package postgres_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/galaxy/rtmanager/adapters/postgres"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/internal/testenv"
)

// newMigratedPool opens a pool on a fresh, migrated schema; both go away
// when the test ends.
func newMigratedPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool := openPool(t, testenv.FreshSchema(t))
	if err := postgres.Migrate(t.Context(), pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return pool
}

func openPool(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := postgres.Open(t.Context(), dsn, 8)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func newStore(t testing.TB) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := newMigratedPool(t)
	return postgres.NewStore(pool), pool
}

// base is a fixed, microsecond-precise instant: PostgreSQL keeps microseconds,
// so times written with more precision would not compare equal when read.
var base = time.Date(2031, 3, 14, 15, 9, 26, 535897000, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

func ptr(t time.Time) *time.Time { return &t }

func runningRecord(gameID string) domain.Record {
	return domain.Record{
		GameID:             gameID,
		Status:             domain.StatusRunning,
		CurrentContainerID: "c-" + gameID,
		CurrentImageRef:    "galaxy/game:1.0.0",
		EngineEndpoint:     domain.EngineEndpoint(gameID),
		StatePath:          "/var/lib/galaxy/games/" + gameID,
		DockerNetwork:      "galaxy-net",
		StartedAt:          ptr(at(0)),
		LastOpAt:           at(0),
		CreatedAt:          at(0),
	}
}

// recordIn returns a valid record of gameID in status st.
func recordIn(gameID string, st domain.Status) domain.Record {
	rec := runningRecord(gameID)
	rec.Status = st
	switch st {
	case domain.StatusStopped:
		rec.StoppedAt = ptr(at(time.Minute))
		rec.LastOpAt = at(time.Minute)
	case domain.StatusRemoved:
		rec.StoppedAt = ptr(at(time.Minute))
		rec.RemovedAt = ptr(at(2 * time.Minute))
		rec.LastOpAt = at(2 * time.Minute)
	}
	return rec
}

func mustUpsert(t testing.TB, s *postgres.Store, rec domain.Record) domain.Record {
	t.Helper()
	got, err := s.Runtimes().Upsert(context.Background(), rec)
	if err != nil {
		t.Fatalf("Upsert(%s): %v", rec.GameID, err)
	}
	return got
}

func mustGet(t testing.TB, s *postgres.Store, gameID string) domain.Record {
	t.Helper()
	got, err := s.Runtimes().Get(context.Background(), gameID)
	if err != nil {
		t.Fatalf("Get(%s): %v", gameID, err)
	}
	return got
}

func assertRecordEqual(t testing.TB, got, want domain.Record) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("record mismatch\n got: %s\nwant: %s", dump(got), dump(want))
	}
}

func dump(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// normalizeJSON passes v through json.Marshal and Unmarshal into any, the
// form in which two JSON values are compared regardless of Go types.
func normalizeJSON(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
