package integration

import (
	"net/http"
	"testing"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/test/harness"
)

// TestReplayAndRefusal covers the replay and conflict rules of the lifecycle
// operations on a real engine.
func TestReplayAndRefusal(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	id := s.GameID("replay")

	first := start(t, s, id, "galaxy/game:1.0.0")
	expect(t, first, 200, "")
	expectOutcome(t, first, "applied")
	cid := str(first.Body, "current_container_id")

	t.Run("repeated start with the same ref is a replay without a new container", func(t *testing.T) {
		r := start(t, s, id, "galaxy/game:1.0.0")
		expect(t, r, 200, "")
		expectOutcome(t, r, "replay_no_op")
		if str(r.Body, "current_container_id") != cid || len(s.Containers(id)) != 1 {
			t.Errorf("replay changed the container: %s", r.Raw)
		}
		if op := operations(t, s, id)[0]; str(op, "error_code") != "replay_no_op" || str(op, "outcome") != "success" {
			t.Errorf("replay row: %v", op)
		}
	})
	t.Run("start with another ref while running is a conflict", func(t *testing.T) {
		r := start(t, s, id, "galaxy/game:1.0.1")
		expect(t, r, 409, "conflict")
		expectOutcome(t, r, "failure")
	})
	t.Run("patch across a minor version is refused", func(t *testing.T) {
		r := call(t, s, http.MethodPost, rt(id)+"/patch", map[string]string{"image_ref": "galaxy/game:1.1.0"})
		expect(t, r, 422, "semver_patch_only")
	})
	t.Run("patch to a non-semver tag is refused", func(t *testing.T) {
		r := call(t, s, http.MethodPost, rt(id)+"/patch", map[string]string{"image_ref": "galaxy/game:latest"})
		expect(t, r, 422, "image_ref_not_semver")
	})
	t.Run("patch to the current ref is a replay", func(t *testing.T) {
		r := call(t, s, http.MethodPost, rt(id)+"/patch", map[string]string{"image_ref": "galaxy/game:1.0.0"})
		expect(t, r, 200, "")
		expectOutcome(t, r, "replay_no_op")
		if str(r.Body, "current_container_id") != cid {
			t.Error("a replayed patch replaced the container")
		}
	})
	t.Run("cleanup of a running runtime is a conflict", func(t *testing.T) {
		expect(t, call(t, s, http.MethodDelete, rt(id)+"/container", nil), 409, "conflict")
	})
	t.Run("stop of a stopped runtime is a replay", func(t *testing.T) {
		r := stop(t, s, id, "cancelled")
		expect(t, r, 200, "")
		expectOutcome(t, r, "applied")
		r = stop(t, s, id, "cancelled")
		expect(t, r, 200, "")
		expectOutcome(t, r, "replay_no_op")
		if op := operations(t, s, id)[0]; str(op, "error_code") != "replay_no_op" {
			t.Errorf("second stop row: %v", op)
		}
	})
	t.Run("restart of a removed runtime is a conflict", func(t *testing.T) {
		r := call(t, s, http.MethodDelete, rt(id)+"/container", nil)
		expect(t, r, 200, "")
		expectOutcome(t, r, "applied")
		expect(t, call(t, s, http.MethodPost, rt(id)+"/restart", nil), 409, "conflict")
		expect(t, call(t, s, http.MethodPost, rt(id)+"/patch", map[string]string{"image_ref": "galaxy/game:1.0.1"}), 409, "conflict")
		r = call(t, s, http.MethodDelete, rt(id)+"/container", nil)
		expect(t, r, 200, "")
		expectOutcome(t, r, "replay_no_op")
	})
	t.Run("a removed runtime starts a new lifetime keeping created_at", func(t *testing.T) {
		r := start(t, s, id, "galaxy/game:1.0.1")
		expect(t, r, 200, "")
		expectOutcome(t, r, "applied")
		if str(r.Body, "created_at") != str(first.Body, "created_at") || str(r.Body, "status") != "running" {
			t.Errorf("new lifetime record: %s", r.Raw)
		}
	})
	t.Run("unknown game is not found on every operation", func(t *testing.T) {
		ghost := s.GameID("ghost")
		r := call(t, s, http.MethodGet, rt(ghost), nil)
		expect(t, r, 404, "not_found")
		if msg := r.Body["error"].(map[string]any)["message"]; msg != domain.NoRuntimeMessage(ghost) {
			t.Errorf("get of an unknown game: message %q", msg)
		}
		r = stop(t, s, ghost, "finished")
		expect(t, r, 404, "not_found")
		expectOutcome(t, r, "failure")
		expect(t, call(t, s, http.MethodPost, rt(ghost)+"/restart", nil), 404, "not_found")
		expect(t, call(t, s, http.MethodPost, rt(ghost)+"/patch", map[string]string{"image_ref": "galaxy/game:1.0.1"}), 404, "not_found")
		expect(t, call(t, s, http.MethodDelete, rt(ghost)+"/container", nil), 404, "not_found")
		expect(t, call(t, s, http.MethodGet, rt(ghost)+"/health", nil), 404, "not_found")
	})
}
