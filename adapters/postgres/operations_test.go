package postgres_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

func operation(gameID string) domain.Operation {
	return domain.Operation{
		GameID:        gameID,
		Kind:          domain.OpStart,
		Source:        domain.SourceLobbyStream,
		SourceRef:     "1700000000000-0",
		CorrelationID: "corr-1",
		Outcome:       domain.OutcomeFailure,
		ErrorCode:     domain.CodeImagePullFailed,
		ErrorMessage:  "pull galaxy/game:9.9.9: not found",
		ImageRef:      "galaxy/game:9.9.9",
		ContainerID:   "c-1",
		Details:       map[string]any{"attempt": "1"},
		StartedAt:     at(0),
		FinishedAt:    at(1500 * time.Millisecond),
	}
}

func TestOperationAppend(t *testing.T) {
	t.Parallel()

	t.Run("an appended entry reads back field for field with its id", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		op := operation("game-1")
		id, err := s.Operations().Append(t.Context(), op)
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		got, err := s.Operations().List(t.Context(), ports.ListOperationsQuery{GameID: "game-1", Limit: 10})
		if err != nil || len(got) != 1 {
			t.Fatalf("List: %v, %d rows", err, len(got))
		}
		want := op
		want.ID = id
		if !reflect.DeepEqual(got[0], want) {
			t.Fatalf("entry mismatch\n got: %s\nwant: %s", dump(got[0]), dump(want))
		}
	})

	t.Run("ids grow with every append", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		var last int64
		for range 3 {
			id, err := s.Operations().Append(t.Context(), operation("game-1"))
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if id <= last {
				t.Fatalf("id %d after %d", id, last)
			}
			last = id
		}
	})

	t.Run("every domain enum value is accepted", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		var ops []domain.Operation
		for _, k := range domain.AllOpKinds {
			op := operation("game-1")
			op.Kind = k
			ops = append(ops, op)
		}
		for _, src := range domain.AllOpSources {
			op := operation("game-1")
			op.Source = src
			ops = append(ops, op)
		}
		for _, o := range domain.AllOutcomes {
			op := operation("game-1")
			op.Outcome = o
			ops = append(ops, op)
		}
		for _, c := range append([]domain.ErrorCode{domain.CodeNone}, domain.AllErrorCodes...) {
			op := operation("game-1")
			op.ErrorCode = c
			ops = append(ops, op)
		}
		for _, op := range ops {
			if _, err := s.Operations().Append(t.Context(), op); err != nil {
				t.Errorf("Append(kind=%s source=%s outcome=%s code=%q): %v", op.Kind, op.Source, op.Outcome, op.ErrorCode, err)
			}
		}
	})

	t.Run("an unknown op kind is refused by the database", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		op := operation("game-1")
		op.Kind = "teleport"
		if _, err := s.Operations().Append(t.Context(), op); err == nil {
			t.Fatal("Append stored an unknown op kind")
		}
	})
}

func TestOperationListPagination(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	// Two games interleaved, so a page must skip the other game's ids.
	var want []int64
	for i := range 10 {
		id, err := s.Operations().Append(t.Context(), operation("game-a"))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
		if i%2 == 0 {
			if _, err := s.Operations().Append(t.Context(), operation("game-b")); err != nil {
				t.Fatal(err)
			}
		}
	}
	slices.Reverse(want) // newest first

	for _, size := range []int{1, 3, len(want) + 5} {
		t.Run("pages of "+itoa(size)+" visit every entry once, newest first", func(t *testing.T) {
			var got []int64
			var before int64
			for pages := 0; ; pages++ {
				if pages > len(want)+1 {
					t.Fatalf("pagination does not end: %v", got)
				}
				page, err := s.Operations().List(t.Context(), ports.ListOperationsQuery{
					GameID: "game-a", BeforeID: before, Limit: size,
				})
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				if len(page) > size {
					t.Fatalf("page of %d rows, limit %d", len(page), size)
				}
				for _, op := range page {
					if op.GameID != "game-a" {
						t.Fatalf("entry %d of %s in game-a's history", op.ID, op.GameID)
					}
					got = append(got, op.ID)
				}
				if len(page) < size {
					break
				}
				before = page[len(page)-1].ID
			}
			if !slices.Equal(got, want) {
				t.Fatalf("visited %v, want %v", got, want)
			}
		})
	}

	t.Run("a game without history lists nothing", func(t *testing.T) {
		got, err := s.Operations().List(t.Context(), ports.ListOperationsQuery{GameID: "game-c", Limit: 10})
		if err != nil || len(got) != 0 {
			t.Fatalf("List: %v, %d rows", err, len(got))
		}
	})

	t.Run("a non-positive limit is refused", func(t *testing.T) {
		_, err := s.Operations().List(t.Context(), ports.ListOperationsQuery{GameID: "game-a", Limit: -1})
		if err == nil || errors.Is(err, ports.ErrUnavailable) {
			t.Fatalf("List with limit -1: %v, want a plain error", err)
		}
	})
}

func TestOperationsBySourceRef(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	appendOp := func(gameID string, source domain.OpSource, ref string) int64 {
		t.Helper()
		op := operation(gameID)
		op.Source = source
		op.SourceRef = ref
		id, err := s.Operations().Append(t.Context(), op)
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		return id
	}
	const ref = "1700000000000-0"
	// The matching rows are interleaved with rows of another game, another
	// source and another ref, each of which must be left out.
	var want []int64
	for range 3 {
		want = append(want, appendOp("game-a", domain.SourceLobbyStream, ref))
		appendOp("game-b", domain.SourceLobbyStream, ref)
		appendOp("game-a", domain.SourceGMRest, ref)
		appendOp("game-a", domain.SourceLobbyStream, "1700000000000-1")
	}

	t.Run("a game's entries of one source and ref come oldest first", func(t *testing.T) {
		got, err := s.Operations().BySourceRef(t.Context(), "game-a", domain.SourceLobbyStream, ref, 10)
		if err != nil {
			t.Fatalf("BySourceRef: %v", err)
		}
		var ids []int64
		for _, op := range got {
			if op.GameID != "game-a" || op.Source != domain.SourceLobbyStream || op.SourceRef != ref {
				t.Fatalf("entry %d of %s from %s %s matched", op.ID, op.GameID, op.Source, op.SourceRef)
			}
			ids = append(ids, op.ID)
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("entries %v, want %v", ids, want)
		}
	})

	t.Run("the limit keeps the oldest entries", func(t *testing.T) {
		got, err := s.Operations().BySourceRef(t.Context(), "game-a", domain.SourceLobbyStream, ref, 2)
		if err != nil {
			t.Fatalf("BySourceRef: %v", err)
		}
		if len(got) != 2 || got[0].ID != want[0] || got[1].ID != want[1] {
			t.Fatalf("%d entries %v, want the oldest two of %v", len(got), got, want)
		}
	})

	t.Run("an entry reads back field for field", func(t *testing.T) {
		got, err := s.Operations().BySourceRef(t.Context(), "game-b", domain.SourceLobbyStream, ref, 1)
		if err != nil || len(got) != 1 {
			t.Fatalf("BySourceRef: %v, %d rows", err, len(got))
		}
		w := operation("game-b")
		w.SourceRef = ref
		w.ID = got[0].ID
		if !reflect.DeepEqual(got[0], w) {
			t.Fatalf("entry mismatch\n got: %s\nwant: %s", dump(got[0]), dump(w))
		}
	})

	t.Run("nothing matches a ref of another source or game", func(t *testing.T) {
		for _, q := range []struct {
			game   string
			source domain.OpSource
			ref    string
		}{
			{"game-a", domain.SourceAdminRest, ref},
			{"game-c", domain.SourceLobbyStream, ref},
			{"game-a", domain.SourceLobbyStream, "1700000000000-2"},
		} {
			got, err := s.Operations().BySourceRef(t.Context(), q.game, q.source, q.ref, 10)
			if err != nil || len(got) != 0 {
				t.Errorf("BySourceRef(%s, %s, %s): %v, %d rows", q.game, q.source, q.ref, err, len(got))
			}
		}
	})

	t.Run("a non-positive limit is refused", func(t *testing.T) {
		_, err := s.Operations().BySourceRef(t.Context(), "game-a", domain.SourceLobbyStream, ref, 0)
		if err == nil || errors.Is(err, ports.ErrUnavailable) {
			t.Fatalf("BySourceRef with limit 0: %v, want a plain error", err)
		}
	})
}
