package statedir_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/galaxy/rtmanager/adapters/statedir"
)

func newDirs(t *testing.T) (*statedir.Dirs, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "games")
	return statedir.New(statedir.Config{Root: root, Mode: 0o750, OwnerUID: os.Getuid(), OwnerGID: os.Getgid()}), root
}

func TestEnsureCreatesTheDirectoryWithTheConfiguredModeAndLeavesNoProbe(t *testing.T) {
	old := syscall.Umask(0o077) // a restrictive umask must not change the configured mode
	defer syscall.Umask(old)
	d, root := newDirs(t)

	got, err := d.Ensure(t.Context(), "g-1", "")

	if err != nil {
		t.Fatal(err)
	}
	if got.Path != filepath.Join(root, "g-1") || !got.Created {
		t.Errorf("Ensure = %+v, want the new directory %s", got, filepath.Join(root, "g-1"))
	}
	st, err := os.Stat(got.Path)
	if err != nil || !st.IsDir() || st.Mode().Perm() != 0o750 {
		t.Fatalf("state dir = %v, %v; want a 0750 directory", st, err)
	}
	if left, _ := os.ReadDir(got.Path); len(left) != 0 {
		t.Errorf("the writability check left %d entries in the state dir", len(left))
	}
}

func TestEnsureReusesAnExistingDirectoryWithoutTouchingItsContent(t *testing.T) {
	d, root := newDirs(t)
	path := filepath.Join(root, "g-1")
	if err := os.MkdirAll(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "save.dat"), []byte("turn 42"), 0o600); err != nil {
		t.Fatal(err)
	}

	got, err := d.Ensure(t.Context(), "g-1", "")

	if err != nil || got.Created || got.Path != path {
		t.Fatalf("Ensure = %+v, %v; want the existing directory, not created", got, err)
	}
	if b, err := os.ReadFile(filepath.Join(path, "save.dat")); err != nil || string(b) != "turn 42" {
		t.Errorf("game state = %q, %v; want it untouched", b, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o750 {
		t.Errorf("state dir mode = %v, want the configured 0750", st.Mode().Perm())
	}
}

func TestEnsureRefusesUnusablePlaces(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, root string) *statedir.Dirs
	}{
		{"root under a regular file", func(t *testing.T, root string) *statedir.Dirs {
			file := filepath.Join(filepath.Dir(root), "file")
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return statedir.New(statedir.Config{Root: filepath.Join(file, "games"), Mode: 0o750, OwnerUID: os.Getuid(), OwnerGID: os.Getgid()})
		}},
		{"game path taken by a regular file", func(t *testing.T, root string) *statedir.Dirs {
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "g-1"), []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
			return statedir.New(statedir.Config{Root: root, Mode: 0o750, OwnerUID: os.Getuid(), OwnerGID: os.Getgid()})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "games")
			d := tc.setup(t, root)
			if _, err := d.Ensure(t.Context(), "g-1", ""); err == nil {
				t.Fatal("Ensure succeeded on an unusable place")
			}
		})
	}
	t.Run("the regular file in the way is kept", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "games")
		_ = os.MkdirAll(root, 0o755)
		file := filepath.Join(root, "g-1")
		_ = os.WriteFile(file, []byte("keep"), 0o600)
		d := statedir.New(statedir.Config{Root: root, Mode: 0o750, OwnerUID: os.Getuid(), OwnerGID: os.Getgid()})
		_, _ = d.Ensure(t.Context(), "g-1", "")
		if b, err := os.ReadFile(file); err != nil || string(b) != "keep" {
			t.Errorf("file = %q, %v; want it kept", b, err)
		}
	})
}

func TestEnsureRefusesAnIDThatIsNotOnePathSegment(t *testing.T) {
	d, _ := newDirs(t)
	for _, id := range []string{"", ".", "..", "a/b", "../x"} {
		if _, err := d.Ensure(t.Context(), id, ""); err == nil {
			t.Errorf("Ensure(%q) succeeded", id)
		}
	}
}

func TestRemoveIfEmptyTakesBackOnlyAnEmptyStateDirectory(t *testing.T) {
	d, root := newDirs(t)
	empty, _ := d.Ensure(t.Context(), "empty", "")
	full, _ := d.Ensure(t.Context(), "full", "")
	if err := os.WriteFile(filepath.Join(full.Path, "save.dat"), []byte("turn 1"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}

	if err := d.RemoveIfEmpty(t.Context(), empty.Path); err != nil {
		t.Errorf("empty: %v", err)
	}
	if err := d.RemoveIfEmpty(t.Context(), full.Path); err != nil {
		t.Errorf("full: %v", err)
	}
	if err := d.RemoveIfEmpty(t.Context(), filepath.Join(root, "gone")); err != nil {
		t.Errorf("already gone: %v", err)
	}
	if err := d.RemoveIfEmpty(t.Context(), file); err == nil {
		t.Error("a regular file was accepted as a state directory")
	}
	if err := d.RemoveIfEmpty(t.Context(), filepath.Dir(root)); err == nil {
		t.Error("a directory outside the root was accepted")
	}

	if _, err := os.Stat(empty.Path); !os.IsNotExist(err) {
		t.Errorf("empty directory still there: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(full.Path, "save.dat")); err != nil || string(b) != "turn 1" {
		t.Errorf("a directory holding state was touched: %q, %v", b, err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("regular file removed: %v", err)
	}
}
