package postgres_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

func snapshot(gameID string, observedAt time.Time) domain.HealthSnapshot {
	return domain.HealthSnapshot{
		GameID:        gameID,
		ContainerID:   "c-1",
		Status:        domain.HealthProbeFailed,
		Source:        domain.HealthSourceProbe,
		LastEventType: domain.EventProbeFailed,
		Details:       map[string]any{"last_error": "connection refused"},
		ObservedAt:    observedAt,
	}
}

func TestHealthSnapshots(t *testing.T) {
	t.Parallel()

	t.Run("a missing snapshot is not found", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		if _, err := s.Health().Get(t.Context(), "game-1"); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("Get: %v, want ErrNotFound", err)
		}
	})

	t.Run("a stored snapshot reads back field for field", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		want := snapshot("game-1", at(0))
		if err := s.Health().Upsert(t.Context(), want); err != nil {
			t.Fatalf("Upsert: %v", err)
		}
		got, err := s.Health().Get(t.Context(), "game-1")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("snapshot mismatch\n got: %s\nwant: %s", dump(got), dump(want))
		}
	})

	tests := []struct {
		name       string
		secondAt   time.Time
		wantSecond bool
	}{
		{"a newer observation replaces the stored one", at(time.Second), true},
		{"an observation at the same instant replaces the stored one", at(0), true},
		{"an older observation never rolls the snapshot back", at(-time.Second), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t)
			first := snapshot("game-1", at(0))
			second := domain.HealthSnapshot{
				GameID: "game-1", ContainerID: "c-2", Status: domain.HealthHealthy,
				Source: domain.HealthSourceProbe, LastEventType: domain.EventProbeRecovered,
				Details: map[string]any{}, ObservedAt: tc.secondAt,
			}
			for _, snap := range []domain.HealthSnapshot{first, second} {
				if err := s.Health().Upsert(t.Context(), snap); err != nil {
					t.Fatalf("Upsert: %v", err)
				}
			}
			got, err := s.Health().Get(t.Context(), "game-1")
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			want := first
			if tc.wantSecond {
				want = second
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("snapshot mismatch\n got: %s\nwant: %s", dump(got), dump(want))
			}
		})
	}

	t.Run("every domain enum value is accepted", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		var snaps []domain.HealthSnapshot
		for _, st := range domain.AllHealthStatuses {
			snap := snapshot("status-"+string(st), at(0))
			snap.Status = st
			snaps = append(snaps, snap)
		}
		for _, src := range domain.AllHealthSources {
			snap := snapshot("source-"+string(src), at(0))
			snap.Source = src
			snaps = append(snaps, snap)
		}
		for _, ev := range domain.AllHealthEventTypes {
			snap := snapshot("event-"+string(ev), at(0))
			snap.LastEventType = ev
			snaps = append(snaps, snap)
		}
		for _, snap := range snaps {
			if err := s.Health().Upsert(t.Context(), snap); err != nil {
				t.Errorf("Upsert(status=%s source=%s event=%s): %v", snap.Status, snap.Source, snap.LastEventType, err)
			}
		}
	})
}
