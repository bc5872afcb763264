package httpapi

import (
	"net/http"

	"github.com/galaxy/rtmanager/core/domain"
)

// httpStatus is the status REST answers with for a result carrying code
// (contract §2.4). Statuses are the REST adapter's business: the stream
// consumers carry the same codes without them. No code (a success) is 200;
// a code the contract does not know is 500, as any unexpected failure.
func httpStatus(code domain.ErrorCode) int {
	switch code {
	case domain.CodeNone, domain.CodeReplayNoOp:
		return http.StatusOK
	case domain.CodeInvalidRequest:
		return http.StatusBadRequest
	case domain.CodeNotFound:
		return http.StatusNotFound
	case domain.CodeConflict:
		return http.StatusConflict
	case domain.CodeImageRefNotSemver, domain.CodeSemverPatchOnly, domain.CodeStartConfigInvalid:
		return http.StatusUnprocessableEntity
	case domain.CodeImagePullFailed:
		return http.StatusBadGateway
	case domain.CodeDockerUnavailable, domain.CodeServiceUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}
