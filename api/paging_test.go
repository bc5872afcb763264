package api_test

import (
	"testing"

	"github.com/galaxy/rtmanager/api/paging"
)

// TestLimitIsPaging: the document's limit parameter states the page sizes
// the server and rtmctl use.
func TestLimitIsPaging(t *testing.T) {
	schema := load(t).Components.Parameters["Limit"].Value.Schema.Value
	if schema.Min == nil || *schema.Min != 1 || schema.Max == nil || *schema.Max != paging.MaxSize {
		t.Errorf("limit bounds %v..%v, want 1..%d", schema.Min, schema.Max, paging.MaxSize)
	}
	if def, ok := schema.Default.(float64); !ok || def != paging.DefaultSize {
		t.Errorf("limit default %v, want %d", schema.Default, paging.DefaultSize)
	}
}
