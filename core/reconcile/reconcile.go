// Package reconcile holds the two workers that bring the records and Docker
// back in line (contract §7): the reconciler, which finds and repairs the
// three drifts between our containers and the runtime records, and the
// retention cleanup, which removes the containers of games stopped for too
// long. Both act only through the lifecycle service, so every change is made
// under the game's lease and writes its operation row.
package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/internal/sweep"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

// Repairs are the record repairs of the lifecycle service a pass asks for.
// Each decides again under the game's lease, after asking Docker about the
// container, and changes nothing when there is nothing to repair; a busy game
// is lifecycle.ErrGameBusy.
type Repairs interface {
	Adopt(ctx context.Context, in lifecycle.AdoptInput) (bool, error)
	ObserveExit(ctx context.Context, in lifecycle.ExitInput) (bool, error)
	Dispose(ctx context.Context, in lifecycle.DisposeInput) (bool, error)
}

// Config tunes the reconciler.
type Config struct {
	// Deployment says which containers are ours (contract §3); the Docker
	// adapter lists only those, and a pass checks again.
	Deployment string
	// Interval is the time between passes (RTMANAGER_RECONCILE_INTERVAL).
	Interval time.Duration
	// Grace is the age under which a container is left alone
	// (RTMANAGER_RECONCILE_GRACE): a start in flight may be making it.
	Grace time.Duration
	// Concurrency bounds the repairs in flight during one pass.
	Concurrency int
}

// Deps are what the reconciler works through.
type Deps struct {
	Docker  ports.Docker
	Records ports.RuntimeStore
	Repairs Repairs
	Clock   ports.Clock
	Metrics ports.ReconcileMetrics
	Logger  *slog.Logger
}

// Reconciler runs reconcile passes: once at boot (Pass, called by whoever
// boots the service), then every Interval and whenever Trigger asks (Run).
type Reconciler struct {
	cfg  Config
	d    Deps
	kick chan struct{} // one pending request; more coalesce into it
	pass sync.Mutex    // one pass at a time
}

// New builds a reconciler.
func New(cfg Config, d Deps) *Reconciler {
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	return &Reconciler{cfg: cfg, d: d, kick: make(chan struct{}, 1)}
}

// Trigger asks Run for a pass as soon as it can, without waiting: requests
// made while one is pending are one request. The events listener calls it
// after its stream broke, since the daemon replays only a short buffer.
func (r *Reconciler) Trigger() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run passes every Interval and on Trigger, until ctx ends; a repair in
// flight then finishes before Run returns. The boot pass is not Run's: the
// caller makes it first (contract §10).
func (r *Reconciler) Run(ctx context.Context) {
	sweep.EveryOr(ctx, r.cfg.Interval, r.kick, func(ctx context.Context) { _, _ = r.Pass(ctx) }) // logged by Pass
}

// Report is what one pass did.
type Report struct {
	// Repaired counts the drifts repaired, by the repair's op kind.
	Repaired map[domain.OpKind]int
	// Young counts containers left alone for being younger than the grace.
	Young int
	// Busy counts repairs skipped because the game's lease was held; the
	// next pass finds them again.
	Busy int
	// Failed counts repairs that failed (each is logged).
	Failed int
}

// fix is one repair a pass decided to ask for.
type fix struct {
	kind        domain.OpKind
	gameID      string
	containerID string
}

// recordsPage is how many records one listing call returns.
const recordsPage = 1000

// Pass runs one reconcile pass: it lists our containers (every state), then
// the records, decides the drifts (contract §7) and asks for their repairs,
// at most Concurrency at once. The error is a listing's; failed repairs are
// logged and counted in the report, and never stop the pass.
func (r *Reconciler) Pass(ctx context.Context) (Report, error) {
	r.pass.Lock()
	defer r.pass.Unlock()
	began := r.d.Clock.Now()
	rep := Report{Repaired: map[domain.OpKind]int{}}
	containers, err := r.d.Docker.ListOwned(ctx)
	if err != nil {
		r.d.Logger.Warn("reconcile pass: list containers", "err", err)
		return rep, err
	}
	records, err := sweep.Records(ctx, r.d.Records, "", recordsPage)
	if err != nil {
		r.d.Logger.Warn("reconcile pass: list records", "err", err)
		return rep, err
	}
	fixes := r.decide(containers, records, began, &rep)
	r.repair(ctx, fixes, &rep)
	end := r.d.Clock.Now()
	r.d.Metrics.ReconcilePassed(end, end.Sub(began))
	r.d.Logger.Info("reconcile pass", "containers", len(containers), "records", len(records),
		"repaired", rep.Repaired, "young", rep.Young, "busy", rep.Busy, "failed", rep.Failed,
		"took_ms", end.Sub(began).Milliseconds())
	return rep, nil
}

// decide finds the drifts of contract §7 between the listing and the
// records, leaving alone containers younger than the grace and any that is
// not ours:
//  1. a container no live record names → adopt;
//  2. a running or stopped record whose container is not listed → dispose
//     (the repair inspects the recorded id: absence from a listing is not
//     proof, a container without our deployment label is never listed) —
//     unless the game has a container to adopt, whose adoption replaces the
//     record (a restart cut short between removing the old container and
//     recording the new one leaves exactly that);
//  3. a running record whose container is listed and not running → observe
//     its exit.
func (r *Reconciler) decide(containers []ports.ContainerInfo, records []domain.Record, now time.Time, rep *Report) []fix {
	young := func(c ports.ContainerInfo) bool { return now.Sub(c.CreatedAt) < r.cfg.Grace }
	named := make(map[string]bool, len(records)) // containers a live record names
	for _, rec := range records {
		if rec.Status != domain.StatusRemoved && rec.CurrentContainerID != "" {
			named[rec.CurrentContainerID] = true
		}
	}
	var fixes []fix
	owned := make(map[string]ports.ContainerInfo, len(containers))
	adopting := map[string]bool{} // games with a container to adopt
	for _, c := range containers {
		if !c.OwnedBy(r.cfg.Deployment) {
			continue
		}
		owned[c.ID] = c
		switch game := c.Labels[ports.LabelGameID]; {
		case young(c):
			rep.Young++
		case !named[c.ID]:
			fixes = append(fixes, fix{domain.OpReconcileAdopt, game, c.ID})
			adopting[game] = true
		}
	}
	for _, rec := range records {
		if rec.Status == domain.StatusRemoved || rec.CurrentContainerID == "" {
			continue
		}
		c, listed := owned[rec.CurrentContainerID]
		switch {
		case !listed && !adopting[rec.GameID]:
			fixes = append(fixes, fix{domain.OpReconcileDispose, rec.GameID, rec.CurrentContainerID})
		case listed && rec.Status == domain.StatusRunning && !c.Running && !young(c):
			fixes = append(fixes, fix{domain.OpReconcileObserveExit, rec.GameID, c.ID})
		}
	}
	return fixes
}

// repair asks for each fix, at most Concurrency at once, and waits for all.
func (r *Reconciler) repair(ctx context.Context, fixes []fix, rep *Report) {
	var mu sync.Mutex
	sweep.Each(ctx, fixes, r.cfg.Concurrency, func(f fix) {
		changed, err := r.apply(ctx, f)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case errors.Is(err, lifecycle.ErrGameBusy):
			rep.Busy++
		case err != nil:
			rep.Failed++
			r.d.Logger.Warn("reconcile repair failed", "game_id", f.gameID, "container_id", f.containerID,
				"op_kind", f.kind, "err", err)
		case changed:
			rep.Repaired[f.kind]++
			r.d.Metrics.ReconcileDrift(f.kind)
		}
	})
}

func (r *Reconciler) apply(ctx context.Context, f fix) (bool, error) {
	switch f.kind {
	case domain.OpReconcileAdopt:
		return r.d.Repairs.Adopt(ctx, lifecycle.AdoptInput{GameID: f.gameID, ContainerID: f.containerID})
	case domain.OpReconcileObserveExit:
		return r.d.Repairs.ObserveExit(ctx, lifecycle.ExitInput{GameID: f.gameID, ContainerID: f.containerID,
			Source: domain.SourceAutoReconcile})
	default:
		return r.d.Repairs.Dispose(ctx, lifecycle.DisposeInput{GameID: f.gameID, ContainerID: f.containerID,
			Source: domain.SourceAutoReconcile})
	}
}
