// Package harness runs the whole Runtime Manager in-process against the real
// PostgreSQL (a fresh schema), Redis (streams private to the test), Docker
// engine and sample engine images, for the integration tests and benchmarks.
// Everything a harness creates — containers, schema, stream keys, state
// directories, and on swarm (Env RUNTIME=swarm) services and state volumes —
// is removed when the test ends.
package harness

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dockerclient "github.com/docker/docker/client"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/adapters/httpapi/contracttest"
	"github.com/galaxy/rtmanager/adapters/redis"
	"github.com/galaxy/rtmanager/api/client"
	"github.com/galaxy/rtmanager/di"
	"github.com/galaxy/rtmanager/internal/config"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/ports"
)

// Service is one in-process Runtime Manager.
type Service struct {
	t         testing.TB
	App       *di.App
	URL       string
	Client    *client.ClientWithResponses
	HTTP      *http.Client // validates every answer against api/openapi.yaml
	Docker    *dockerclient.Client
	Redis     *goredis.Client
	DB        *pgxpool.Pool // the test's own schema, for checks the API cannot make
	Config    config.Config
	StateRoot string

	mu      sync.Mutex
	gameIDs []string
	running *di.Running
}

// Options tune one harness.
type Options struct {
	// Env overrides RTMANAGER_* variables (names without the prefix).
	Env map[string]string
	// Logger receives the service's logs; discarded when nil.
	Logger *slog.Logger
	// NoContract skips response validation (benchmarks measure the service, not the checker).
	NoContract bool
	// Peer makes this service a second instance of peer's deployment: the
	// same RTMANAGER_DEPLOYMENT, database schema, stream keys, Redis and
	// state root, its own instance id (consumer name) and HTTP listener.
	Peer *Service
}

// Start boots a service for one test.
func Start(t testing.TB, opts Options) *Service {
	t.Helper()
	testenv.EngineImages(t)
	s := &Service{t: t, Docker: testenv.Docker(t), Redis: testenv.Redis(t), StateRoot: t.TempDir()}
	prefix := "rtmtest:" + testenv.UniqueName("streams") + ":"
	// The test run's own deployment: engines of other test runs and of a
	// real RTM on this Docker host are foreign to it (contract §3).
	dsn, deployment := "", testenv.Deployment()
	if p := opts.Peer; p != nil {
		s.StateRoot, dsn, deployment = p.StateRoot, p.Config.PostgresDSN, p.Config.Deployment
		prefix = strings.TrimSuffix(p.Config.Streams.StartJobs, "start_jobs")
	} else {
		dsn = testenv.FreshSchema(t)
	}
	env := map[string]string{
		"INSTANCE_ID":                    testenv.UniqueName("rtm"),
		"DEPLOYMENT":                     deployment,
		"POSTGRES_PRIMARY_DSN":           dsn,
		"REDIS_MASTER_ADDR":              testenv.RedisAddr(),
		"DOCKER_NETWORK":                 testenv.DockerNetwork(),
		"GAME_STATE_ROOT":                s.StateRoot,
		"ENGINE_ADDRESS":                 "container_ip",
		"ENGINE_READY_TIMEOUT":           "20s",
		"CONTAINER_STOP_TIMEOUT_SECONDS": "5",
		"GAME_STATE_OWNER_UID":           "0",
		"GAME_STATE_OWNER_GID":           "0",
	}
	maps.Copy(env, testenv.StreamEnv(prefix))
	maps.Copy(env, opts.Env)
	cfg, err := config.Parse(func(k string) (string, bool) {
		v, ok := env[strings.TrimPrefix(k, config.Prefix)]
		return v, ok
	})
	if err != nil {
		t.Fatalf("harness: config: %v", err)
	}
	cfg.ExtraContainerLabels = map[string]string{testenv.RunLabel: testenv.RunID()}
	s.Config = cfg
	testenv.DeleteKeysAtEnd(t, s.Redis, prefix)

	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	app, cleanup, err := di.Build(ctx, cfg, log)
	if err != nil {
		t.Fatalf("harness: boot: %v", err)
	}
	s.App = app
	if s.DB, err = pgxpool.New(ctx, cfg.PostgresDSN); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler)
	s.URL = srv.URL
	var rt http.RoundTripper = http.DefaultTransport
	if !opts.NoContract {
		rt = contracttest.Transport(t, rt)
	}
	s.HTTP = &http.Client{Transport: rt, Timeout: 2 * time.Minute}
	s.Client, err = client.NewClientWithResponses(srv.URL, client.WithHTTPClient(s.HTTP))
	if err != nil {
		t.Fatal(err)
	}
	// The boot reconcile pass has run when Start returns.
	s.running = app.Start(context.Background())
	// Registered last so it runs first: the consumer stops and containers go
	// before the service does.
	t.Cleanup(func() {
		srv.Close()
		s.DB.Close()
		cleanup()
	})
	t.Cleanup(s.removeContainers)
	t.Cleanup(s.running.Stop)
	return s
}

// Halt stops all background work as SIGTERM would — the job consumer (stop
// reading, hand back, drain) and the workers — and returns when it has
// stopped: from then on the service takes no job and notices nothing that
// happens to its engines, as if it were down. The REST API keeps serving.
func (s *Service) Halt() { s.running.Stop() }

// GameID returns a fresh game id whose containers and lease are removed when the test ends.
func (s *Service) GameID(prefix string) string { return s.Track(testenv.UniqueName(prefix)) }

// Track removes id's containers and lease when the test ends, like GameID,
// for an id the test spells itself (derived from one GameID gave it), and
// returns id.
func (s *Service) Track(id string) string {
	s.mu.Lock()
	s.gameIDs = append(s.gameIDs, id)
	s.mu.Unlock()
	return id
}

// Containers lists this run's containers (any state) of one game.
func (s *Service) Containers(gameID string) []container.Summary {
	s.t.Helper()
	return testenv.Containers(s.t, s.Docker, filters.NewArgs(
		filters.Arg("label", ports.LabelGameID+"="+gameID),
		filters.Arg("label", testenv.RunLabel+"="+testenv.RunID()),
	))
}

func (s *Service) removeContainers() {
	s.mu.Lock()
	ids := append([]string(nil), s.gameIDs...)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, id := range ids {
		// On swarm a game leaves a service (until cleanup) and a state
		// volume (always) besides its task containers.
		if s.Config.Runtime == config.RuntimeSwarm {
			if err := testenv.RemoveSwarmGame(ctx, s.Docker, id); err != nil {
				s.t.Errorf("harness: remove swarm game %s: %v", id, err)
			}
		}
		for _, c := range s.Containers(id) {
			if err := s.Docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
				s.t.Errorf("harness: remove container %s: %v", c.ID, err)
			}
		}
		s.Redis.Del(ctx, redis.LeaseKey(id))
	}
}
