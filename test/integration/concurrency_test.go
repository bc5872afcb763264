package integration

import (
	"net/http"
	"sync"
	"testing"

	"github.com/galaxy/rtmanager/test/harness"
)

// TestConcurrentStartsOfOneGame: 20 callers race to start the same game;
// exactly one container and one running record result, every other caller
// gets a conflict (lease busy) or a replay.
func TestConcurrentStartsOfOneGame(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	id := s.GameID("race")
	const callers = 20
	replies := make([]reply, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { replies[i] = start(t, s, id, "galaxy/game:1.0.0") })
	}
	wg.Wait()

	containerIDs := map[string]bool{}
	ok, conflicts := 0, 0
	for _, r := range replies {
		switch {
		case r.Status == 200:
			ok++
			containerIDs[str(r.Body, "current_container_id")] = true
		case r.Status == 409 && r.errorCode() == "conflict":
			conflicts++
		default:
			t.Errorf("unexpected answer %d %s", r.Status, r.Raw)
		}
	}
	if ok < 1 || ok+conflicts != callers || len(containerIDs) != 1 {
		t.Errorf("ok %d conflicts %d distinct containers %d", ok, conflicts, len(containerIDs))
	}
	if n := len(s.Containers(id)); n != 1 {
		t.Errorf("%d containers exist, want exactly 1", n)
	}
	r := call(t, s, http.MethodGet, "/api/v1/internal/runtimes?status=running&limit=500", nil)
	expect(t, r, 200, "")
	running := 0
	for _, rec := range r.Body["runtimes"].([]any) {
		if str(rec.(map[string]any), "game_id") == id {
			running++
		}
	}
	if running != 1 {
		t.Errorf("%d running records, want 1", running)
	}
	successes := 0
	for _, op := range operations(t, s, id) {
		if str(op, "outcome") == "success" && str(op, "error_code") == "" {
			successes++
		}
	}
	if successes != 1 {
		t.Errorf("%d non-replay successful start rows, want 1", successes)
	}
}

// TestConcurrentOperationsOnDifferentGames: 20 games started, stopped and
// cleaned up at once all succeed (the per-host start bound queues, never refuses).
func TestConcurrentOperationsOnDifferentGames(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	const games = 20
	ids := make([]string, games)
	for i := range ids {
		ids[i] = s.GameID("many")
	}
	parallel := func(step string, f func(id string) reply) {
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Go(func() {
				if r := f(id); r.Status != 200 {
					t.Errorf("%s %s: %d %s", step, id, r.Status, r.Raw)
				}
			})
		}
		wg.Wait()
	}
	parallel("start", func(id string) reply { return start(t, s, id, "galaxy/game:1.0.0") })
	for _, id := range ids {
		if n := len(s.Containers(id)); n != 1 {
			t.Errorf("game %s has %d containers", id, n)
		}
	}
	parallel("restart", func(id string) reply { return call(t, s, http.MethodPost, rt(id)+"/restart", nil) })
	parallel("stop", func(id string) reply { return stop(t, s, id, "finished") })
	parallel("cleanup", func(id string) reply { return call(t, s, http.MethodDelete, rt(id)+"/container", nil) })
	for _, id := range ids {
		if n := len(s.Containers(id)); n != 0 {
			t.Errorf("game %s still has %d containers", id, n)
		}
	}
}
