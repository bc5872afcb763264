//go:build wireinject

package di

import (
	"context"
	"log/slog"

	"github.com/google/wire"

	"github.com/galaxy/rtmanager/adapters/clock"
	"github.com/galaxy/rtmanager/adapters/engine"
	"github.com/galaxy/rtmanager/adapters/metrics"
	"github.com/galaxy/rtmanager/adapters/postgres"
	"github.com/galaxy/rtmanager/adapters/randid"
	"github.com/galaxy/rtmanager/adapters/redis"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/internal/config"
	"github.com/galaxy/rtmanager/ports"
)

// Build assembles the service in boot order (contract §10): Docker checked,
// PostgreSQL opened and migrated, Redis opened. Nothing runs yet: the caller
// serves App.Handler and runs App.Jobs and App.Watch. The cleanup closes what was
// opened, in reverse.
func Build(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, func(), error) {
	wire.Build(
		ProvideDocker, CheckDocker, ProvideEngines,
		ProvidePostgres, Migrate, ProvideStore, RuntimeStore, OperationLog, HealthStore, JobFences,
		ProvideRedis, ProvideLeases, ProvidePublisher, ProvideJobSource,
		ProvideProber, ProvideLobby, metrics.New,
		wire.Struct(new(clock.System)), wire.Struct(new(randid.Source)), ProvideStateDirs,
		wire.Bind(new(ports.RuntimeStore), new(*postgres.RuntimeStore)),
		wire.Bind(new(ports.OperationLog), new(*postgres.OperationLog)),
		wire.Bind(new(ports.HealthStore), new(*postgres.HealthStore)),
		wire.Bind(new(ports.JobFences), new(*postgres.JobFences)),
		wire.Bind(new(ports.Leases), new(*redis.Leases)),
		wire.Bind(new(ports.HealthPublisher), new(*redis.Publisher)),
		wire.Bind(new(ports.NotificationPublisher), new(*redis.Publisher)),
		wire.Bind(new(ports.EngineProber), new(*engine.Prober)),
		wire.Bind(new(ports.Clock), new(clock.System)),
		wire.Bind(new(ports.IDs), new(randid.Source)),
		wire.Bind(new(ports.Metrics), new(*metrics.Metrics)),
		wire.Struct(new(lifecycle.Deps), "*"),
		LifecycleConfig, ProvideLifecycle, ProvideConsumer,
		ProvideReconciler, ProvideRetention,
		ProvideHealthEmitter, ProvideListener, ProvideProbe, ProvideInspect,
		ProvideHandler,
		NewApp,
	)
	return nil, nil, nil
}
