// Package watch holds the workers that watch running engines (contract §7):
// the Docker events listener, the probe worker and the inspect worker. They
// report what they see as health events (core/health) and, for exits and
// removals, as record repairs (core/lifecycle's ObserveExit and Dispose).
//
// Several instances of one deployment run the same workers side by side;
// every event still happens once. An exit or a removal is a compare-and-swap
// of the record, which one instance wins. A probe or inspect finding is a
// conditional snapshot upsert (health.Emitter.EmitChanged), which one
// instance wins.
package watch

import (
	"context"
	"log/slog"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/internal/sweep"
	"github.com/galaxy/rtmanager/ports"
)

// recordsPage is how many records one listing query returns.
const recordsPage = 500

// lifetimes keeps what a worker remembers of each running game between
// ticks. A game's state lasts as long as the game runs the same container: a
// game no longer running, or running a new container, starts afresh.
type lifetimes[S any] struct {
	byGame map[string]lifetime[S]
}

type lifetime[S any] struct {
	containerID string
	state       *S
}

// tick lists the running records, forgets what ended, and runs fn for every
// record with its game's state, at most n at once; it returns when all have
// returned. Only tick touches the map; each fn only its own game's state.
func (l *lifetimes[S]) tick(ctx context.Context, records ports.RuntimeStore, log *slog.Logger, n int,
	fn func(rec domain.Record, state *S)) {
	recs, err := sweep.Records(ctx, records, domain.StatusRunning, recordsPage)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("list running records", "err", err)
		}
		return
	}
	next := make(map[string]lifetime[S], len(recs))
	for _, r := range recs {
		lt, ok := l.byGame[r.GameID]
		if !ok || lt.containerID != r.CurrentContainerID {
			lt = lifetime[S]{containerID: r.CurrentContainerID, state: new(S)}
		}
		next[r.GameID] = lt
	}
	l.byGame = next
	sweep.Each(ctx, recs, n, func(r domain.Record) { fn(r, next[r.GameID].state) })
}
