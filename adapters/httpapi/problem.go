package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/galaxy/rtmanager/core/domain"
)

// jsonContentType is the Content-Type of every JSON answer (contract §5).
const jsonContentType = "application/json; charset=utf-8"

// internalErrorMessage is all a caller learns about an unexpected failure;
// the details go to the log.
const internalErrorMessage = "internal error"

// writeError writes the error envelope. The status is the code's own
// (httpStatus) except for 401 and 405, which the contract
// answers with invalid_request.
func writeError(w http.ResponseWriter, status int, code domain.ErrorCode, message string) {
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(status)
	// The status is out; an encoding failure here can only be a broken
	// connection, which nothing can be told about.
	_ = json.NewEncoder(w).Encode(ErrorResponse{Error: ErrorDetail{Code: ErrorCode(code), Message: message}})
}

// problem is an error answer of any operation. It implements the generated
// Visit<Operation>Response method of every read that can fail, so one value
// serves them all instead of the generated per-operation, per-status wrapper
// types; the lifecycle operations answer with lifecycleAnswer, which holds
// one. The contract tests check that each status it is used with is
// declared for the operation.
type problem struct {
	code    domain.ErrorCode
	message string
}

func (p problem) write(w http.ResponseWriter) error {
	writeError(w, httpStatus(p.code), p.code, p.message)
	return nil
}

func (p problem) VisitInternalListRuntimesResponse(w http.ResponseWriter) error { return p.write(w) }

func (p problem) VisitInternalGetRuntimeResponse(w http.ResponseWriter) error { return p.write(w) }

func (p problem) VisitInternalListRuntimeOperationsResponse(w http.ResponseWriter) error {
	return p.write(w)
}

func (p problem) VisitInternalGetRuntimeHealthResponse(w http.ResponseWriter) error {
	return p.write(w)
}
