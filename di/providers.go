// Package di assembles Runtime Manager from its adapters. The providers are
// plain constructors so the graph reads without wire; wire_gen.go is the
// generated injector (make generate). The marker types DockerReady and
// Migrated make the boot order of contract §10 part of the graph: PostgreSQL is
// opened only after Docker answered and the network exists, Redis only after
// the migrations ran.
package di

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/adapters/docker"
	"github.com/galaxy/rtmanager/adapters/engine"
	"github.com/galaxy/rtmanager/adapters/httpapi"
	"github.com/galaxy/rtmanager/adapters/lobby"
	"github.com/galaxy/rtmanager/adapters/metrics"
	"github.com/galaxy/rtmanager/adapters/postgres"
	"github.com/galaxy/rtmanager/adapters/redis"
	"github.com/galaxy/rtmanager/adapters/statedir"
	"github.com/galaxy/rtmanager/adapters/swarm"
	"github.com/galaxy/rtmanager/core/health"
	"github.com/galaxy/rtmanager/core/jobs"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/core/reconcile"
	"github.com/galaxy/rtmanager/core/watch"
	"github.com/galaxy/rtmanager/internal/config"
	"github.com/galaxy/rtmanager/ports"
)

// DockerReady proves the daemon answered and the engine network exists.
type DockerReady struct{}

// Migrated proves the schema is at the binary's version.
type Migrated struct{}

// ProvideDocker builds the Docker client (it connects lazily).
func ProvideDocker(cfg config.Config) (*docker.Client, func(), error) {
	d, err := docker.New(docker.Config{
		Host: cfg.DockerHost, CallTimeout: cfg.DockerCallTimeout, PullTimeout: cfg.ImagePullTimeout, Deployment: cfg.Deployment,
	})
	if err != nil {
		return nil, nil, err
	}
	return d, func() { _ = d.Close() }, nil
}

// CheckDocker pings the daemon and checks the engine network exists; RTM
// never creates the network. On swarm the daemon must be a manager and the
// network an attachable overlay.
func CheckDocker(ctx context.Context, cfg config.Config, d *docker.Client) (DockerReady, error) {
	if err := d.Ping(ctx); err != nil {
		return DockerReady{}, fmt.Errorf("docker: %w", err)
	}
	ok, err := d.NetworkExists(ctx, cfg.DockerNetwork)
	if err != nil {
		return DockerReady{}, fmt.Errorf("docker: check network: %w", err)
	}
	if !ok {
		return DockerReady{}, fmt.Errorf("docker: network %q does not exist (create it: docker network create %s)", cfg.DockerNetwork, cfg.DockerNetwork)
	}
	if cfg.Runtime == config.RuntimeSwarm {
		if err := swarm.CheckManager(ctx, d, cfg.DockerNetwork); err != nil {
			return DockerReady{}, fmt.Errorf("swarm runtime: %w (create the network: docker network create -d overlay --attachable %s)",
				err, cfg.DockerNetwork)
		}
	}
	return DockerReady{}, nil
}

// ProvideEngines is what runs engines, as RTMANAGER_RUNTIME says: the
// Docker client itself, or Swarm services driven through it.
func ProvideEngines(cfg config.Config, d *docker.Client) (ports.Docker, error) {
	if cfg.Runtime == config.RuntimeSwarm {
		return swarm.New(d, swarm.Config{Deployment: cfg.Deployment, StopGrace: cfg.ContainerStopTimeout})
	}
	return d, nil
}

// ProvidePostgres opens the pool once Docker is known to be usable.
func ProvidePostgres(ctx context.Context, cfg config.Config, _ DockerReady) (*pgxpool.Pool, func(), error) {
	// Every job in flight, plus room for REST calls and the gauge refresher.
	pool, err := postgres.Open(ctx, cfg.PostgresDSN, int32(cfg.JobConcurrency)+8)
	if err != nil {
		return nil, nil, err
	}
	return pool, pool.Close, nil
}

// Migrate applies the embedded migrations before anything else uses the pool.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (Migrated, error) {
	return Migrated{}, postgres.Migrate(ctx, pool)
}

// ProvideStore is the PostgreSQL store behind the three store ports.
func ProvideStore(pool *pgxpool.Pool, _ Migrated) *postgres.Store { return postgres.NewStore(pool) }

// RuntimeStore, OperationLog and HealthStore hand out the store's per-port adapters.
func RuntimeStore(s *postgres.Store) *postgres.RuntimeStore { return s.Runtimes() }

// OperationLog is the store's operation-log adapter.
func OperationLog(s *postgres.Store) *postgres.OperationLog { return s.Operations() }

// HealthStore is the store's health-snapshot adapter.
func HealthStore(s *postgres.Store) *postgres.HealthStore { return s.Health() }

// JobFences is the store's job-fence adapter.
func JobFences(s *postgres.Store) *postgres.JobFences { return s.Fences() }

// ProvideRedis opens Redis after the migrations.
func ProvideRedis(ctx context.Context, cfg config.Config, _ Migrated) (*goredis.Client, func(), error) {
	rdb, err := redis.Open(ctx, redis.Options{Addr: cfg.RedisAddr, Password: cfg.RedisPassword, DB: cfg.RedisDB})
	if err != nil {
		return nil, nil, err
	}
	return rdb, func() { _ = rdb.Close() }, nil
}

// ProvideLeases is the per-game lease on Redis.
func ProvideLeases(rdb *goredis.Client, cfg config.Config, log *slog.Logger) *redis.Leases {
	return redis.NewLeases(rdb, redis.LeaseConfig{TTL: cfg.GameLeaseTTL, Logger: log})
}

// streamNames are the configured stream keys.
func streamNames(cfg config.Config) redis.StreamNames {
	s := cfg.Streams
	return redis.StreamNames{
		StartJobs: s.StartJobs, StopJobs: s.StopJobs, JobResults: s.JobResults,
		HealthEvents: s.HealthEvents, NotificationIntents: s.NotificationIntents, DeadLetters: s.DeadLetters,
	}
}

// ProvidePublisher publishes every outgoing stream.
func ProvidePublisher(rdb *goredis.Client, cfg config.Config) *redis.Publisher {
	return redis.NewPublisher(rdb, streamNames(cfg), cfg.Streams.MaxLen)
}

// ProvideJobSource reads Lobby's job streams as this instance's consumer of the group.
func ProvideJobSource(rdb *goredis.Client, cfg config.Config) (*redis.JobSource, error) {
	return redis.NewJobSource(rdb, redis.JobSourceConfig{
		Names: streamNames(cfg), Group: cfg.Streams.Group, Consumer: cfg.InstanceID, ClaimIdle: cfg.Streams.ClaimIdle,
		MaxLen: cfg.Streams.MaxLen,
	})
}

// ProvideConsumer builds the Lobby job consumer. Its drain is the shutdown
// timeout, the same bound the HTTP server's in-flight requests get.
func ProvideConsumer(cfg config.Config, src *redis.JobSource, pub *redis.Publisher, svc *lifecycle.Service,
	clk ports.Clock, m *metrics.Metrics, log *slog.Logger) *jobs.Consumer {
	return jobs.New(jobs.Config{
		Concurrency: cfg.JobConcurrency, ClaimIdle: cfg.Streams.ClaimIdle, Drain: cfg.ShutdownTimeout,
	}, jobs.Deps{
		Source: src, Dead: pub, Runner: svc, Clock: clk, Metrics: m,
		Logger: log.With("component", "jobs"),
	})
}

// ProvideProber probes engines over HTTP.
func ProvideProber(cfg config.Config) *engine.Prober {
	return engine.NewProber(engine.Config{Timeout: cfg.ProbeTimeout})
}

// ProvideLobby is the optional Lobby client (nil when no base URL is set).
func ProvideLobby(cfg config.Config) (ports.LobbyClient, error) {
	return lobby.New(lobby.Config{BaseURL: cfg.LobbyBaseURL, Timeout: cfg.LobbyTimeout})
}

// LifecycleConfig maps the service configuration onto the lifecycle services'.
func LifecycleConfig(cfg config.Config) lifecycle.Config {
	return lifecycle.Config{
		Deployment:       cfg.Deployment,
		Network:          cfg.DockerNetwork,
		StateMountPath:   cfg.EngineStateMountPath,
		StateEnvName:     cfg.EngineStateEnvName,
		PullPolicy:       cfg.ImagePullPolicy,
		AllowedPrefixes:  cfg.AllowedImagePrefixes,
		DefaultLimits:    cfg.DefaultLimits,
		StopTimeout:      cfg.ContainerStopTimeout,
		ReadyTimeout:     cfg.EngineReadyTimeout,
		EngineAddress:    lifecycle.EngineAddressMode(cfg.EngineAddress),
		StartConcurrency: cfg.DockerStartConcurrency,
		// Bounded json-file logs: an engine can never fill the host's disk.
		LogDriver:   "json-file",
		LogOptions:  map[string]string{"max-size": "10m", "max-file": "3"},
		ExtraLabels: cfg.ExtraContainerLabels,
	}
}

// ProvideStateDirs keeps the games' state: host directories on docker,
// named volumes on the game's node (which it also picks) on swarm.
func ProvideStateDirs(cfg config.Config, d *docker.Client) ports.StateDirs {
	if cfg.Runtime == config.RuntimeSwarm {
		return swarm.NewVolumes(d)
	}
	return statedir.New(statedir.Config{
		Root: cfg.GameStateRoot, Mode: cfg.GameStateDirMode,
		OwnerUID: cfg.GameStateOwnerUID, OwnerGID: cfg.GameStateOwnerGID,
	})
}

// ProvideLifecycle builds the lifecycle services.
func ProvideLifecycle(cfg lifecycle.Config, d lifecycle.Deps) *lifecycle.Service {
	return lifecycle.New(cfg, d)
}

// ProvideHandler builds the REST API with its readiness checks.
func ProvideHandler(cfg config.Config, svc *lifecycle.Service, runtimes *postgres.RuntimeStore, ops *postgres.OperationLog,
	health *postgres.HealthStore, pool *pgxpool.Pool, rdb *goredis.Client, d *docker.Client, events *watch.Listener,
	m *metrics.Metrics, log *slog.Logger) (http.Handler, error) {
	return httpapi.New(httpapi.Config{
		Lifecycle: svc, Runtimes: runtimes, Operations: ops, Health: health,
		Readiness: map[string]httpapi.ReadinessCheck{
			"postgres": func(ctx context.Context) error { return postgres.Ping(ctx, pool) },
			"redis":    func(ctx context.Context) error { return redis.Ping(ctx, rdb) },
			"docker":   d.Ping,
			// The events listener's stream (contract §7): down, exits and
			// removals go unseen until it is back.
			"docker_events": events.Check,
		},
		Metrics: m.Handler(), Token: cfg.InternalToken, Logger: log,
	})
}

// The watchers (contract §7): the events listener, the probe and inspect workers.

// ProvideHealthEmitter is the health emitter the watchers share.
func ProvideHealthEmitter(store *postgres.HealthStore, pub *redis.Publisher, m *metrics.Metrics) *health.Emitter {
	return health.NewEmitter(store, pub, m)
}

// ProvideListener builds the events listener on the runtime's port (the
// daemon's container events on docker, polled task states and services on
// swarm); it repairs records through the lifecycle service, and asks the
// reconciler for a pass after a broken stream.
func ProvideListener(d ports.Docker, runtimes *postgres.RuntimeStore, leases *redis.Leases, svc *lifecycle.Service,
	rec *reconcile.Reconciler, clk ports.Clock, m *metrics.Metrics, log *slog.Logger) *watch.Listener {
	return watch.NewListener(watch.ListenerDeps{
		Docker: d, Records: runtimes, Leases: leases, Repair: svc, Clock: clk, Metrics: m,
		Logger:    log.With("component", "events"),
		Reconcile: rec.Trigger,
	})
}

// ProvideProbe builds the probe worker; it reaches engines as the readiness
// gate does.
func ProvideProbe(cfg config.Config, runtimes *postgres.RuntimeStore, prober *engine.Prober, svc *lifecycle.Service,
	h *health.Emitter, clk ports.Clock, m *metrics.Metrics, log *slog.Logger) *watch.Probe {
	return watch.NewProbe(watch.ProbeConfig{
		Interval: cfg.ProbeInterval, Timeout: cfg.ProbeTimeout,
		Threshold: cfg.ProbeFailuresThreshold, Concurrency: cfg.ProbeConcurrency,
	}, watch.ProbeDeps{
		Records: runtimes, Prober: prober, Addresses: svc.EngineAddresses(), Health: h, Clock: clk, Metrics: m,
		Logger: log.With("component", "probe"),
	})
}

// ProvideInspect builds the inspect worker; it inspects engines through the
// runtime's port (a service and its task on swarm).
func ProvideInspect(cfg config.Config, runtimes *postgres.RuntimeStore, d ports.Docker, h *health.Emitter,
	clk ports.Clock, log *slog.Logger) *watch.Inspect {
	return watch.NewInspect(cfg.InspectInterval, watch.InspectDeps{
		Records: runtimes, Docker: d, Health: h, Clock: clk, Logger: log.With("component", "inspect"),
	})
}

// reconcileConcurrency bounds a pass's repairs in flight: each holds a
// PostgreSQL connection for a few statements, within the pool's headroom
// beyond the jobs in flight.
const reconcileConcurrency = 4

// ProvideReconciler builds the reconciler; its repairs are the lifecycle's.
// It lists engines through the runtime's port: on swarm a game's engine is
// its service, and its task's container (labelled like an engine) must never
// be taken for one.
func ProvideReconciler(cfg config.Config, d ports.Docker, runtimes *postgres.RuntimeStore, svc *lifecycle.Service,
	clk ports.Clock, m *metrics.Metrics, log *slog.Logger) *reconcile.Reconciler {
	return reconcile.New(reconcile.Config{
		Deployment: cfg.Deployment, Interval: cfg.ReconcileInterval, Grace: cfg.ReconcileGrace,
		Concurrency: reconcileConcurrency,
	}, reconcile.Deps{
		Docker: d, Records: runtimes, Repairs: svc, Clock: clk, Metrics: m, Logger: log.With("component", "reconcile"),
	})
}

// ProvideRetention builds the retention cleanup worker.
func ProvideRetention(cfg config.Config, runtimes *postgres.RuntimeStore, svc *lifecycle.Service, clk ports.Clock,
	log *slog.Logger) *reconcile.Retention {
	return reconcile.NewRetention(reconcile.RetentionConfig{
		Retention: time.Duration(cfg.RetentionDays) * 24 * time.Hour, Interval: cfg.CleanupInterval,
	}, reconcile.RetentionDeps{Records: runtimes, Cleanups: svc, Clock: clk, Logger: log.With("component", "retention")})
}
