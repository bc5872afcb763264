package httpapi

import "github.com/galaxy/rtmanager/core/domain"

// The operationIds of api/openapi.yaml, named once: routing reports the
// operation of a request by its id, and the handler passes its own to answer
// and storeProblem for the statuses the document declares for it and for
// its log lines. TestOperationIDsAreTheDocuments keeps them in step with
// the document.
const (
	opHealthz                 = "internalHealthz"
	opReadyz                  = "internalReadyz"
	opListRuntimes            = "internalListRuntimes"
	opGetRuntime              = "internalGetRuntime"
	opStartRuntime            = "internalStartRuntime"
	opStopRuntime             = "internalStopRuntime"
	opRestartRuntime          = "internalRestartRuntime"
	opPatchRuntime            = "internalPatchRuntime"
	opCleanupRuntimeContainer = "internalCleanupRuntimeContainer"
	opListRuntimeOperations   = "internalListRuntimeOperations"
	opGetRuntimeHealth        = "internalGetRuntimeHealth"
)

// lifecycleKinds are the lifecycle operations, with the op kind under which
// a refusal of one is recorded in the game's operation log. Every answer of
// these carries outcomeHeader.
var lifecycleKinds = map[string]domain.OpKind{
	opStartRuntime:            domain.OpStart,
	opStopRuntime:             domain.OpStop,
	opRestartRuntime:          domain.OpRestart,
	opPatchRuntime:            domain.OpPatch,
	opCleanupRuntimeContainer: domain.OpCleanupContainer,
}

// outcomeHeader says what a lifecycle call did (LifecycleOutcome): the record
// after a replay looks the same as after real work.
const outcomeHeader = "X-Galaxy-Outcome"
