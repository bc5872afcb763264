package domain

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrorCode is a stable error code shared by REST, job results and the services.
type ErrorCode string

const (
	CodeNone                 ErrorCode = ""
	CodeInvalidRequest       ErrorCode = "invalid_request"
	CodeNotFound             ErrorCode = "not_found"
	CodeConflict             ErrorCode = "conflict"
	CodeImageRefNotSemver    ErrorCode = "image_ref_not_semver"
	CodeSemverPatchOnly      ErrorCode = "semver_patch_only"
	CodeStartConfigInvalid   ErrorCode = "start_config_invalid"
	CodeImagePullFailed      ErrorCode = "image_pull_failed"
	CodeContainerStartFailed ErrorCode = "container_start_failed"
	CodeDockerUnavailable    ErrorCode = "docker_unavailable"
	CodeServiceUnavailable   ErrorCode = "service_unavailable"
	CodeInternalError        ErrorCode = "internal_error"
	CodeReplayNoOp           ErrorCode = "replay_no_op"
)

// AllErrorCodes lists every stable code.
var AllErrorCodes = []ErrorCode{CodeInvalidRequest, CodeNotFound, CodeConflict, CodeImageRefNotSemver,
	CodeSemverPatchOnly, CodeStartConfigInvalid, CodeImagePullFailed, CodeContainerStartFailed,
	CodeDockerUnavailable, CodeServiceUnavailable, CodeInternalError, CodeReplayNoOp}

// IsKnown reports whether c is one of the stable codes.
func (c ErrorCode) IsKnown() bool { return isOneOf(c, AllErrorCodes) }

// Result is what every lifecycle service returns. A Go error is reserved for
// programming faults; every expected failure is a Result with Outcome failure.
type Result struct {
	Outcome        Outcome
	ErrorCode      ErrorCode
	ErrorMessage   string
	Record         *Record
	ContainerID    string
	EngineEndpoint string
}

// Succeeded reports whether the result's outcome is success (replays included).
func (r Result) Succeeded() bool { return r.Outcome == OutcomeSuccess }

// Failure builds a failure result.
func Failure(code ErrorCode, msg string) Result {
	return Result{Outcome: OutcomeFailure, ErrorCode: code, ErrorMessage: msg}
}

// Success builds a success result from a record (code is CodeNone or CodeReplayNoOp).
func Success(rec Record, code ErrorCode) Result {
	return Result{Outcome: OutcomeSuccess, ErrorCode: code, Record: &rec,
		ContainerID: rec.CurrentContainerID, EngineEndpoint: rec.EngineEndpoint}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Error is an expected failure of an operation: a stable code and the message
// the caller is told. Lifecycle steps return it as an ordinary error (wrapping
// keeps it findable with errors.As); the operation turns it into its Result
// once, with FailureOf.
type Error struct {
	Code    ErrorCode
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf builds an *Error with a formatted message.
func Errorf(code ErrorCode, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// codeOf is the code err carries: that of the *Error in its chain, or
// internal_error for anything else (a fault nobody mapped).
func codeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternalError
}

// FailureOf is the failure Result of err: its code and its whole message
// (the context that wrapping added included).
func FailureOf(err error) Result {
	return Failure(codeOf(err), err.Error())
}
