package postgres_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
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

func TestHealthSnapshotsUpsertChanged(t *testing.T) {
	t.Parallel()

	stored := snapshot("game-1", at(0)) // probe_failed of c-1, last_error "connection refused"
	with := func(f func(*domain.HealthSnapshot)) domain.HealthSnapshot {
		s := stored
		s.Details = map[string]any{"last_error": "connection refused"}
		s.ObservedAt = at(time.Second)
		f(&s)
		return s
	}
	tests := []struct {
		name    string
		next    domain.HealthSnapshot
		ignored []string
		stores  bool
	}{
		{"the same observation again is not a change", with(func(*domain.HealthSnapshot) {}), nil, false},
		{"details differing only in an ignored key are not a change",
			with(func(s *domain.HealthSnapshot) { s.Details["last_error"] = "timeout" }), []string{"last_error"}, false},
		{"details differing in a key not ignored are a change",
			with(func(s *domain.HealthSnapshot) { s.Details["last_error"] = "timeout" }), []string{"failed_for_ms"}, true},
		{"another event type is a change", with(func(s *domain.HealthSnapshot) {
			s.Status, s.LastEventType, s.Details = domain.HealthHealthy, domain.EventProbeRecovered, map[string]any{}
		}), nil, true},
		{"another container is a change", with(func(s *domain.HealthSnapshot) { s.ContainerID = "c-2" }), nil, true},
		{"an older observation is never stored, changed or not",
			with(func(s *domain.HealthSnapshot) { s.ContainerID, s.ObservedAt = "c-2", at(-time.Second) }), nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t)
			if ok, err := s.Health().UpsertChanged(t.Context(), stored); err != nil || !ok {
				t.Fatalf("first UpsertChanged of a game without a snapshot = %v, %v; want stored", ok, err)
			}
			ok, err := s.Health().UpsertChanged(t.Context(), tc.next, tc.ignored...)
			if err != nil || ok != tc.stores {
				t.Fatalf("UpsertChanged = %v, %v; want %v", ok, err, tc.stores)
			}
			got, err := s.Health().Get(t.Context(), "game-1")
			if err != nil {
				t.Fatal(err)
			}
			want := stored
			if tc.stores {
				want = tc.next
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("snapshot mismatch\n got: %s\nwant: %s", dump(got), dump(want))
			}
		})
	}

	// Instances that observed the same change race on one row: exactly one
	// stores it, so exactly one publishes its event.
	t.Run("of instances storing the same change at once exactly one wins", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		const instances = 8
		wins := make(chan bool, instances)
		var wg sync.WaitGroup
		for i := range instances {
			wg.Add(1)
			go func() {
				defer wg.Done()
				snap := snapshot("game-1", at(time.Duration(i)*time.Millisecond))
				snap.Details = map[string]any{"last_error": fmt.Sprintf("instance %d", i)}
				ok, err := s.Health().UpsertChanged(t.Context(), snap, "last_error")
				if err != nil {
					t.Error(err)
				}
				wins <- ok
			}()
		}
		wg.Wait()
		close(wins)
		n := 0
		for ok := range wins {
			if ok {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d instances stored the change, want exactly 1", n)
		}
	})
}
