package randid_test

import (
	"testing"

	"github.com/galaxy/rtmanager/adapters/randid"
)

func TestIDsAreUniqueAndOfOneShape(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := randid.Source{}.NewID()
		if len(id) != 26 {
			t.Fatalf("id %q has %d characters, want 26", id, len(id))
		}
		if seen[id] {
			t.Fatalf("id %q repeated", id)
		}
		seen[id] = true
	}
}
