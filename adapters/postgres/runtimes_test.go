package postgres_test

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

func TestRuntimeUpsert(t *testing.T) {
	t.Parallel()

	t.Run("a new record is stored and returned as read back", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		rec := runningRecord("game-1")
		got := mustUpsert(t, s, rec)
		assertRecordEqual(t, got, rec)
		assertRecordEqual(t, mustGet(t, s, "game-1"), rec)
	})

	t.Run("a later upsert replaces every field but keeps the first created_at", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		first := runningRecord("game-1")
		mustUpsert(t, s, first)

		second := recordIn("game-1", domain.StatusStopped)
		second.CurrentContainerID = "other-container"
		second.CurrentImageRef = "galaxy/game:1.0.1"
		second.EngineEndpoint = "http://elsewhere:8080"
		second.StatePath = "/srv/other"
		second.DockerNetwork = "other-net"
		second.EngineNode = "node-7"
		second.CreatedAt = at(24 * time.Hour)

		want := second
		want.CreatedAt = first.CreatedAt
		assertRecordEqual(t, mustUpsert(t, s, second), want)
		assertRecordEqual(t, mustGet(t, s, "game-1"), want)
	})

	t.Run("a fresh start over a removed record begins a new lifetime with created_at kept", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		removed := mustUpsert(t, s, recordIn("game-1", domain.StatusRemoved))

		restarted := runningRecord("game-1")
		restarted.StartedAt = ptr(at(time.Hour))
		restarted.LastOpAt = at(time.Hour)
		restarted.CreatedAt = at(time.Hour)
		want := restarted
		want.CreatedAt = removed.CreatedAt
		assertRecordEqual(t, mustUpsert(t, s, restarted), want)
	})

	t.Run("a zero created_at on insert takes last_op_at", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		rec := runningRecord("game-1")
		rec.LastOpAt = at(time.Hour)
		rec.CreatedAt = time.Time{}
		if got := mustUpsert(t, s, rec); !got.CreatedAt.Equal(rec.LastOpAt) {
			t.Fatalf("created_at = %v, want last_op_at %v", got.CreatedAt, rec.LastOpAt)
		}
	})

	t.Run("a zero last_op_at is refused before any write", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		rec := runningRecord("game-1")
		rec.LastOpAt = time.Time{}
		if _, err := s.Runtimes().Upsert(t.Context(), rec); err == nil {
			t.Fatal("Upsert accepted a zero last_op_at")
		}
		if _, err := s.Runtimes().Get(t.Context(), "game-1"); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("record written anyway: %v", err)
		}
	})

	t.Run("empty container id and image ref are stored as NULL and read back empty", func(t *testing.T) {
		t.Parallel()
		s, pool := newStore(t)
		rec := recordIn("game-1", domain.StatusStopped)
		rec.CurrentContainerID, rec.CurrentImageRef = "", ""
		assertRecordEqual(t, mustUpsert(t, s, rec), rec)
		var nulls bool
		if err := pool.QueryRow(t.Context(),
			"SELECT current_container_id IS NULL AND current_image_ref IS NULL FROM runtime_records WHERE game_id = 'game-1'").Scan(&nulls); err != nil {
			t.Fatal(err)
		}
		if !nulls {
			t.Fatal("empty strings were stored instead of NULL")
		}
	})

	t.Run("times are returned in UTC whatever zone they were written in", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		zone := time.FixedZone("UTC+5", 5*3600)
		rec := runningRecord("game-1")
		rec.LastOpAt = rec.LastOpAt.In(zone)
		got := mustUpsert(t, s, rec)
		if got.LastOpAt.Location() != time.UTC || !got.LastOpAt.Equal(rec.LastOpAt) {
			t.Fatalf("last_op_at = %v, want %v in UTC", got.LastOpAt, rec.LastOpAt)
		}
	})

	t.Run("an unknown status is refused by the database", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		rec := runningRecord("game-1")
		rec.Status = "paused"
		if _, err := s.Runtimes().Upsert(t.Context(), rec); err == nil {
			t.Fatal("Upsert stored an unknown status")
		}
	})
}

func TestRuntimeGet(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	_, err := s.Runtimes().Get(t.Context(), "no-such-game")
	if !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("Get of a missing record: %v, want ErrNotFound", err)
	}
}

func TestRuntimeUpdateStatusAllowedTransitions(t *testing.T) {
	t.Parallel()
	change := at(time.Hour)
	tests := []struct {
		name string
		from domain.Status
		to   domain.Status
		// want edits the record as it was before the change into the expected one.
		want func(r *domain.Record)
	}{
		{
			name: "stop: running → stopped sets stopped_at",
			from: domain.StatusRunning, to: domain.StatusStopped,
			want: func(r *domain.Record) { r.StoppedAt = ptr(change) },
		},
		{
			name: "dispose: running → removed sets removed_at",
			from: domain.StatusRunning, to: domain.StatusRemoved,
			want: func(r *domain.Record) { r.RemovedAt = ptr(change) },
		},
		{
			name: "start again: stopped → running installs the new container and image, sets started_at, clears stopped_at",
			from: domain.StatusStopped, to: domain.StatusRunning,
			want: func(r *domain.Record) {
				r.CurrentContainerID = "new-container"
				r.CurrentImageRef = "galaxy/game:1.0.1"
				r.StartedAt = ptr(change)
				r.StoppedAt = nil
			},
		},
		{
			name: "cleanup: stopped → removed sets removed_at and keeps stopped_at",
			from: domain.StatusStopped, to: domain.StatusRemoved,
			want: func(r *domain.Record) { r.RemovedAt = ptr(change) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t)
			before := mustUpsert(t, s, recordIn("game-1", tc.from))

			got, err := s.Runtimes().UpdateStatus(t.Context(), ports.StatusUpdate{
				GameID:              "game-1",
				From:                tc.from,
				To:                  tc.to,
				ExpectedContainerID: before.CurrentContainerID,
				ContainerID:         "new-container",
				ImageRef:            "galaxy/game:1.0.1",
				At:                  change,
			})
			if err != nil {
				t.Fatalf("UpdateStatus: %v", err)
			}
			want := before
			want.Status = tc.to
			want.LastOpAt = change
			tc.want(&want)
			assertRecordEqual(t, got, want)
			assertRecordEqual(t, mustGet(t, s, "game-1"), want)
		})
	}
}

func TestRuntimeUpdateStatusRefusesEveryOtherPair(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	// An unknown status on either side must be refused as well.
	statuses := append(slices.Clone(domain.AllStatuses), "paused", "")
	for _, from := range statuses {
		for _, to := range statuses {
			if domain.Transition(from, to) == nil {
				continue
			}
			t.Run(string(from)+" → "+string(to), func(t *testing.T) {
				gameID := "g-" + string(from) + "-" + string(to)
				seed := domain.StatusRunning
				if from.IsKnown() {
					seed = from
				}
				before := mustUpsert(t, s, recordIn(gameID, seed))
				_, err := s.Runtimes().UpdateStatus(t.Context(), ports.StatusUpdate{
					GameID: gameID, From: from, To: to,
					ContainerID: "new-container", ImageRef: "galaxy/game:1.0.1", At: at(time.Hour),
				})
				if !errors.Is(err, domain.ErrInvalidTransition) {
					t.Fatalf("UpdateStatus: %v, want ErrInvalidTransition", err)
				}
				assertRecordEqual(t, mustGet(t, s, gameID), before)
			})
		}
	}
}

func TestRuntimeUpdateStatusCompareAndSwap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		stored domain.Status
		update ports.StatusUpdate
		// wantErr is the sentinel expected; nil means a plain error, which
		// is what a caller bug gets.
		wantErr error
	}{
		{
			name:    "a stale expected status is a conflict",
			stored:  domain.StatusStopped,
			update:  ports.StatusUpdate{From: domain.StatusRunning, To: domain.StatusStopped, At: at(time.Hour)},
			wantErr: ports.ErrConflict,
		},
		{
			name:    "a stale expected container is a conflict",
			stored:  domain.StatusRunning,
			update:  ports.StatusUpdate{From: domain.StatusRunning, To: domain.StatusStopped, ExpectedContainerID: "someone-else", At: at(time.Hour)},
			wantErr: ports.ErrConflict,
		},
		{
			name:   "a stale container on stopped → running is a conflict",
			stored: domain.StatusStopped,
			update: ports.StatusUpdate{From: domain.StatusStopped, To: domain.StatusRunning,
				ExpectedContainerID: "someone-else", ContainerID: "new", ImageRef: "galaxy/game:1.0.1", At: at(time.Hour)},
			wantErr: ports.ErrConflict,
		},
		{
			name:   "entering running without a container is refused before the database",
			stored: domain.StatusStopped,
			update: ports.StatusUpdate{From: domain.StatusStopped, To: domain.StatusRunning,
				ImageRef: "galaxy/game:1.0.1", At: at(time.Hour)},
		},
		{
			name:   "a zero time is refused before the database",
			stored: domain.StatusRunning,
			update: ports.StatusUpdate{From: domain.StatusRunning, To: domain.StatusStopped, At: time.Time{}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t)
			before := mustUpsert(t, s, recordIn("game-1", tc.stored))
			u := tc.update
			u.GameID = "game-1"
			_, err := s.Runtimes().UpdateStatus(t.Context(), u)
			switch {
			case err == nil:
				t.Fatal("UpdateStatus succeeded")
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("UpdateStatus: %v, want %v", err, tc.wantErr)
			case tc.wantErr == nil && (errors.Is(err, ports.ErrConflict) || errors.Is(err, ports.ErrUnavailable)):
				t.Fatalf("UpdateStatus: %v, want a plain error", err)
			}
			assertRecordEqual(t, mustGet(t, s, "game-1"), before)
		})
	}

	t.Run("the matching container lets the change through", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		before := mustUpsert(t, s, runningRecord("game-1"))
		got, err := s.Runtimes().UpdateStatus(t.Context(), ports.StatusUpdate{
			GameID: "game-1", From: domain.StatusRunning, To: domain.StatusStopped,
			ExpectedContainerID: before.CurrentContainerID, At: at(time.Hour),
		})
		if err != nil || got.Status != domain.StatusStopped {
			t.Fatalf("UpdateStatus: %v, status %q", err, got.Status)
		}
	})

	t.Run("a missing record is a conflict", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		_, err := s.Runtimes().UpdateStatus(t.Context(), ports.StatusUpdate{
			GameID: "no-such-game", From: domain.StatusRunning, To: domain.StatusStopped, At: at(time.Hour),
		})
		if !errors.Is(err, ports.ErrConflict) {
			t.Fatalf("UpdateStatus: %v, want ErrConflict", err)
		}
	})

	t.Run("of two racing identical changes exactly one wins", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		mustUpsert(t, s, runningRecord("game-1"))
		errs := make(chan error, 8)
		for range cap(errs) {
			go func() {
				_, err := s.Runtimes().UpdateStatus(t.Context(), ports.StatusUpdate{
					GameID: "game-1", From: domain.StatusRunning, To: domain.StatusStopped, At: at(time.Hour),
				})
				errs <- err
			}()
		}
		var won, conflicts int
		for range cap(errs) {
			switch err := <-errs; {
			case err == nil:
				won++
			case errors.Is(err, ports.ErrConflict):
				conflicts++
			default:
				t.Errorf("UpdateStatus: %v", err)
			}
		}
		if won != 1 || conflicts != cap(errs)-1 {
			t.Fatalf("%d won, %d conflicts; want exactly one winner", won, conflicts)
		}
	})
}

func TestRuntimeListPagination(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	// Ids chosen so that byte order differs from most locales' collation
	// (case, '-', '_' and digits interleave; no two differ only in case).
	ids := []string{"b_3", "A1", "a2", "b-2", "Z9", "b1", "0x", "game-10", "game-2", "a-1", "B0"}
	statuses := []domain.Status{domain.StatusRunning, domain.StatusStopped, domain.StatusRemoved}
	want := map[domain.Status][]string{}
	for i, id := range ids {
		st := statuses[i%len(statuses)]
		mustUpsert(t, s, recordIn(id, st))
		want[st] = append(want[st], id)
		want[""] = append(want[""], id)
	}
	for _, list := range want {
		slices.Sort(list) // Go string order is byte order
	}

	for _, filter := range []domain.Status{"", domain.StatusRunning, domain.StatusStopped, domain.StatusRemoved} {
		for _, size := range []int{1, 3, len(ids) + 5} {
			name := "status " + string(filter)
			if filter == "" {
				name = "all statuses"
			}
			t.Run(name+" in pages of "+itoa(size), func(t *testing.T) {
				var got []string
				after := ""
				for pages := 0; ; pages++ {
					if pages > len(ids)+1 {
						t.Fatalf("pagination does not end: %v", got)
					}
					page, err := s.Runtimes().List(t.Context(), ports.ListRuntimesQuery{
						Status: filter, AfterGameID: after, Limit: size,
					})
					if err != nil {
						t.Fatalf("List: %v", err)
					}
					if len(page) > size {
						t.Fatalf("page of %d rows, limit %d", len(page), size)
					}
					for _, r := range page {
						if filter != "" && r.Status != filter {
							t.Fatalf("%s has status %s, filter %s", r.GameID, r.Status, filter)
						}
						got = append(got, r.GameID)
					}
					if len(page) < size {
						break
					}
					after = page[len(page)-1].GameID
				}
				if !slices.Equal(got, want[filter]) {
					t.Fatalf("visited %v, want %v", got, want[filter])
				}
			})
		}
	}

	t.Run("a non-positive limit is refused", func(t *testing.T) {
		if _, err := s.Runtimes().List(t.Context(), ports.ListRuntimesQuery{}); err == nil {
			t.Fatal("List with limit 0 succeeded")
		}
	})
}

func TestRuntimeListStoppedBefore(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	cutoff := at(10 * time.Hour)
	seed := []struct {
		id       string
		status   domain.Status
		lastOpAt time.Time
	}{
		{"stopped-oldest", domain.StatusStopped, at(time.Hour)},
		{"stopped-old", domain.StatusStopped, at(2 * time.Hour)},
		{"stopped-old-too", domain.StatusStopped, at(2 * time.Hour)},
		{"stopped-at-cutoff", domain.StatusStopped, cutoff},
		{"stopped-recent", domain.StatusStopped, at(11 * time.Hour)},
		{"running-old", domain.StatusRunning, at(time.Hour)},
		{"removed-old", domain.StatusRemoved, at(time.Hour)},
	}
	for _, r := range seed {
		rec := recordIn(r.id, r.status)
		rec.LastOpAt = r.lastOpAt
		mustUpsert(t, s, rec)
	}

	tests := []struct {
		name  string
		limit int
		want  []string
	}{
		{"only stopped records strictly older than the cutoff, oldest first", 100,
			[]string{"stopped-oldest", "stopped-old", "stopped-old-too"}},
		{"the limit bounds the batch", 2, []string{"stopped-oldest", "stopped-old"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := s.Runtimes().ListStoppedBefore(t.Context(), cutoff, tc.limit)
			if err != nil {
				t.Fatalf("ListStoppedBefore: %v", err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, r.GameID)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRuntimeCountByStatus(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)

	got, err := s.Runtimes().CountByStatus(t.Context())
	if err != nil {
		t.Fatalf("CountByStatus: %v", err)
	}
	empty := map[domain.Status]int{domain.StatusRunning: 0, domain.StatusStopped: 0, domain.StatusRemoved: 0}
	if !maps.Equal(got, empty) {
		t.Fatalf("empty table: %v, want every status at 0", got)
	}

	for i, st := range []domain.Status{domain.StatusRunning, domain.StatusRunning, domain.StatusStopped} {
		mustUpsert(t, s, recordIn("game-"+itoa(i), st))
	}
	got, err = s.Runtimes().CountByStatus(t.Context())
	if err != nil {
		t.Fatalf("CountByStatus: %v", err)
	}
	want := map[domain.Status]int{domain.StatusRunning: 2, domain.StatusStopped: 1, domain.StatusRemoved: 0}
	if !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestRuntimeUpsertIf(t *testing.T) {
	t.Parallel()
	stored := runningRecord("game-1") // container c-game-1
	next := recordIn("game-1", domain.StatusStopped)
	next.CurrentContainerID = "c-next"
	next.LastOpAt = at(time.Hour)
	tests := []struct {
		name    string
		store   bool // whether game-1 has a record before the call
		cond    ports.RecordCondition
		applied bool
	}{
		{"no record: the record is inserted", false, ports.RecordCondition{Status: domain.StatusRemoved}, true},
		{"matching status and container: replaced", true, ports.RecordCondition{Status: domain.StatusRunning, ContainerID: "c-game-1"}, true},
		{"matching status, no container condition: replaced", true, ports.RecordCondition{Status: domain.StatusRunning}, true},
		{"another status: conflict", true, ports.RecordCondition{Status: domain.StatusRemoved}, false},
		{"another container: conflict", true, ports.RecordCondition{Status: domain.StatusRunning, ContainerID: "c-other"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t)
			if tc.store {
				mustUpsert(t, s, stored)
			}
			got, err := s.Runtimes().UpsertIf(t.Context(), next, tc.cond)
			if !tc.applied {
				if !errors.Is(err, ports.ErrConflict) {
					t.Fatalf("err = %v, want ErrConflict", err)
				}
				assertRecordEqual(t, mustGet(t, s, "game-1"), stored)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := next
			if tc.store {
				want.CreatedAt = stored.CreatedAt
			}
			assertRecordEqual(t, got, want)
			assertRecordEqual(t, mustGet(t, s, "game-1"), want)
		})
	}
	t.Run("an unknown condition status is refused before the database", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		if _, err := s.Runtimes().UpsertIf(t.Context(), next, ports.RecordCondition{}); err == nil || errors.Is(err, ports.ErrConflict) {
			t.Fatalf("err = %v, want a plain error", err)
		}
	})
}
