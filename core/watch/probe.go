package watch

import (
	"context"
	"log/slog"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/health"
	"github.com/galaxy/rtmanager/core/internal/sweep"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

// ProbeConfig is the probe worker's part of the configuration (RTMANAGER_PROBE_*).
type ProbeConfig struct {
	Interval time.Duration
	// Timeout bounds one probe.
	Timeout time.Duration
	// Threshold is how many consecutive failures make probe_failed.
	Threshold int
	// Concurrency bounds the probes in flight.
	Concurrency int
}

// ProbeDeps are what the probe worker works through.
type ProbeDeps struct {
	Records ports.RuntimeStore
	Prober  ports.EngineProber
	// Addresses is how RTM reaches an engine, as the readiness gate does.
	Addresses lifecycle.EngineAddresses
	Health    *health.Emitter
	Clock     ports.Clock
	Metrics   ports.Metrics
	Logger    *slog.Logger
}

// Probe is the probe worker: every interval it sends GET /healthz to the
// engine of every running record (contract §7, probe).
type Probe struct {
	cfg   ProbeConfig
	d     ProbeDeps
	games lifetimes[probed]
}

// probed is what the worker remembers of one game's engine between ticks.
type probed struct {
	base         string // where the engine is reached; "" until resolved
	failures     int    // consecutive
	failingSince time.Time
	lastError    string
	reported     bool // probe_failed was emitted and no probe_recovered yet
}

// NewProbe builds the probe worker.
func NewProbe(cfg ProbeConfig, d ProbeDeps) *Probe {
	return &Probe{cfg: cfg, d: d}
}

// Run ticks every interval until ctx ends.
func (p *Probe) Run(ctx context.Context) { sweep.Every(ctx, p.cfg.Interval, p.Tick) }

// Tick probes every running record's engine once, at most Concurrency at
// once, and returns when all probes are done. What it remembers of games no
// longer running — or now running another container — is forgotten.
func (p *Probe) Tick(ctx context.Context) {
	p.games.tick(ctx, p.d.Records, p.d.Logger, p.cfg.Concurrency, func(r domain.Record, g *probed) { p.probe(ctx, r, g) })
}

// probe probes one engine and applies the hysteresis: probe_failed once at
// the threshold of consecutive failures, probe_recovered at the first
// success after it.
func (p *Probe) probe(ctx context.Context, rec domain.Record, g *probed) {
	at := p.d.Clock.Now()
	err := p.healthz(ctx, rec, g)
	if ctx.Err() != nil {
		return // shutting down: the probe's failure is ours, not the engine's
	}
	log := p.d.Logger.With("game_id", rec.GameID, "container_id", rec.CurrentContainerID)
	if err == nil {
		if g.reported {
			p.d.Health.EmitChanged(ctx, log, p.snapshot(rec, domain.HealthHealthy, domain.EventProbeRecovered,
				map[string]any{"failed_for_ms": p.d.Clock.Now().Sub(g.failingSince).Milliseconds()}), "failed_for_ms")
		}
		g.failures, g.reported = 0, false
		return
	}
	p.d.Metrics.ProbeFailed()
	if g.failures == 0 {
		g.failingSince = at
	}
	g.failures++
	g.lastError = err.Error()
	if g.failures < p.cfg.Threshold || g.reported {
		return
	}
	g.reported = true
	// Another instance counting the same failures saw another error text.
	p.d.Health.EmitChanged(ctx, log, p.snapshot(rec, domain.HealthProbeFailed, domain.EventProbeFailed,
		map[string]any{"consecutive_failures": g.failures, "last_error": g.lastError}), "last_error")
}

// healthz resolves the engine's address once per container, then probes it
// within the probe timeout.
func (p *Probe) healthz(ctx context.Context, rec domain.Record, g *probed) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	if g.base == "" {
		base, err := p.d.Addresses.Of(ctx, rec.EngineEndpoint, rec.CurrentContainerID)
		if err != nil {
			return err
		}
		g.base = base
	}
	return p.d.Prober.Healthz(ctx, g.base)
}

func (p *Probe) snapshot(rec domain.Record, st domain.HealthStatus, ev domain.HealthEventType,
	details map[string]any) domain.HealthSnapshot {
	return domain.HealthSnapshot{GameID: rec.GameID, ContainerID: rec.CurrentContainerID, Status: st,
		Source: domain.HealthSourceProbe, LastEventType: ev, Details: details, ObservedAt: p.d.Clock.Now()}
}
