package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/galaxy/rtmanager/adapters/httpapi/internal/specroute"
	"github.com/galaxy/rtmanager/core/domain"
)

// MaxBodyBytes is the largest request body the API reads (contract §5: 64 KiB).
const MaxBodyBytes = 64 << 10

// middleware is what every request passes before the generated routes.
type middleware struct {
	router    *specroute.Router
	token     string
	log       *slog.Logger
	lifecycle Lifecycle
}

// requestInfo is filled in along the chain: the routing by route for
// validate, the operation and game for the access log line.
type requestInfo struct {
	route    *routers.Route
	params   map[string]string
	routeErr error

	operation string
	gameID    string
}

type requestInfoKey struct{}

// responseWriter records the status for the access log and completes the
// generated code's bare "application/json" with the charset of the contract.
type responseWriter struct {
	http.ResponseWriter
	status int
}

func (w *responseWriter) WriteHeader(status int) {
	if w.status != 0 {
		// A second WriteHeader can only follow a failed write of the first
		// answer; net/http would ignore it too, with a log line.
		return
	}
	w.status = status
	if w.Header().Get("Content-Type") == "application/json" {
		w.Header().Set("Content-Type", jsonContentType)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe is the outermost layer: it echoes X-Request-Id, turns a panic into
// a 500 envelope and writes one access log line per request.
func (m *middleware) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		requestID := r.Header.Get("X-Request-Id")
		if requestID != "" {
			// Set before the handler runs: the generated responses leave
			// the header alone unless told otherwise.
			w.Header().Set("X-Request-Id", requestID)
		}
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
		rw := &responseWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler { // net/http's own signal to abort the response silently
					panic(p)
				}
				m.log.ErrorContext(r.Context(), "http: panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()),
					"request_id", requestID)
				if rw.status == 0 {
					writeError(rw, http.StatusInternalServerError, domain.CodeInternalError, internalErrorMessage)
				}
			}
			status := rw.status
			if status == 0 {
				status = http.StatusOK // what net/http sends for a handler that wrote nothing
			}
			m.access(r, status, time.Since(start), requestID, info)
		}()
		next.ServeHTTP(rw, r)
	})
}

// access logs a request. Probes and scrapes come every few seconds, so they
// log at debug even when they fail (a failing readiness check is logged once
// by the handler); other server errors log at error.
func (m *middleware) access(r *http.Request, status int, took time.Duration, requestID string, info *requestInfo) {
	level := slog.LevelInfo
	switch {
	case info.operation == opHealthz || info.operation == opReadyz || r.URL.Path == "/metrics":
		level = slog.LevelDebug
	case status >= 500:
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.EscapedPath()),
		slog.Int("status", status),
		slog.Duration("duration", took),
	}
	for _, kv := range [][2]string{
		{"operation", info.operation}, {"game_id", info.gameID}, {"request_id", requestID},
		{"caller", r.Header.Get("X-Galaxy-Caller")},
	} {
		if kv[1] != "" {
			attrs = append(attrs, slog.String(kv[0], kv[1]))
		}
	}
	m.log.LogAttrs(r.Context(), level, "http request", attrs...)
}

// route finds the request's operation once, for the layers after it; a
// request that names none is answered by validate, after authentication, so
// that a stranger learns nothing of the paths. The answer of a lifecycle
// operation says failure in outcomeHeader unless the handler reports the
// operation's success: so every answer of one carries the header, whichever
// layer gives it (401, 400, the 500 of a panic).
func (m *middleware) route(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := r.Context().Value(requestInfoKey{}).(*requestInfo)
		info.route, info.params, info.routeErr = m.router.Find(r)
		if info.routeErr == nil {
			info.operation = info.route.Operation.OperationID
			if _, ok := lifecycleKinds[info.operation]; ok {
				w.Header().Set(outcomeHeader, string(LifecycleOutcomeFailure))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate requires the bearer token on /api/ when one is configured.
// Both sides are hashed first so the constant-time comparison does not leak
// the token's length either.
func (m *middleware) authenticate(next http.Handler) http.Handler {
	if m.token == "" {
		return next
	}
	want := sha256.Sum256([]byte(m.token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			got := sha256.Sum256([]byte(token))
			// The scheme name is case-insensitive (RFC 9110 §11.1).
			if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				w.Header().Set("WWW-Authenticate", "Bearer")
				writeError(w, http.StatusUnauthorized, domain.CodeInvalidRequest, "missing or invalid bearer token")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// validationOptions: authentication is already done by authenticate;
// defaults are applied by the handler, so the request is never rewritten;
// the validated body is handed to the generated binder (which then matches
// member names exactly); schema dumps stay out of the messages.
var validationOptions = openapi3filter.Options{
	AuthenticationFunc:                openapi3filter.NoopAuthenticationFunc,
	RejectWhenRequestBodyNotSpecified: true,
	SkipSettingDefaults:               true,
	KeepValidatedValue:                true,
	SchemaValidationOptions:           []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
}

// validate answers a request that names no operation, and checks one that
// does against the contract: path, query, headers and body. Anything off is
// 400 invalid_request; an unknown path is 404, a wrong method 405.
func (m *middleware) validate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := r.Context().Value(requestInfoKey{}).(*requestInfo)
		var notAllowed *specroute.MethodNotAllowedError
		switch err := info.routeErr; {
		case errors.As(err, &notAllowed):
			w.Header().Set("Allow", strings.Join(notAllowed.Allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, domain.CodeInvalidRequest, err.Error())
			return
		case errors.Is(err, specroute.ErrNotFound):
			writeError(w, http.StatusNotFound, domain.CodeNotFound, err.Error())
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, domain.CodeInvalidRequest, err.Error())
			return
		}
		err := readBody(w, r)
		if err == nil {
			in := &openapi3filter.RequestValidationInput{Request: r, PathParams: info.params, Route: info.route, Options: &validationOptions}
			err = openapi3filter.ValidateRequest(r.Context(), in)
		}
		if err != nil {
			m.refuse(r, info.operation, info.params["game_id"], err)
			writeError(w, http.StatusBadRequest, domain.CodeInvalidRequest, err.Error())
			return
		}
		// Only a valid game_id is worth a log field.
		info.gameID = info.params["game_id"]
		next.ServeHTTP(w, r)
	})
}

// readBody reads the whole body up to MaxBodyBytes and puts it back, so that
// the size limit and well-formedness are checked once, up front. Every
// request body of the contract is JSON, so a body that is not exactly one
// JSON value (trailing data included, which a streaming decoder would
// silently ignore) is refused whatever its Content-Type says.
func readBody(w http.ResponseWriter, r *http.Request) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			return fmt.Errorf("request body exceeds %d bytes", MaxBodyBytes)
		}
		return errors.New("request body could not be read")
	}
	if len(data) == 0 {
		r.Body, r.ContentLength = http.NoBody, 0
		return nil
	}
	if err := singleJSONValue(data); err != nil {
		return err
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(data)), int64(len(data))
	return nil
}

// singleJSONValue tells a body holding more than one JSON value apart from
// one that is not JSON at all, and for the latter says where the parser
// stopped: a caller who sent a truncated or hand-edited body can find the
// spot. Byte N is the N-th byte of the body; an unexpected end is at the
// body's length.
func singleJSONValue(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var value json.RawMessage
	err := dec.Decode(&value)
	if err == nil {
		switch err = dec.Decode(&value); err {
		case io.EOF:
			return nil
		case nil:
			return errors.New("request body is not a single JSON value")
		}
	}
	if syntax, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Errorf("request body is not valid JSON: %s at byte %d", syntax.Error(), syntax.Offset)
	}
	// Decoding from memory fails otherwise only at the end of the input:
	// io.EOF for a body of white space, io.ErrUnexpectedEOF inside a value.
	return fmt.Errorf("request body is not valid JSON: unexpected end of input at byte %d", len(data))
}

// refuse records a refused lifecycle call on a valid game in its operation
// log. A call whose game_id is itself invalid names no game, so it is only
// answered (and access-logged).
func (m *middleware) refuse(r *http.Request, operationID, gameID string, cause error) {
	kind, ok := lifecycleKinds[operationID]
	if !ok || domain.ValidateGameID(gameID) != nil {
		return
	}
	caller, requestID := r.Header.Get("X-Galaxy-Caller"), r.Header.Get("X-Request-Id")
	if !validRequestID(requestID) {
		requestID = "" // it may be the very thing refused
	}
	m.lifecycle.Refuse(r.Context(), kind, gameID, meta(&caller, &requestID), cause.Error())
}

// validRequestID mirrors the contract's X-Request-Id rule: 1–128 visible ASCII characters.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '!' || id[i] > '~' {
			return false
		}
	}
	return true
}
