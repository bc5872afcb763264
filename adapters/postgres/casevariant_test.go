package postgres_test

import (
	"errors"
	"testing"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// Game ids that differ only in letter case name the same engine on the
// network (DNS ignores case): the store finds such a variant and never holds
// two of them.
func TestRuntimeGameIDsDifferingOnlyInCase(t *testing.T) {
	t.Parallel()

	t.Run("the variant of a recorded id is found, the id itself is not its own variant", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		mustUpsert(t, s, runningRecord("CaseGame"))

		got, err := s.Runtimes().OtherCaseOf(t.Context(), "casegame")
		if err != nil || got != "CaseGame" {
			t.Errorf("OtherCaseOf(casegame) = %q, %v; want CaseGame", got, err)
		}
		if _, err := s.Runtimes().OtherCaseOf(t.Context(), "CaseGame"); !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("OtherCaseOf(CaseGame) err = %v, want ErrNotFound", err)
		}
		if _, err := s.Runtimes().OtherCaseOf(t.Context(), "othergame"); !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("OtherCaseOf(othergame) err = %v, want ErrNotFound", err)
		}
	})

	t.Run("a removed record still holds its name", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		mustUpsert(t, s, recordIn("CaseGame", domain.StatusRemoved))
		if got, err := s.Runtimes().OtherCaseOf(t.Context(), "CASEGAME"); err != nil || got != "CaseGame" {
			t.Errorf("OtherCaseOf(CASEGAME) = %q, %v; want CaseGame", got, err)
		}
	})

	t.Run("inserting a case variant is a conflict and stores nothing", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		mustUpsert(t, s, runningRecord("CaseGame"))

		_, err := s.Runtimes().UpsertIf(t.Context(), runningRecord("casegame"), ports.RecordCondition{Status: domain.StatusRemoved})
		if !errors.Is(err, ports.ErrConflict) {
			t.Fatalf("upsert of a case variant err = %v, want ErrConflict", err)
		}
		if _, err := s.Runtimes().Get(t.Context(), "casegame"); !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("the variant was stored: %v", err)
		}
	})
}
