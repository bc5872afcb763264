package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/health"
	"github.com/galaxy/rtmanager/core/internal/sweep"
	"github.com/galaxy/rtmanager/ports"
)

// inspectConcurrency bounds the inspections in flight: each is one quick
// Docker call, and the daemon serves the lifecycle too.
const inspectConcurrency = 4

// Reasons of inspect_unhealthy (contract §6.5).
const (
	reasonRestarted  = "restart_count_increased"
	reasonNotRunning = "not_running"
	reasonUnhealthy  = "healthcheck_unhealthy"
)

// InspectDeps are what the inspect worker works through.
type InspectDeps struct {
	Records ports.RuntimeStore
	Docker  ports.Docker
	Health  *health.Emitter
	Clock   ports.Clock
	Logger  *slog.Logger
}

// Inspect is the inspect worker: every interval it inspects the container of
// every running record (contract §7, inspect).
type Inspect struct {
	interval time.Duration
	d        InspectDeps
	games    lifetimes[inspected]
}

// inspected is what the worker remembers of one game's container.
type inspected struct {
	restarts int
	baseline bool   // restarts holds a count seen
	reported string // the finding last emitted; "" while the container is well
}

// NewInspect builds the inspect worker.
func NewInspect(interval time.Duration, d InspectDeps) *Inspect {
	return &Inspect{interval: interval, d: d}
}

// Run ticks every interval until ctx ends.
func (w *Inspect) Run(ctx context.Context) { sweep.Every(ctx, w.interval, w.Tick) }

// Tick inspects every running record's container once and returns when all
// are done. Games no longer running, or running another container, are
// forgotten (a new container starts a new restart-count baseline).
func (w *Inspect) Tick(ctx context.Context) {
	w.games.tick(ctx, w.d.Records, w.d.Logger, inspectConcurrency, func(r domain.Record, g *inspected) {
		w.inspect(ctx, r.GameID, r.CurrentContainerID, g)
	})
}

// inspect looks at one container. The first look only sets the restart-count
// baseline; a finding is emitted once, until the container is well again or
// the finding changes.
func (w *Inspect) inspect(ctx context.Context, gameID, containerID string, g *inspected) {
	log := w.d.Logger.With("game_id", gameID, "container_id", containerID)
	info, err := w.d.Docker.InspectContainer(ctx, containerID)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return // gone: the events listener and the reconciler report that
	case err != nil:
		if ctx.Err() == nil {
			log.Warn("inspect: inspect container", "err", err)
		}
		return
	}
	reason := ""
	switch {
	case info.State != "running":
		reason = reasonNotRunning
	case info.Health == "unhealthy":
		reason = reasonUnhealthy
	case g.baseline && info.RestartCount > g.restarts:
		reason = reasonRestarted
	}
	g.restarts, g.baseline = info.RestartCount, true
	finding := ""
	if reason != "" {
		finding = fmt.Sprint(reason, "/", info.RestartCount, "/", info.State, "/", info.Health)
	}
	if finding == g.reported {
		return
	}
	g.reported = finding
	if reason == "" || !w.stillRunning(ctx, log, gameID, containerID) {
		return
	}
	w.d.Health.EmitChanged(ctx, log, domain.HealthSnapshot{GameID: gameID, ContainerID: containerID,
		Status: domain.HealthUnhealthy, Source: domain.HealthSourceInspect, LastEventType: domain.EventInspectUnhealthy,
		Details: map[string]any{"reason": reason, "restart_count": info.RestartCount,
			"docker_status": info.State, "health_status": info.Health},
		ObservedAt: w.d.Clock.Now()})
}

// stillRunning reports whether the record still runs the container: an exit
// seen between the listing and the inspection is the events listener's to
// report (container_exited), not a finding of this worker.
func (w *Inspect) stillRunning(ctx context.Context, log *slog.Logger, gameID, containerID string) bool {
	rec, err := w.d.Records.Get(ctx, gameID)
	if err != nil {
		if !errors.Is(err, ports.ErrNotFound) && ctx.Err() == nil {
			log.Warn("inspect: read record", "err", err)
		}
		return false
	}
	return rec.Status == domain.StatusRunning && rec.CurrentContainerID == containerID
}
