package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

// handler implements the generated StrictServerInterface. Requests reach it
// validated against the contract already (see middleware.validate).
type handler struct {
	lifecycle    Lifecycle
	runtimes     RuntimeReader
	operations   OperationReader
	health       HealthReader
	readiness    map[string]ReadinessCheck
	readyTimeout time.Duration
	// declared holds, per operationId, the statuses the contract declares.
	declared map[string]map[int]bool
	log      *slog.Logger
}

var _ StrictServerInterface = (*handler)(nil)

// meta identifies the caller of a lifecycle call (contract §5): only `gm` is
// Game Master; `admin`, nothing or anything else is an admin call.
func meta(caller, requestID *string) lifecycle.Meta {
	m := lifecycle.Meta{Source: domain.SourceAdminRest}
	if caller != nil && *caller == "gm" {
		m.Source = domain.SourceGMRest
	}
	if requestID != nil {
		m.SourceRef = *requestID
	}
	return m
}

// answer maps a lifecycle result: success is the record, with
// outcomeHeader telling work done from a replay; a failure is its code with
// the mapped status (outcomeHeader says failure already, see
// middleware.route). A result the contract has no answer for — an unknown
// code, a "failure" mapping to 200, a status the operation does not declare
// — is logged and answered as internal_error so the API never breaks its
// contract.
func (h *handler) answer(ctx context.Context, op, gameID string, res domain.Result) lifecycleAnswer {
	if res.Succeeded() {
		if res.Record == nil {
			h.log.ErrorContext(ctx, "http: lifecycle success without a record", "operation", op, "game_id", gameID)
			return lifecycleAnswer{problem: &problem{domain.CodeInternalError, internalErrorMessage}}
		}
		outcome := LifecycleOutcomeApplied
		if res.ErrorCode == domain.CodeReplayNoOp {
			outcome = LifecycleOutcomeReplayNoOp
		}
		return lifecycleAnswer{ok: LifecycleRuntimeJSONResponse{
			Body:    toRuntimeRecord(*res.Record),
			Headers: LifecycleRuntimeResponseHeaders{XGalaxyOutcome: outcome},
		}}
	}
	code, status := res.ErrorCode, httpStatus(res.ErrorCode)
	if !code.IsKnown() || status < 400 || !h.declared[op][status] {
		h.log.ErrorContext(ctx, "http: lifecycle result outside the contract", "operation", op, "game_id", gameID,
			"error_code", string(code), "error_message", res.ErrorMessage)
		return lifecycleAnswer{problem: &problem{domain.CodeInternalError, internalErrorMessage}}
	}
	msg := res.ErrorMessage
	if code == domain.CodeInternalError {
		h.log.ErrorContext(ctx, "http: lifecycle internal error", "operation", op, "game_id", gameID, "error_message", msg)
		msg = internalErrorMessage
	}
	if msg == "" {
		msg = string(code)
	}
	return lifecycleAnswer{problem: &problem{code, msg}}
}

// lifecycleAnswer is the answer of any lifecycle operation, the way problem
// is the error answer of any read: the record (with its outcome) on success,
// else the problem. Each Visit method writes a success through the
// operation's own generated 200 type.
type lifecycleAnswer struct {
	ok      LifecycleRuntimeJSONResponse
	problem *problem
}

func (a lifecycleAnswer) write(w http.ResponseWriter, ok func(http.ResponseWriter) error) error {
	if a.problem != nil {
		return a.problem.write(w)
	}
	return ok(w)
}

func (a lifecycleAnswer) VisitInternalStartRuntimeResponse(w http.ResponseWriter) error {
	return a.write(w, InternalStartRuntime200JSONResponse{a.ok}.VisitInternalStartRuntimeResponse)
}

func (a lifecycleAnswer) VisitInternalStopRuntimeResponse(w http.ResponseWriter) error {
	return a.write(w, InternalStopRuntime200JSONResponse{a.ok}.VisitInternalStopRuntimeResponse)
}

func (a lifecycleAnswer) VisitInternalRestartRuntimeResponse(w http.ResponseWriter) error {
	return a.write(w, InternalRestartRuntime200JSONResponse{a.ok}.VisitInternalRestartRuntimeResponse)
}

func (a lifecycleAnswer) VisitInternalPatchRuntimeResponse(w http.ResponseWriter) error {
	return a.write(w, InternalPatchRuntime200JSONResponse{a.ok}.VisitInternalPatchRuntimeResponse)
}

func (a lifecycleAnswer) VisitInternalCleanupRuntimeContainerResponse(w http.ResponseWriter) error {
	return a.write(w, InternalCleanupRuntimeContainer200JSONResponse{a.ok}.VisitInternalCleanupRuntimeContainerResponse)
}

// storeProblem maps a store error. notFound is the message when the store
// reports ports.ErrNotFound; "" means not-found is no legitimate answer of the
// operation, so it counts as unexpected.
func (h *handler) storeProblem(ctx context.Context, op string, err error, notFound string) problem {
	switch {
	case errors.Is(err, ports.ErrNotFound) && notFound != "":
		return problem{domain.CodeNotFound, notFound}
	case errors.Is(err, ports.ErrUnavailable):
		h.log.WarnContext(ctx, "http: store unavailable", "operation", op, "error", err)
		return problem{domain.CodeServiceUnavailable, "storage unavailable"}
	default:
		h.log.ErrorContext(ctx, "http: store failed", "operation", op, "error", err)
		return problem{domain.CodeInternalError, internalErrorMessage}
	}
}

func (h *handler) InternalHealthz(context.Context, InternalHealthzRequestObject) (InternalHealthzResponseObject, error) {
	return InternalHealthz200JSONResponse{Body: Liveness{Status: LivenessStatusOk}}, nil
}

// InternalReadyz runs every check concurrently within the readiness timeout;
// a check still running then is reported as timed out rather than waited for.
func (h *handler) InternalReadyz(ctx context.Context, _ InternalReadyzRequestObject) (InternalReadyzResponseObject, error) {
	ctx, cancel := context.WithTimeout(ctx, h.readyTimeout)
	defer cancel()
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(h.readiness)) // buffered: late checks never block
	checks := make(map[string]string, len(h.readiness))
	for name, check := range h.readiness {
		checks[name] = "check timed out after " + h.readyTimeout.String()
		go func() { results <- result{name, check(ctx)} }()
	}
	ready := true
collect:
	for range h.readiness {
		select {
		case r := <-results:
			if r.err != nil {
				checks[r.name] = r.err.Error()
				continue
			}
			checks[r.name] = "ok"
		case <-ctx.Done():
			break collect
		}
	}
	for name, state := range checks {
		if state != "ok" {
			ready = false
			h.log.WarnContext(ctx, "http: not ready", "check", name, "error", state)
		}
	}
	if !ready {
		return InternalReadyz503JSONResponse{Body: Readiness{Status: ReadinessStatusNotReady, Checks: checks}}, nil
	}
	return InternalReadyz200JSONResponse{Body: Readiness{Status: ReadinessStatusReady, Checks: checks}}, nil
}

func (h *handler) InternalListRuntimes(ctx context.Context, req InternalListRuntimesRequestObject) (InternalListRuntimesResponseObject, error) {
	after, err := gameIDCursor(req.Params.Cursor)
	if err != nil {
		return problem{domain.CodeInvalidRequest, err.Error()}, nil
	}
	limit := pageSize(req.Params.Limit)
	q := ports.ListRuntimesQuery{AfterGameID: after, Limit: limit + 1}
	if req.Params.Status != nil {
		q.Status = domain.Status(*req.Params.Status)
	}
	recs, err := h.runtimes.List(ctx, q)
	if err != nil {
		return h.storeProblem(ctx, opListRuntimes, err, ""), nil
	}
	page, next := paginate(recs, limit, toRuntimeRecord, func(r domain.Record) string { return r.GameID })
	return InternalListRuntimes200JSONResponse{Body: RuntimeList{Runtimes: page, NextCursor: next}}, nil
}

func (h *handler) InternalGetRuntime(ctx context.Context, req InternalGetRuntimeRequestObject) (InternalGetRuntimeResponseObject, error) {
	rec, err := h.runtimes.Get(ctx, req.GameId)
	if err != nil {
		return h.storeProblem(ctx, opGetRuntime, err, domain.NoRuntimeMessage(req.GameId)), nil
	}
	return InternalGetRuntime200JSONResponse{RuntimeJSONResponse{Body: toRuntimeRecord(rec)}}, nil
}

func (h *handler) InternalListRuntimeOperations(ctx context.Context, req InternalListRuntimeOperationsRequestObject) (InternalListRuntimeOperationsResponseObject, error) {
	before, err := operationCursor(req.Params.Cursor)
	if err != nil {
		return problem{domain.CodeInvalidRequest, err.Error()}, nil
	}
	limit := pageSize(req.Params.Limit)
	ops, err := h.operations.List(ctx, ports.ListOperationsQuery{GameID: req.GameId, BeforeID: before, Limit: limit + 1})
	if err != nil {
		return h.storeProblem(ctx, opListRuntimeOperations, err, ""), nil
	}
	page, next := paginate(ops, limit, toOperationEntry, func(o domain.Operation) string { return strconv.FormatInt(o.ID, 10) })
	return InternalListRuntimeOperations200JSONResponse{Body: OperationList{Operations: page, NextCursor: next}}, nil
}

func (h *handler) InternalGetRuntimeHealth(ctx context.Context, req InternalGetRuntimeHealthRequestObject) (InternalGetRuntimeHealthResponseObject, error) {
	snap, err := h.health.Get(ctx, req.GameId)
	if err != nil {
		return h.storeProblem(ctx, opGetRuntimeHealth, err, "no health snapshot for game "+req.GameId), nil
	}
	return InternalGetRuntimeHealth200JSONResponse{Body: toHealthSnapshot(snap)}, nil
}

// The five lifecycle operations: each passes its input on and answers
// whatever the service says through answer.

func (h *handler) InternalStartRuntime(ctx context.Context, req InternalStartRuntimeRequestObject) (InternalStartRuntimeResponseObject, error) {
	in := lifecycle.StartInput{GameID: req.GameId, ImageRef: req.Body.ImageRef, Meta: meta(req.Params.XGalaxyCaller, req.Params.XRequestId)}
	return h.answer(ctx, opStartRuntime, req.GameId, h.lifecycle.Start(ctx, in)), nil
}

func (h *handler) InternalStopRuntime(ctx context.Context, req InternalStopRuntimeRequestObject) (InternalStopRuntimeResponseObject, error) {
	in := lifecycle.StopInput{GameID: req.GameId, Reason: string(req.Body.Reason), Meta: meta(req.Params.XGalaxyCaller, req.Params.XRequestId)}
	return h.answer(ctx, opStopRuntime, req.GameId, h.lifecycle.Stop(ctx, in)), nil
}

func (h *handler) InternalRestartRuntime(ctx context.Context, req InternalRestartRuntimeRequestObject) (InternalRestartRuntimeResponseObject, error) {
	in := lifecycle.RestartInput{GameID: req.GameId, Meta: meta(req.Params.XGalaxyCaller, req.Params.XRequestId)}
	return h.answer(ctx, opRestartRuntime, req.GameId, h.lifecycle.Restart(ctx, in)), nil
}

func (h *handler) InternalPatchRuntime(ctx context.Context, req InternalPatchRuntimeRequestObject) (InternalPatchRuntimeResponseObject, error) {
	in := lifecycle.PatchInput{GameID: req.GameId, ImageRef: req.Body.ImageRef, Meta: meta(req.Params.XGalaxyCaller, req.Params.XRequestId)}
	return h.answer(ctx, opPatchRuntime, req.GameId, h.lifecycle.Patch(ctx, in)), nil
}

func (h *handler) InternalCleanupRuntimeContainer(ctx context.Context, req InternalCleanupRuntimeContainerRequestObject) (InternalCleanupRuntimeContainerResponseObject, error) {
	in := lifecycle.CleanupInput{GameID: req.GameId, Meta: meta(req.Params.XGalaxyCaller, req.Params.XRequestId)}
	return h.answer(ctx, opCleanupRuntimeContainer, req.GameId, h.lifecycle.Cleanup(ctx, in)), nil
}
