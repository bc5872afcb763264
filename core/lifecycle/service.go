// Package lifecycle holds the services that start, stop, restart, patch and
// clean up engine containers (contract §4). Every public method is one
// operation run by the same scaffold (operation.go): validate the input, take
// the per-game lease, do the work, record exactly one operation-log row. The
// inner steps of restart and patch run the same work functions under the
// outer operation's lease, each with its own row.
//
// Files by concern: operation.go (the scaffold and failures), records.go
// (reading and writing runtime records), preflight.go (checks before any
// container is touched), container.go (Docker container handling),
// readiness.go (the readiness gate), fence.go (the order of stream jobs),
// and one file per operation.
package lifecycle

import (
	"log/slog"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/health"
	"github.com/galaxy/rtmanager/core/limits"
	"github.com/galaxy/rtmanager/ports"
)

// EngineAddressMode says how RTM itself reaches an engine (contract §7).
type EngineAddressMode string

const (
	// AddressEndpoint uses engine_endpoint (Docker DNS on the network).
	AddressEndpoint EngineAddressMode = "endpoint"
	// AddressContainerIP uses the container's IP on the network (RTM on the host).
	AddressContainerIP EngineAddressMode = "container_ip"
)

// Config is what the lifecycle services need from the service configuration.
type Config struct {
	// Deployment is set as com.galaxy.deployment on every engine container;
	// only a container carrying it and the owner label is ours (contract §3).
	Deployment      string
	Network         string
	StateMountPath  string
	StateEnvName    string
	PullPolicy      domain.PullPolicy
	AllowedPrefixes []string
	DefaultLimits   limits.Limits
	StopTimeout     time.Duration
	ReadyTimeout    time.Duration
	EngineAddress   EngineAddressMode
	// StartConcurrency bounds Docker create/start calls in flight on this host.
	StartConcurrency int
	LogDriver        string
	LogOptions       map[string]string
	// ExtraLabels are added to every engine container (never overriding the
	// contract's labels); tests use them to mark what one run created.
	ExtraLabels map[string]string
}

// Deps are the ports the services work through.
type Deps struct {
	Docker        ports.Docker
	Records       ports.RuntimeStore
	Operations    ports.OperationLog
	Health        ports.HealthStore
	Leases        ports.Leases
	Fences        ports.JobFences
	StateDirs     ports.StateDirs
	HealthEvents  ports.HealthPublisher
	Notifications ports.NotificationPublisher
	Prober        ports.EngineProber
	Lobby         ports.LobbyClient // nil when not configured
	Clock         ports.Clock
	IDs           ports.IDs
	Metrics       ports.Metrics
	Logger        *slog.Logger
}

// Service runs the lifecycle operations.
type Service struct {
	cfg    Config
	d      Deps
	health *health.Emitter
	starts chan struct{} // semaphore bounding Docker create/start
}

// New builds the lifecycle service.
func New(cfg Config, d Deps) *Service {
	if cfg.StartConcurrency < 1 {
		cfg.StartConcurrency = 1
	}
	return &Service{cfg: cfg, d: d, health: health.NewEmitter(d.Health, d.HealthEvents, d.Metrics),
		starts: make(chan struct{}, cfg.StartConcurrency)}
}
