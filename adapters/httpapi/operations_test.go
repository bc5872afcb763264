package httpapi

import (
	"maps"
	"slices"
	"testing"

	"github.com/galaxy/rtmanager/api"
)

// TestOperationIDsAreTheDocuments: the adapter names exactly the document's
// operations, and treats as lifecycle operations (recorded refusals, the
// outcome header) exactly those whose answers declare the outcome header.
func TestOperationIDsAreTheDocuments(t *testing.T) {
	doc, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	var ids, withOutcome []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.OperationID == "" {
				continue // /metrics, served outside the generated code
			}
			ids = append(ids, op.OperationID)
			declares := 0
			for _, resp := range op.Responses.Map() {
				if _, ok := resp.Value.Headers[outcomeHeader]; ok {
					declares++
				}
			}
			switch declares {
			case 0:
			case op.Responses.Len():
				withOutcome = append(withOutcome, op.OperationID)
			default:
				t.Errorf("%s declares %s on %d of its %d answers", op.OperationID, outcomeHeader, declares, op.Responses.Len())
			}
		}
	}
	named := []string{
		opHealthz, opReadyz, opListRuntimes, opGetRuntime, opStartRuntime, opStopRuntime, opRestartRuntime,
		opPatchRuntime, opCleanupRuntimeContainer, opListRuntimeOperations, opGetRuntimeHealth,
	}
	if got, want := slices.Sorted(slices.Values(named)), slices.Sorted(slices.Values(ids)); !slices.Equal(got, want) {
		t.Errorf("operationIds named %q, the document has %q", got, want)
	}
	if got, want := slices.Sorted(maps.Keys(lifecycleKinds)), slices.Sorted(slices.Values(withOutcome)); !slices.Equal(got, want) {
		t.Errorf("lifecycle operations %q, the document declares %s on %q", got, outcomeHeader, want)
	}
}
