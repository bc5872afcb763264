// Package testenv gives tests the real dependencies: PostgreSQL (a fresh schema
// per test), Redis and the Docker engine. A missing dependency fails the test —
// it never skips — so a green run always means the real things were used.
// `make test` brings the dependencies up first (scripts/deps.sh).
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// DefaultPostgresDSN is the DSN of the locally provisioned database (sql/provision.sql).
const DefaultPostgresDSN = "postgres://rtmanagerservice:rtmanagerservice@127.0.0.1:5432/galaxy?search_path=rtmanager&sslmode=disable"

// RunLabel is the Docker label every test container and network carries, with
// the value RunID, so a test run can find and remove exactly what it made.
const RunLabel = "com.galaxy.test_run"

var (
	runIDOnce sync.Once
	runID     string
)

// RunID identifies this test process; it prefixes names and keys tests create.
func RunID() string {
	runIDOnce.Do(func() { runID = "t" + RandomHex(4) })
	return runID
}

// Deployment is the RTMANAGER_DEPLOYMENT of every RTM a test process runs and
// the deployment label of the engine containers its tests make: the run id,
// so test runs (and a real deployment) sharing one Docker host never list,
// hear of or touch each other's containers.
func Deployment() string { return RunID() }

// RandomHex returns n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// UniqueName returns a name unique to this run and call, safe as a game id.
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s-%s-%s", prefix, RunID(), RandomHex(3))
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// PostgresDSN is the DSN of the test database (RTMANAGER_TEST_POSTGRES_DSN).
func PostgresDSN() string { return env("RTMANAGER_TEST_POSTGRES_DSN", DefaultPostgresDSN) }

// RedisAddr is the address of the test Redis (RTMANAGER_TEST_REDIS_ADDR).
func RedisAddr() string { return env("RTMANAGER_TEST_REDIS_ADDR", "127.0.0.1:6379") }

// DockerNetwork is the network engines join in tests (RTMANAGER_TEST_DOCKER_NETWORK).
func DockerNetwork() string { return env("RTMANAGER_TEST_DOCKER_NETWORK", "galaxy-net") }

// setupCtx bounds one setup or cleanup step; generous, since a loaded CI
// machine can make even DROP SCHEMA slow.
func setupCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// FreshSchema creates an empty schema for one test and returns a DSN whose
// search_path points at it. The schema is dropped when the test ends. The
// caller applies the migrations.
func FreshSchema(t testing.TB) string {
	t.Helper()
	ctx, cancel := setupCtx()
	defer cancel()
	conn, err := pgx.Connect(ctx, PostgresDSN())
	if err != nil {
		t.Fatalf("testenv: PostgreSQL is required (run `make deps`): %v", err)
	}
	defer conn.Close(context.Background())
	schema := "test_" + strings.ReplaceAll(RunID(), "-", "_") + "_" + RandomHex(4)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("testenv: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := setupCtx()
		defer cancel()
		c, err := pgx.Connect(ctx, PostgresDSN())
		if err != nil {
			t.Errorf("testenv: drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("testenv: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(PostgresDSN())
	if err != nil {
		t.Fatalf("testenv: parse DSN: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Redis returns a client of the test Redis, closed when the test ends.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: RedisAddr()})
	ctx, cancel := setupCtx()
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("testenv: Redis is required at %s (run `make deps`): %v", RedisAddr(), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Docker returns an SDK client of the local engine, closed when the test ends.
func Docker(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("testenv: Docker client: %v", err)
	}
	ctx, cancel := setupCtx()
	defer cancel()
	if _, err := c.Ping(ctx); err != nil {
		t.Fatalf("testenv: the Docker engine is required: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Containers lists the containers the filters match (any state), each with
// its State as inspected. A listing alone can be stale just after a stop: the
// daemon marks the container stopped and wakes whoever waits on its exit (a
// stop call; the swarm agent, which then reports the task finished) before
// it has released the container's networks and updated the view that
// listings read, so for that moment a listing still says running (seen once
// in CI, on a swarm task). Inspect reads the container itself, under the
// lock that the exit's handling holds until the view is updated.
func Containers(t testing.TB, d *client.Client, args filters.Args) []container.Summary {
	t.Helper()
	ctx, cancel := setupCtx()
	defer cancel()
	list, err := d.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		t.Fatalf("testenv: list containers: %v", err)
	}
	out := list[:0]
	for _, c := range list {
		r, err := d.ContainerInspect(ctx, c.ID)
		switch {
		case cerrdefs.IsNotFound(err): // removed since the listing
			continue
		case err != nil:
			t.Fatalf("testenv: inspect container %s: %v", c.ID, err)
		}
		c.State = r.State.Status
		out = append(out, c)
	}
	return out
}
