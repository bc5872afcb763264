package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

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
	// echo marks an operation that repeats an earlier answer of the same
	// stream job (fence.go): it publishes nothing of its own.
	echo bool
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

// errLeaseLost ends an operation that lost its lease before it wrote anything.
var errLeaseLost = domain.Errorf(domain.CodeConflict,
	"the game's lease was lost mid-operation; another operation may own the game now")

// done is what the work of an operation leaves: the record as it now stands
// (nil when there is none to show) and whether nothing had to be done. A
// failed operation may still leave a record, e.g. the stopped record of an
// engine that never got ready.
type done struct {
	rec    *domain.Record
	replay bool
}

func applied(rec domain.Record) done  { return done{rec: &rec} }
func replayed(rec domain.Record) done { return done{rec: &rec, replay: true} }

// work is the body of an operation, run under the game's lease. A failure is
// an error; a *domain.Error in its chain gives the caller's code, anything
// else is internal_error.
type work func(ctx context.Context, o *op) (done, error)

// request is what a public entry point hands the scaffold.
type request struct {
	kind     domain.OpKind
	gameID   string
	imageRef string
	meta     Meta
	// check validates the input beyond the game id, before the lease is
	// taken; it may add the row's details.
	check func(o *op) error
}

// perform is the one scaffold of every public operation. The operation is
// detached from the caller's cancellation — an HTTP client going away must not
// leave a container half made; every Docker call has its own timeout — and it
// writes exactly one row, whatever happens. Only a stream job's wait for a
// busy lease still listens to the caller (a consumer shutting down).
//
// The row is appended, and what the operation owns published, before the
// lease is released (contract §4): the next holder of the game's lease finds
// the game's history complete, so one game's rows are in the order its
// operations took effect.
func (s *Service) perform(ctx context.Context, r request, w work) domain.Result {
	caller := ctx
	ctx = context.WithoutCancel(ctx)
	o := s.newOp(r.kind, r.gameID, r.imageRef, r.meta)
	lease, err := s.admit(ctx, caller, o, r)
	if err != nil {
		return s.finish(ctx, o, done{}, err)
	}
	defer lease.Release()
	o.lost = lease.Lost()
	var d done
	if job := r.meta.Job; job != nil {
		// A stream job passes the game's job fence first.
		d, err = s.fenced(ctx, o, *job, w)
	} else {
		d, err = w(ctx, o)
	}
	return s.finish(ctx, o, d, err)
}

// admit validates the request and takes the game's lease. A busy lease is a
// conflict — except for a stream job, which waits for it.
func (s *Service) admit(ctx, caller context.Context, o *op, r request) (ports.Lease, error) {
	if err := domain.ValidateGameID(o.gameID); err != nil {
		return nil, invalid("%v", err)
	}
	if r.check != nil {
		if err := r.check(o); err != nil {
			return nil, err
		}
	}
	return s.acquire(ctx, caller, o.gameID, r.meta.Job != nil)
}

// Bounds of a stream job's wait for a busy lease: short first retries, since
// most operations on a game take milliseconds, then a steady poll.
const (
	leaseRetryFirst = 5 * time.Millisecond
	leaseRetryMax   = 250 * time.Millisecond
)

// acquire takes the game's lease. Busy is a conflict, unless wait is set:
// then it retries until the lease is free or the caller's context ends.
func (s *Service) acquire(ctx, caller context.Context, gameID string, wait bool) (ports.Lease, error) {
	delay := leaseRetryFirst
	for {
		lease, err := s.d.Leases.Acquire(ctx, gameID)
		switch {
		case err == nil:
			return lease, nil
		case !errors.Is(err, ports.ErrLeaseBusy):
			return nil, storeErr("acquire lease", err)
		case !wait:
			s.d.Metrics.LeaseConflict()
			return nil, domain.Errorf(domain.CodeConflict, "another operation on this game is in progress")
		}
		select {
		case <-caller.Done():
			return nil, domain.Errorf(domain.CodeServiceUnavailable,
				"gave up waiting for the game's lease: %v", context.Cause(caller))
		case <-time.After(delay):
		}
		delay = min(2*delay, leaseRetryMax)
	}
}

// inner runs one step of a restart or patch as an operation of its own kind:
// its own row, the outer operation's correlation id and lease. The outer row
// names the container the step leaves.
func (s *Service) inner(ctx context.Context, outer *op, kind domain.OpKind, imageRef string, w work) (done, error) {
	o := s.newOp(kind, outer.gameID, imageRef, Meta{Source: outer.source, SourceRef: outer.sourceRef, CorrelationID: outer.correlationID})
	o.lost = outer.lost
	d, err := w(ctx, o)
	s.finish(ctx, o, d, err)
	if o.containerID != "" {
		outer.containerID = o.containerID
	}
	return d, err
}

func (s *Service) newOp(kind domain.OpKind, gameID, imageRef string, m Meta) *op {
	cid := m.CorrelationID
	if cid == "" {
		cid = s.d.IDs.NewID()
	}
	return &op{
		kind: kind, source: m.Source, sourceRef: m.SourceRef, correlationID: cid,
		gameID: gameID, imageRef: imageRef, startedAt: s.d.Clock.Now(),
		log: s.d.Logger.With("game_id", gameID, "op_kind", kind, "op_source", m.Source, "correlation_id", cid),
	}
}

// result turns what an operation's work returned into its Result — the one
// place a failure becomes a code.
func result(o *op, d done, err error) domain.Result {
	if err == nil {
		code := domain.CodeNone
		if d.replay {
			code = domain.CodeReplayNoOp
		}
		if d.rec == nil {
			// Every successful work returns its record; this is a fault.
			return domain.Failure(domain.CodeInternalError, "operation succeeded without a record")
		}
		return domain.Success(*d.rec, code)
	}
	res := domain.FailureOf(err)
	res.ContainerID = o.containerID
	res.Record = d.rec
	return res
}

// finish appends the operation's single log row, records metrics and
// publishes what the operation owns: container_started for a start that
// launched an engine, a notification intent for a start that failed.
func (s *Service) finish(ctx context.Context, o *op, d done, err error) domain.Result {
	res := result(o, d, err)
	if res.ContainerID != "" {
		o.containerID = res.ContainerID // a replay names the container it found
	}
	now := s.d.Clock.Now()
	id, appendErr := s.d.Operations.Append(ctx, domain.Operation{
		GameID: o.gameID, Kind: o.kind, Source: o.source, SourceRef: o.sourceRef,
		CorrelationID: o.correlationID, Outcome: res.Outcome, ErrorCode: res.ErrorCode,
		ErrorMessage: res.ErrorMessage, ImageRef: o.imageRef, ContainerID: o.containerID,
		Details: o.details, StartedAt: o.startedAt, FinishedAt: now,
	})
	if appendErr != nil {
		o.log.Error("operation log append failed", "err", appendErr)
	}
	s.d.Metrics.OperationDone(o.kind, o.source, res.Outcome, res.ErrorCode, now.Sub(o.startedAt))
	level := slog.LevelInfo
	if !res.Succeeded() {
		level = slog.LevelWarn
	}
	o.log.Log(ctx, level, "operation finished", "outcome", res.Outcome, "error_code", res.ErrorCode,
		"error_message", res.ErrorMessage, "container_id", o.containerID, "took_ms", now.Sub(o.startedAt).Milliseconds())

	if o.kind != domain.OpStart || o.echo {
		return res
	}
	switch {
	case res.ErrorCode == domain.CodeNone:
		s.health.Emit(ctx, o.log, domain.HealthSnapshot{
			GameID: o.gameID, ContainerID: res.ContainerID, Status: domain.HealthHealthy,
			Source: domain.HealthSourceStart, LastEventType: domain.EventContainerStarted,
			Details: map[string]any{"image_ref": o.imageRef}, ObservedAt: now,
		})
	case !res.Succeeded() && appendErr == nil:
		// The intent's idempotency key needs the row's id.
		s.notify(ctx, o, res, id, now)
	}
	return res
}

// notify publishes the notification intent a failed start owes, if any.
func (s *Service) notify(ctx context.Context, o *op, res domain.Result, opID int64, now time.Time) {
	nt, ok := domain.NotificationForCode(res.ErrorCode)
	if !ok {
		return
	}
	intent := domain.NotificationIntent{Type: nt, GameID: o.gameID, OperationID: opID, ImageRef: o.imageRef,
		ErrorCode: res.ErrorCode, ErrorMessage: res.ErrorMessage, AttemptedAt: o.startedAt, OccurredAt: now}
	if err := s.d.Notifications.PublishIntent(ctx, intent); err != nil {
		o.log.Error("notification intent publish failed", "err", err, "notification_type", nt)
	}
}

// Refuse records a request that was refused before it could become an
// operation — a lifecycle call on a valid game whose body broke the contract —
// as one failed invalid_request row, so a game's history shows every attempt
// made on it. It takes no lease and touches nothing else.
func (s *Service) Refuse(ctx context.Context, kind domain.OpKind, gameID string, m Meta, reason string) domain.Result {
	ctx = context.WithoutCancel(ctx)
	return s.finish(ctx, s.newOp(kind, gameID, "", m), done{}, invalid("%s", reason))
}

func invalid(format string, args ...any) error {
	return domain.Errorf(domain.CodeInvalidRequest, format, args...)
}

// storeErr maps a PostgreSQL or Redis error to the caller's code.
func storeErr(what string, err error) error {
	switch {
	case errors.Is(err, ports.ErrUnavailable):
		return domain.Errorf(domain.CodeServiceUnavailable, "%s: %v", what, err)
	case errors.Is(err, ports.ErrConflict):
		return domain.Errorf(domain.CodeConflict, "%s: the record changed concurrently", what)
	default:
		return domain.Errorf(domain.CodeInternalError, "%s: %v", what, err)
	}
}

// dockerErr maps a Docker error: an unreachable daemon is docker_unavailable,
// anything else gets the step's own code.
func dockerErr(code domain.ErrorCode, what string, err error) error {
	if errors.Is(err, ports.ErrUnavailable) {
		code = domain.CodeDockerUnavailable
	}
	return &domain.Error{Code: code, Message: fmt.Sprintf("%s: %v", what, err)}
}
