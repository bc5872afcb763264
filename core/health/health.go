// Package health records what RTM observes about an engine's health
// (contract §6.5): every emission stores the game's snapshot in
// health_snapshots first, then publishes the event on runtime:health_events,
// so a reader of the stream always finds a snapshot at least as new as the
// event.
package health

import (
	"context"
	"log/slog"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// Emitter emits health observations. Each event type has a single owner
// (the start service, the events listener, the reconciler, the probe and
// inspect workers); they all emit through an Emitter.
type Emitter struct {
	store   ports.HealthStore
	events  ports.HealthPublisher
	metrics ports.Metrics
}

// NewEmitter builds an Emitter.
func NewEmitter(store ports.HealthStore, events ports.HealthPublisher, metrics ports.Metrics) *Emitter {
	return &Emitter{store: store, events: events, metrics: metrics}
}

// Emit upserts the snapshot, then publishes its event. A failed upsert is
// logged and the event is still published: Game Master acting on it matters
// more than the snapshot. A failed publish is logged; the snapshot stands.
func (e *Emitter) Emit(ctx context.Context, log *slog.Logger, snap domain.HealthSnapshot) {
	if err := e.store.Upsert(ctx, snap); err != nil {
		log.Error("health snapshot upsert failed", "err", err, "event_type", snap.LastEventType)
	}
	e.publish(ctx, log, snap)
}

func (e *Emitter) publish(ctx context.Context, log *slog.Logger, snap domain.HealthSnapshot) {
	ev := domain.HealthEvent{GameID: snap.GameID, ContainerID: snap.ContainerID, Type: snap.LastEventType,
		OccurredAt: snap.ObservedAt, Details: snap.Details}
	if err := e.events.PublishHealth(ctx, ev); err != nil {
		log.Error("health event publish failed", "err", err, "event_type", snap.LastEventType)
		return
	}
	e.metrics.HealthEventPublished(snap.LastEventType)
}

// EmitChanged is Emit for observations every instance makes on its own (the
// probe and inspect workers): the snapshot is stored only when it changes the
// stored one (ignoring the details keys named, which may differ between
// observers of one change), and the event is published only then — so of
// several instances seeing the same change, the one whose upsert wins
// publishes and the others stay silent.
// When the store fails, the event is still published: a duplicate event is
// better than a lost one.
func (e *Emitter) EmitChanged(ctx context.Context, log *slog.Logger, snap domain.HealthSnapshot, ignoredKeys ...string) {
	changed, err := e.store.UpsertChanged(ctx, snap, ignoredKeys...)
	if err != nil {
		log.Error("health snapshot upsert failed", "err", err, "event_type", snap.LastEventType)
		changed = true
	}
	if changed {
		e.publish(ctx, log, snap)
	}
}
