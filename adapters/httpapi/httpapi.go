// Package httpapi is Runtime Manager's internal REST API (contract §5): the
// hand-written implementation of the strict server generated from
// api/openapi.yaml (api.gen.go), wrapped in what the contract asks of every
// request — bearer authentication on /api/, strict validation against the
// embedded document, the X-Request-Id echo and JSON error envelopes — plus
// /healthz, /readyz and /metrics.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/galaxy/rtmanager/adapters/httpapi/internal/specroute"
	"github.com/galaxy/rtmanager/api"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

// Lifecycle is the part of the lifecycle service the API drives. Every
// expected failure comes back as a Result with outcome failure.
type Lifecycle interface {
	Start(ctx context.Context, in lifecycle.StartInput) domain.Result
	Stop(ctx context.Context, in lifecycle.StopInput) domain.Result
	Restart(ctx context.Context, in lifecycle.RestartInput) domain.Result
	Patch(ctx context.Context, in lifecycle.PatchInput) domain.Result
	Cleanup(ctx context.Context, in lifecycle.CleanupInput) domain.Result
	// Refuse records a lifecycle call on a valid game that the contract
	// refused (400) as one failed operation row.
	Refuse(ctx context.Context, kind domain.OpKind, gameID string, m lifecycle.Meta, reason string) domain.Result
}

// RuntimeReader reads runtime records (ports.RuntimeStore satisfies it).
type RuntimeReader interface {
	Get(ctx context.Context, gameID string) (domain.Record, error)
	List(ctx context.Context, q ports.ListRuntimesQuery) ([]domain.Record, error)
}

// OperationReader reads the operation log (ports.OperationLog satisfies it).
type OperationReader interface {
	List(ctx context.Context, q ports.ListOperationsQuery) ([]domain.Operation, error)
}

// HealthReader reads health snapshots (ports.HealthStore satisfies it).
type HealthReader interface {
	Get(ctx context.Context, gameID string) (domain.HealthSnapshot, error)
}

// ReadinessCheck reports whether one dependency answers; /readyz shows its
// error text when it does not.
type ReadinessCheck func(ctx context.Context) error

// DefaultReadinessTimeout bounds one /readyz call when Config leaves it zero:
// shorter than a typical orchestrator probe timeout, so a hanging dependency
// is reported rather than the probe itself timing out.
const DefaultReadinessTimeout = 2 * time.Second

// Config is what New assembles the API from. Lifecycle, the three readers,
// Metrics and Logger are required.
type Config struct {
	Lifecycle  Lifecycle
	Runtimes   RuntimeReader
	Operations OperationReader
	Health     HealthReader
	// Readiness names the checks of /readyz, e.g. "postgres", "redis", "docker".
	Readiness map[string]ReadinessCheck
	// ReadinessTimeout bounds all checks of one /readyz call together.
	ReadinessTimeout time.Duration
	// Metrics serves GET /metrics (e.g. promhttp.HandlerFor(registry, …)).
	Metrics http.Handler
	// Token is RTMANAGER_INTERNAL_TOKEN; empty disables authentication.
	Token  string
	Logger *slog.Logger
}

// New builds the API's http.Handler. It fails only on an incomplete Config
// or an embedded contract that does not load.
func New(cfg Config) (http.Handler, error) {
	if cfg.Lifecycle == nil || cfg.Runtimes == nil || cfg.Operations == nil || cfg.Health == nil ||
		cfg.Metrics == nil || cfg.Logger == nil {
		return nil, errors.New("httpapi: Lifecycle, Runtimes, Operations, Health, Metrics and Logger are required")
	}
	doc, err := api.Load()
	if err != nil {
		return nil, err
	}
	router, err := specroute.New(doc)
	if err != nil {
		return nil, err
	}
	declared := map[string]map[int]bool{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			statuses := map[int]bool{}
			for code := range op.Responses.Map() {
				if n, err := strconv.Atoi(code); err == nil {
					statuses[n] = true
				}
			}
			declared[op.OperationID] = statuses
		}
	}
	timeout := cfg.ReadinessTimeout
	if timeout <= 0 {
		timeout = DefaultReadinessTimeout
	}
	h := &handler{
		lifecycle:    cfg.Lifecycle,
		runtimes:     cfg.Runtimes,
		operations:   cfg.Operations,
		health:       cfg.Health,
		readiness:    cfg.Readiness,
		readyTimeout: timeout,
		declared:     declared,
		log:          cfg.Logger,
	}

	mux := http.NewServeMux()
	badRequest := func(w http.ResponseWriter, _ *http.Request, err error) {
		writeError(w, http.StatusBadRequest, domain.CodeInvalidRequest, err.Error())
	}
	strict := NewStrictHandlerWithOptions(h, nil, StrictHTTPServerOptions{
		// Reached only for what validation let through, e.g. a body the
		// generated binder still cannot map.
		RequestErrorHandlerFunc: badRequest,
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			cfg.Logger.ErrorContext(r.Context(), "http: writing the response failed", "error", err)
			writeError(w, http.StatusInternalServerError, domain.CodeInternalError, internalErrorMessage)
		},
	})
	HandlerWithOptions(strict, StdHTTPServerOptions{BaseRouter: mux, ErrorHandlerFunc: badRequest})
	mux.Handle("GET /metrics", cfg.Metrics)

	mw := &middleware{router: router, token: cfg.Token, log: cfg.Logger, lifecycle: cfg.Lifecycle}
	return mw.observe(mw.route(mw.authenticate(mw.validate(mux)))), nil
}
