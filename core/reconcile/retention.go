package reconcile

import (
	"context"
	"log/slog"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/internal/sweep"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

// Cleanups is the lifecycle's cleanup operation, which the retention worker
// runs with source auto_ttl.
type Cleanups interface {
	Cleanup(ctx context.Context, in lifecycle.CleanupInput) domain.Result
}

// RetentionConfig tunes the retention worker.
type RetentionConfig struct {
	// Retention is how long a game stays stopped before its container is
	// removed (RTMANAGER_CONTAINER_RETENTION_DAYS).
	Retention time.Duration
	// Interval is the time between passes (RTMANAGER_CLEANUP_INTERVAL).
	Interval time.Duration
}

// RetentionDeps are what the retention worker works through.
type RetentionDeps struct {
	Records  ports.RuntimeStore
	Cleanups Cleanups
	Clock    ports.Clock
	Logger   *slog.Logger
}

// Retention removes the containers of games stopped for longer than the
// retention (contract §7, Cleanup); their state directories stay.
type Retention struct {
	cfg RetentionConfig
	d   RetentionDeps
}

// NewRetention builds the retention worker.
func NewRetention(cfg RetentionConfig, d RetentionDeps) *Retention {
	return &Retention{cfg: cfg, d: d}
}

// Run passes at once, then every Interval, until ctx ends; a cleanup in
// flight then finishes before Run returns. The first pass is not put off by
// an interval, so a service restarted more often than that still cleans.
func (w *Retention) Run(ctx context.Context) {
	pass := func(ctx context.Context) { _, _ = w.Pass(ctx) } // logged by Pass
	pass(ctx)
	sweep.Every(ctx, w.cfg.Interval, pass)
}

// RetentionReport is what one pass did.
type RetentionReport struct {
	Removed int // containers removed, records now removed
	Failed  int // cleanups that failed (each is logged and its row written); retried next pass
}

// retentionBatch is how many new candidates one listing call asks for.
const retentionBatch = 100

// Pass cleans up every game stopped before now − Retention, oldest first,
// one at a time. A failed cleanup never stops the pass: its record is still
// stopped, so every later listing returns it again, and each listing asks
// for that many more records than have been tried; a pass ends once a
// listing brings nothing new. The error is a listing's.
func (w *Retention) Pass(ctx context.Context) (RetentionReport, error) {
	var rep RetentionReport
	cutoff := w.d.Clock.Now().Add(-w.cfg.Retention)
	tried := map[string]bool{}
	for ctx.Err() == nil {
		limit := len(tried) + retentionBatch
		recs, err := w.d.Records.ListStoppedBefore(ctx, cutoff, limit)
		if err != nil {
			w.d.Logger.Warn("retention pass: list stopped runtimes", "err", err)
			return rep, err
		}
		for _, rec := range recs {
			if tried[rec.GameID] || ctx.Err() != nil {
				continue
			}
			tried[rec.GameID] = true
			res := w.d.Cleanups.Cleanup(ctx, lifecycle.CleanupInput{GameID: rec.GameID, LastOpBefore: cutoff,
				Meta: lifecycle.Meta{Source: domain.SourceAutoTTL}})
			if res.ErrorCode == domain.CodeNone {
				rep.Removed++
			} else if !res.Succeeded() {
				rep.Failed++ // the operation logged why
			}
		}
		if len(recs) < limit {
			break
		}
	}
	if rep.Removed+rep.Failed > 0 {
		w.d.Logger.Info("retention pass", "removed", rep.Removed, "failed", rep.Failed, "cutoff", cutoff)
	}
	return rep, nil
}
