package ports

import (
	"context"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
)

//go:generate go tool -modfile=../tools/go.mod mockgen -destination=mocks/coordination_mock.go -package=mocks . Leases,Lease,HealthPublisher,NotificationPublisher,JobSource,DeadLetters,EngineProber,LobbyClient,Clock,Metrics

// Leases hands out the per-game lease that serialises all lifecycle work on a game.
type Leases interface {
	// Acquire takes the game's lease or returns ErrLeaseBusy. The returned lease
	// is renewed in the background until Release.
	Acquire(ctx context.Context, gameID string) (Lease, error)
	// Held reports whether anyone currently holds the game's lease.
	Held(ctx context.Context, gameID string) (bool, error)
}

// Lease is one held per-game lease.
type Lease interface {
	// Release stops renewal and deletes the lease if still ours. It uses its
	// own context so it runs even when the operation's context is cancelled.
	Release()
	// Lost is closed if renewal finds the lease taken or expired.
	Lost() <-chan struct{}
}

// HealthPublisher XADDs to runtime:health_events.
type HealthPublisher interface {
	PublishHealth(ctx context.Context, ev domain.HealthEvent) error
}

// NotificationPublisher XADDs to notification:intents.
type NotificationPublisher interface {
	PublishIntent(ctx context.Context, n domain.NotificationIntent) error
}

// JobKind is the kind of a Lobby job.
type JobKind string

const (
	JobStart JobKind = "start"
	JobStop  JobKind = "stop"
)

// Job is one entry read from runtime:start_jobs or runtime:stop_jobs.
type Job struct {
	Kind   JobKind
	ID     string            // stream entry id
	Fields map[string]string // raw fields, decoded by core
	// Reclaimed marks an entry taken over from an idle consumer rather than
	// read new; Read returns reclaimed entries first, then up to count new
	// entries per stream, each stream's in entry-id order.
	Reclaimed bool
}

// JobKey names a job's entry: entry ids are unique within one stream only.
type JobKey struct {
	Kind JobKind
	ID   string
}

// Key is the job's JobKey.
func (j Job) Key() JobKey { return JobKey{j.Kind, j.ID} }

// JobSource reads Lobby jobs through a consumer group.
type JobSource interface {
	// Read blocks up to block for new entries (and reclaims idle pending ones).
	Read(ctx context.Context, count int, block time.Duration) (Batch, error)
	// Answer appends the job's result to runtime:job_results and
	// acknowledges its entry, in one atomic step: the entry is acknowledged
	// only with its result written, and a result is never written for an
	// entry left pending, so a crash in between cannot answer a job twice.
	Answer(ctx context.Context, job Job, r JobResult) error
	// Ack acknowledges an entry that gets no answer (it names no usable game).
	Ack(ctx context.Context, job Job) error
	// Touch resets the idle time of the jobs this consumer still owns, so no
	// other consumer reclaims them while they run (the heartbeat). It never
	// takes a job back from another consumer: the jobs that are no longer
	// this consumer's (reclaimed elsewhere, or acknowledged) are returned as lost.
	Touch(ctx context.Context, jobs []Job) (lost []Job, err error)
	// HandBack marks jobs this consumer will not run (it is shutting down)
	// as idle for the claim time, so another consumer reclaims them at once.
	HandBack(ctx context.Context, jobs []Job) error
	// Pending counts entries delivered but not yet acknowledged.
	Pending(ctx context.Context) (int64, error)
}

// Batch is what one Read returns.
type Batch struct {
	Jobs []Job
	// Complete is a millisecond of Redis's clock taken before the read
	// looked for new entries: every entry of either stream whose id's
	// millisecond is below it had been appended by then, so the read
	// delivered it (unless it filled its count) or an earlier one did. 0 when
	// the read did not look for new entries.
	Complete int64
}

// JobResult is one entry of runtime:job_results.
type JobResult struct {
	GameID         string
	JobID          string
	JobKind        JobKind
	Outcome        domain.Outcome
	ContainerID    string
	EngineEndpoint string
	ErrorCode      domain.ErrorCode
	ErrorMessage   string
	FinishedAt     time.Time
}

// DeadLetters keeps malformed stream entries in rtmanager:dead_letters.
type DeadLetters interface {
	DeadLetter(ctx context.Context, job Job, reason string) error
}

// EngineProber asks an engine whether it is alive.
type EngineProber interface {
	// Healthz returns nil when GET {baseURL}/healthz answers 200.
	Healthz(ctx context.Context, baseURL string) error
}

// LobbyClient reads Game Lobby's view of a game, for diagnostics only.
type LobbyClient interface {
	GetGame(ctx context.Context, gameID string) (map[string]any, error)
}

// Clock tells the time; tests substitute it.
type Clock interface {
	Now() time.Time
}

// Metrics receives what the core observes; the Prometheus adapter implements it.
type Metrics interface {
	OperationDone(kind domain.OpKind, source domain.OpSource, outcome domain.Outcome, code domain.ErrorCode, took time.Duration)
	HealthEventPublished(t domain.HealthEventType)
	LeaseConflict()
	// JobDone counts one answered stream job; took runs from the entry's
	// append (its id's time) to its acknowledgement.
	JobDone(kind JobKind, outcome domain.Outcome, code domain.ErrorCode, took time.Duration)
	// JobDeadLettered counts one malformed entry copied to the dead letters.
	JobDeadLettered(kind JobKind)
	// JobsPending sets the group's count of delivered, unacknowledged entries.
	JobsPending(n int64)

	// The events listener and the probe worker (contract §7).

	// EventsReconnected counts one reconnect of the Docker events stream.
	EventsReconnected()
	// EventHandled counts one Docker event the listener has handled, by
	// action (ActionDie, ActionOOM, ActionDestroy, or "other"), and sets the
	// events lag: how long before it finished, Docker had sent the event.
	EventHandled(action string, lag time.Duration)
	// ProbeFailed counts one failed engine probe of the probe worker.
	ProbeFailed()
}
