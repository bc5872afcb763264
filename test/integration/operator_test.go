package integration

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/galaxy/rtmanager/test/harness"
)

// An image that is not present locally fails the start with
// image_pull_failed, and the message tells the operator first that the image
// is missing here, then why RTM did not get it: the pull's own failure, or
// the pull policy that forbade pulling. No registry is reachable in tests, so
// every pull fails.
func TestStartOfAnImageNotPresentLocallySaysWhyItWasNotPulled(t *testing.T) {
	const absent = "galaxy/game:9.9.9"
	cases := []struct {
		policy string
		// then is what the message says after "is not present locally".
		then string
	}{
		{policy: "if_missing", then: "pull"},
		{policy: "never", then: "pull policy never"},
	}
	for _, tc := range cases {
		t.Run("pull policy "+tc.policy, func(t *testing.T) {
			s := harness.Start(t, harness.Options{Env: map[string]string{"IMAGE_PULL_POLICY": tc.policy}})
			id := s.GameID("absent")
			r := start(t, s, id, absent)
			expect(t, r, 502, "image_pull_failed")
			msg := r.errorMessage()
			const missing = "is not present locally"
			before, after, found := strings.Cut(msg, missing)
			switch {
			case !found:
				t.Errorf("message %q does not say the image %s", msg, missing)
			case !strings.Contains(before, absent) || strings.Contains(before, "pull"):
				t.Errorf("message %q does not start by naming %s as not present locally", msg, absent)
			case !strings.Contains(after, tc.then):
				t.Errorf("message %q does not go on to say %q", msg, tc.then)
			}
			if tc.policy != "never" && strings.Contains(msg, "pull policy never") {
				t.Errorf("message %q blames policy never under %s", msg, tc.policy)
			}
			if op := operations(t, s, id)[0]; str(op, "error_message") != msg {
				t.Errorf("operation row says %q, the answer %q", str(op, "error_message"), msg)
			}
		})
	}
}

// A start that fails before any container exists leaves the host as it found
// it: a state directory the attempt itself created is gone again, and one
// that was already there — a game's state, which RTM never deletes — is left
// exactly as it was.
func TestStartThatFailsBeforeAnyContainerLeavesTheStateDirectoryAsItFoundIt(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	// 0700 differs from RTMANAGER_GAME_STATE_DIR_MODE (0750 by default), so
	// a chmod of the existing directory would show.
	const existingMode = 0o700
	refusals := []struct {
		name   string
		ref    string
		status int
		code   string
	}{
		{name: "image not present locally", ref: "galaxy/game:9.9.9", status: 502, code: "image_pull_failed"},
		{name: "unparsable limit label", ref: "galaxy/game:1.0.3-badlabels", status: 422, code: "start_config_invalid"},
	}
	for _, rf := range refusals {
		t.Run(rf.name+" without a state directory", func(t *testing.T) {
			id := s.GameID("nodir")
			dir := filepath.Join(s.StateRoot, id)
			expect(t, start(t, s, id, rf.ref), rf.status, rf.code)
			if n := len(s.Containers(id)); n != 0 {
				t.Fatalf("the refused start created %d container(s)", n)
			}
			if _, err := os.Lstat(dir); !os.IsNotExist(err) {
				t.Errorf("the refused start left the state directory %s it created (stat: %v)", dir, err)
			}
		})
		t.Run(rf.name+" with an existing state directory", func(t *testing.T) {
			id := s.GameID("olddir")
			dir := filepath.Join(s.StateRoot, id)
			if err := os.Mkdir(dir, existingMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, existingMode); err != nil { // past the umask
				t.Fatal(err)
			}
			content := []byte(`{"counter":41,"boots":7}`)
			if err := os.WriteFile(filepath.Join(dir, "counter.json"), content, 0o640); err != nil {
				t.Fatal(err)
			}
			want := snapshotDir(t, dir)

			expect(t, start(t, s, id, rf.ref), rf.status, rf.code)
			if got := snapshotDir(t, dir); got != want {
				t.Errorf("the refused start changed the existing state directory\nbefore:\n%s\nafter:\n%s", want, got)
			}
		})
	}
}

// snapshotDir describes a directory and the files directly in it (name, mode,
// content), to compare before and after.
func snapshotDir(t *testing.T, dir string) string {
	t.Helper()
	st, err := os.Lstat(dir)
	if err != nil {
		t.Fatalf("state directory: %v", err)
	}
	var b bytes.Buffer
	b.WriteString(". " + st.Mode().String() + "\n")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		content, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(e.Name() + " " + info.Mode().String() + " " + string(content) + "\n")
	}
	return b.String()
}

// A patch that brought the new engine up says so in its operation row:
// details.rolled_back is false, never absent, so a reader of the history does
// not have to tell "not rolled back" from "not recorded".
func TestSuccessfulPatchRowSaysItWasNotRolledBack(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	id := s.GameID("patched")
	expect(t, start(t, s, id, "galaxy/game:1.0.0"), 200, "")
	expect(t, call(t, s, http.MethodPost, rt(id)+"/patch", map[string]string{"image_ref": "galaxy/game:1.0.1"}), 200, "")

	patch := operations(t, s, id)[0]
	if str(patch, "op_kind") != "patch" || str(patch, "outcome") != "success" {
		t.Fatalf("newest row is not the successful patch: %v", patch)
	}
	details, _ := patch["details"].(map[string]any)
	if rb, ok := details["rolled_back"]; !ok || rb != false {
		t.Errorf("patch details %v: want rolled_back false", details)
	}
}

// Two game ids that differ only in case name one engine: Docker's DNS does
// not tell galaxy-game-CaseGame from galaxy-game-casegame. The second is
// refused with conflict naming the first, and gets no container, whatever
// became of the first game — records are never deleted, so its name stays
// taken.
func TestGameIDsThatDifferOnlyInCaseAreOneName(t *testing.T) {
	cases := []struct {
		name  string
		after func(t *testing.T, s *harness.Service, first string) // brings the first game into its state
		// containers the first game has afterwards
		containers int
	}{
		{name: "first running", after: func(*testing.T, *harness.Service, string) {}, containers: 1},
		{name: "first stopped", after: func(t *testing.T, s *harness.Service, first string) {
			expect(t, stop(t, s, first, "finished"), 200, "")
		}, containers: 1},
		{name: "first removed", after: func(t *testing.T, s *harness.Service, first string) {
			expect(t, stop(t, s, first, "finished"), 200, "")
			expect(t, call(t, s, http.MethodDelete, rt(first)+"/container", nil), 200, "")
		}, containers: 0},
	}
	s := harness.Start(t, harness.Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first := s.GameID("CaseGame")
			second := s.Track(strings.ToLower(first))
			expect(t, start(t, s, first, "galaxy/game:1.0.0"), 200, "")
			tc.after(t, s, first)
			before := call(t, s, http.MethodGet, rt(first), nil)
			expect(t, before, 200, "")

			r := start(t, s, second, "galaxy/game:1.0.0")
			expect(t, r, 409, "conflict")
			if msg := r.errorMessage(); !strings.Contains(msg, first) {
				t.Errorf("conflict message %q does not name the existing game %s", msg, first)
			}
			if n := len(s.Containers(second)); n != 0 {
				t.Errorf("%s got %d container(s) beside %s", second, n, first)
			}
			if n := len(s.Containers(first)); n != tc.containers {
				t.Errorf("%s has %d container(s) after the refusal, want %d", first, n, tc.containers)
			}
			expect(t, call(t, s, http.MethodGet, rt(second), nil), 404, "not_found")
			if after := call(t, s, http.MethodGet, rt(first), nil); !bytes.Equal(after.Raw, before.Raw) {
				t.Errorf("the refusal changed %s's record\nbefore: %s\nafter:  %s", first, before.Raw, after.Raw)
			}
		})
	}
}
