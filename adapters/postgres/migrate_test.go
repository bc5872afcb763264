package postgres_test

import (
	"errors"
	"io/fs"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/galaxy/rtmanager/adapters/postgres"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/ports"
	sqlassets "github.com/galaxy/rtmanager/sql"
)

// assertSchemaComplete checks the tables and indexes of contract §2.1/§8 and
// the job fences exist in the pool's schema and that goose recorded every
// embedded migration exactly once.
func assertSchemaComplete(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	for _, rel := range []struct{ catalog, column, name string }{
		{"pg_tables", "tablename", "runtime_records"},
		{"pg_tables", "tablename", "operation_log"},
		{"pg_tables", "tablename", "health_snapshots"},
		{"pg_tables", "tablename", "job_fences"},
		{"pg_indexes", "indexname", "runtime_records_status_last_op_idx"},
		{"pg_indexes", "indexname", "runtime_records_game_id_lower_key"},
		{"pg_indexes", "indexname", "operation_log_game_id_id_idx"},
	} {
		var n int
		q := "SELECT count(*) FROM " + rel.catalog + " WHERE schemaname = current_schema() AND " + rel.column + " = $1"
		if err := pool.QueryRow(t.Context(), q, rel.name).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s %s: count=%d err=%v", rel.catalog, rel.name, n, err)
		}
	}
	versions := migrationVersions(t)
	if len(versions) < 3 {
		t.Fatalf("%d embedded migrations, want at least 3", len(versions))
	}
	for _, v := range versions {
		var applied int
		if err := pool.QueryRow(t.Context(),
			"SELECT count(*) FROM goose_db_version WHERE version_id = $1 AND is_applied", v).Scan(&applied); err != nil {
			t.Fatalf("read goose version table: %v", err)
		}
		if applied != 1 {
			t.Errorf("migration %d recorded %d times, want once", v, applied)
		}
	}
}

// migrationVersions lists the versions of the embedded migrations.
func migrationVersions(t *testing.T) []int64 {
	t.Helper()
	names, err := fs.Glob(sqlassets.Migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var versions []int64
	for _, name := range names {
		prefix, _, _ := strings.Cut(path.Base(name), "_")
		v, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil {
			t.Fatalf("migration %s has no version prefix: %v", name, err)
		}
		versions = append(versions, v)
	}
	return versions
}

func TestMigrate(t *testing.T) {
	t.Parallel()

	t.Run("a second run on a migrated schema changes nothing", func(t *testing.T) {
		t.Parallel()
		pool := openPool(t, testenv.FreshSchema(t))
		for i := range 2 {
			if err := postgres.Migrate(t.Context(), pool); err != nil {
				t.Fatalf("Migrate run %d: %v", i+1, err)
			}
		}
		assertSchemaComplete(t, pool)
	})

	t.Run("two instances booting at once both succeed and apply it once", func(t *testing.T) {
		t.Parallel()
		dsn := testenv.FreshSchema(t)
		pools := []*pgxpool.Pool{openPool(t, dsn), openPool(t, dsn)}
		errs := make([]error, len(pools))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, pool := range pools {
			wg.Go(func() {
				<-start
				errs[i] = postgres.Migrate(t.Context(), pool)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("instance %d: Migrate: %v", i, err)
			}
		}
		assertSchemaComplete(t, pools[0])
	})

	t.Run("the down migration undoes everything and up applies again", func(t *testing.T) {
		t.Parallel()
		pool := newMigratedPool(t)
		db := stdlib.OpenDBFromPool(pool)
		defer db.Close()
		migrations, err := fs.Sub(sqlassets.Migrations, "migrations")
		if err != nil {
			t.Fatal(err)
		}
		provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations, goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := provider.DownTo(t.Context(), 0); err != nil {
			t.Fatalf("down: %v", err)
		}
		var left int
		if err := pool.QueryRow(t.Context(),
			"SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'goose_db_version'").Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Fatalf("%d tables left after down", left)
		}
		if err := postgres.Migrate(t.Context(), pool); err != nil {
			t.Fatalf("Migrate after down: %v", err)
		}
		var tables int
		if err := pool.QueryRow(t.Context(),
			"SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'goose_db_version'").Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != 4 {
			t.Fatalf("%d tables after re-applying, want 4", tables)
		}
	})

	t.Run("a search_path naming no existing schema is a clear error, not unavailability", func(t *testing.T) {
		t.Parallel()
		u, err := url.Parse(testenv.PostgresDSN())
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", "no_such_schema_"+testenv.RandomHex(4))
		u.RawQuery = q.Encode()
		err = postgres.Migrate(t.Context(), openPool(t, u.String()))
		if err == nil {
			t.Fatal("Migrate succeeded without a schema")
		}
		if errors.Is(err, ports.ErrUnavailable) {
			t.Fatalf("error %v must not read as unavailable", err)
		}
	})
}

func TestOpenBoundsEveryStatement(t *testing.T) {
	t.Parallel()
	_, pool := newStore(t)
	var got string
	if err := pool.QueryRow(t.Context(), "SHOW statement_timeout").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "30s" {
		t.Errorf("statement_timeout = %q, want 30s unless the DSN sets one", got)
	}
}
