package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	imagesOnce sync.Once
	imagesErr  error
	imagesOut  []byte
)

// RepoRoot walks up from the working directory to the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// EngineImages makes sure the sample engine images exist (scripts/engine-images.sh
// is idempotent and serialised across test processes).
func EngineImages(t testing.TB) {
	t.Helper()
	imagesOnce.Do(func() {
		cmd := exec.Command("bash", filepath.Join(RepoRoot(t), "scripts", "engine-images.sh"))
		imagesOut, imagesErr = cmd.CombinedOutput()
	})
	if imagesErr != nil {
		t.Fatalf("testenv: building the sample engine images: %v\n%s", imagesErr, imagesOut)
	}
}
