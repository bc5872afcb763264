// Package lifecycle holds the services that start, stop, restart, patch and
// clean up engine containers (SPEC §4). Each public method validates its input,
// takes the per-game lease, does the work and records exactly one operation-log
// row; the lease-free run* methods are the inner steps restart and patch reuse.
package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/limits"
	"github.com/galaxy/rtmanager/ports"
)

// EngineAddressMode says how RTM itself reaches an engine (SPEC §7).
type EngineAddressMode string

const (
	// AddressEndpoint uses engine_endpoint (Docker DNS on the network).
	AddressEndpoint EngineAddressMode = "endpoint"
	// AddressContainerIP uses the container's IP on the network (RTM on the host).
	AddressContainerIP EngineAddressMode = "container_ip"
)

// Config is what the lifecycle services need from the service configuration.
type Config struct {
	Network         string
	StateRoot       string
	StateDirMode    os.FileMode
	StateOwnerUID   int
	StateOwnerGID   int
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
	HealthEvents  ports.HealthPublisher
	Notifications ports.NotificationPublisher
	Prober        ports.EngineProber
	Lobby         ports.LobbyClient // nil when not configured
	Clock         ports.Clock
	Metrics       ports.Metrics
	Logger        *slog.Logger
}

// Service runs the lifecycle operations.
type Service struct {
	cfg    Config
	d      Deps
	starts chan struct{} // semaphore bounding Docker create/start
}

// New builds the lifecycle service.
func New(cfg Config, d Deps) *Service {
	if cfg.StartConcurrency < 1 {
		cfg.StartConcurrency = 1
	}
	return &Service{cfg: cfg, d: d, starts: make(chan struct{}, cfg.StartConcurrency)}
}

// op is one operation in progress: what its log row will say.
type op struct {
	kind          domain.OpKind
	source        domain.OpSource
	sourceRef     string
	correlationID string
	gameID        string
	imageRef      string
	containerID   string
	details       map[string]any
	startedAt     time.Time
	log           *slog.Logger
	// lost closes if the game's lease is lost mid-operation (nil: never).
	lost <-chan struct{}
}

// leaseLost reports whether another holder may own the game now; a write
// made after that could overwrite its work, so callers stop first.
func (o *op) leaseLost() bool {
	select {
	case <-o.lost:
		return true
	default:
		return false
	}
}

// errLeaseLost is the result of an operation that lost its lease.
func errLeaseLost() domain.Result {
	return domain.Failure(domain.CodeConflict, "the game's lease was lost mid-operation; another operation may own the game now")
}

func (s *Service) newOp(kind domain.OpKind, gameID, imageRef string, m Meta) *op {
	cid := m.CorrelationID
	if cid == "" {
		cid = newCorrelationID()
	}
	return &op{
		kind: kind, source: m.Source, sourceRef: m.SourceRef, correlationID: cid,
		gameID: gameID, imageRef: imageRef, startedAt: s.d.Clock.Now(),
		log: s.d.Logger.With("game_id", gameID, "op_kind", kind, "op_source", m.Source, "correlation_id", cid),
	}
}

// child starts an inner operation sharing the outer one's correlation id and lease.
func (s *Service) child(parent *op, kind domain.OpKind, imageRef string) *op {
	c := s.newOp(kind, parent.gameID, imageRef, Meta{Source: parent.source, SourceRef: parent.sourceRef, CorrelationID: parent.correlationID})
	c.lost = parent.lost
	return c
}

func newCorrelationID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b)
}

// finish appends the operation's single log row, records metrics and, for a
// failed start, publishes the notification intent. It returns res unchanged so
// callers can `return s.finish(...)`.
func (s *Service) finish(ctx context.Context, o *op, res domain.Result) domain.Result {
	now := s.d.Clock.Now()
	if res.ContainerID != "" {
		o.containerID = res.ContainerID
	}
	entry := domain.Operation{
		GameID: o.gameID, Kind: o.kind, Source: o.source, SourceRef: o.sourceRef,
		CorrelationID: o.correlationID, Outcome: res.Outcome, ErrorCode: res.ErrorCode,
		ErrorMessage: res.ErrorMessage, ImageRef: o.imageRef, ContainerID: o.containerID,
		Details: o.details, StartedAt: o.startedAt, FinishedAt: now,
	}
	id, err := s.d.Operations.Append(ctx, entry)
	if err != nil {
		o.log.Error("operation log append failed", "err", err)
	}
	s.d.Metrics.OperationDone(o.kind, o.source, res.Outcome, res.ErrorCode, now.Sub(o.startedAt))
	level := slog.LevelInfo
	if !res.Succeeded() {
		level = slog.LevelWarn
	}
	o.log.Log(ctx, level, "operation finished", "outcome", res.Outcome, "error_code", res.ErrorCode,
		"error_message", res.ErrorMessage, "container_id", o.containerID, "took_ms", now.Sub(o.startedAt).Milliseconds())

	if o.kind == domain.OpStart && res.Succeeded() && res.ErrorCode == domain.CodeNone && res.Record != nil {
		s.emitHealth(ctx, o.log, domain.HealthSnapshot{
			GameID: o.gameID, ContainerID: res.ContainerID, Status: domain.HealthHealthy,
			Source: domain.HealthSourceStart, LastEventType: domain.EventContainerStarted,
			Details: map[string]any{"image_ref": o.imageRef}, ObservedAt: now,
		})
	}
	if o.kind == domain.OpStart && !res.Succeeded() && err == nil {
		if nt, ok := domain.NotificationForCode(res.ErrorCode); ok {
			intent := domain.NotificationIntent{Type: nt, GameID: o.gameID, OperationID: id, ImageRef: o.imageRef,
				ErrorCode: res.ErrorCode, ErrorMessage: res.ErrorMessage, AttemptedAt: o.startedAt, OccurredAt: now}
			if err := s.d.Notifications.PublishIntent(ctx, intent); err != nil {
				o.log.Error("notification intent publish failed", "err", err, "notification_type", nt)
			}
		}
	}
	return res
}

// withLease validates nothing: it takes the game's lease, runs fn and releases.
// A busy lease is a conflict; an unreachable Redis is service_unavailable.
func (s *Service) withLease(ctx context.Context, o *op, fn func() domain.Result) domain.Result {
	lease, err := s.d.Leases.Acquire(ctx, o.gameID)
	switch {
	case errors.Is(err, ports.ErrLeaseBusy):
		s.d.Metrics.LeaseConflict()
		return s.finish(ctx, o, domain.Failure(domain.CodeConflict, "another operation on this game is in progress"))
	case err != nil:
		return s.finish(ctx, o, storeFailure("acquire lease", err))
	}
	defer lease.Release()
	o.lost = lease.Lost()
	return fn()
}

// existing reads the record an operation needs: none is not_found.
func (s *Service) existing(ctx context.Context, gameID string) (domain.Record, *domain.Result) {
	rec, found, fail := s.getRecord(ctx, gameID)
	if fail == nil && !found {
		r := domain.Failure(domain.CodeNotFound, "no runtime for this game")
		fail = &r
	}
	return rec, fail
}

// getRecord reads the record; found=false with a zero result when there is none.
func (s *Service) getRecord(ctx context.Context, gameID string) (rec domain.Record, found bool, fail *domain.Result) {
	rec, err := s.d.Records.Get(ctx, gameID)
	if errors.Is(err, ports.ErrNotFound) {
		return domain.Record{}, false, nil
	}
	if err != nil {
		r := storeFailure("read runtime record", err)
		return domain.Record{}, false, &r
	}
	return rec, true, nil
}

// storeFailure maps a PostgreSQL/Redis error to its result.
func storeFailure(what string, err error) domain.Result {
	switch {
	case errors.Is(err, ports.ErrUnavailable):
		return domain.Failure(domain.CodeServiceUnavailable, fmt.Sprintf("%s: %v", what, err))
	case errors.Is(err, ports.ErrConflict):
		return domain.Failure(domain.CodeConflict, fmt.Sprintf("%s: the record changed concurrently", what))
	default:
		return domain.Failure(domain.CodeInternalError, fmt.Sprintf("%s: %v", what, err))
	}
}

// dockerFailure maps a Docker error: an unreachable daemon is docker_unavailable,
// anything else gets the step's own code.
func dockerFailure(code domain.ErrorCode, what string, err error) domain.Result {
	if errors.Is(err, ports.ErrUnavailable) {
		return domain.Failure(domain.CodeDockerUnavailable, fmt.Sprintf("%s: %v", what, err))
	}
	return domain.Failure(code, fmt.Sprintf("%s: %v", what, err))
}

func invalid(format string, args ...any) domain.Result {
	return domain.Failure(domain.CodeInvalidRequest, fmt.Sprintf(format, args...))
}

// detach keeps an operation going when its caller goes away (an HTTP client
// disconnecting must not leave a container half made); Docker calls carry
// their own timeouts.
func detach(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// emitHealth records a health observation: the snapshot is upserted first,
// then the event is published, so a reader of the stream finds a snapshot at
// least as new as the event. A failed upsert is logged and the event is still
// published: Game Master acting on it matters more than the snapshot.
func (s *Service) emitHealth(ctx context.Context, log *slog.Logger, snap domain.HealthSnapshot) {
	if err := s.d.Health.Upsert(ctx, snap); err != nil {
		log.Error("health snapshot upsert failed", "err", err, "event_type", snap.LastEventType)
	}
	ev := domain.HealthEvent{GameID: snap.GameID, ContainerID: snap.ContainerID, Type: snap.LastEventType,
		OccurredAt: snap.ObservedAt, Details: snap.Details}
	if err := s.d.HealthEvents.PublishHealth(ctx, ev); err != nil {
		log.Error("health event publish failed", "err", err, "event_type", snap.LastEventType)
		return
	}
	s.d.Metrics.HealthEventPublished(snap.LastEventType)
}

// Refuse records a request that was refused before it could become an
// operation — a lifecycle call on a valid game whose body broke the contract —
// as one failed invalid_request row, so a game's history shows every attempt
// made on it. It takes no lease and touches nothing else.
func (s *Service) Refuse(ctx context.Context, kind domain.OpKind, gameID string, m Meta, reason string) domain.Result {
	return s.finish(detach(ctx), s.newOp(kind, gameID, "", m), invalid("%s", reason))
}
