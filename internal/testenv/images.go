package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	imagesOnce sync.Once
	imagesErr  error
)

// BuildEngineImages makes sure the sample engine images exist, once per test
// process (scripts/engine-images.sh is idempotent and serialised across
// processes). It suits a TestMain, which has no testing.TB.
func BuildEngineImages() error {
	imagesOnce.Do(func() {
		_, self, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(self), "..", "..", "scripts", "engine-images.sh")
		if out, err := exec.Command("bash", script).CombinedOutput(); err != nil {
			imagesErr = fmt.Errorf("building the sample engine images: %w\n%s", err, out)
		}
	})
	return imagesErr
}

// EngineImages is BuildEngineImages for a test: a failure fails it.
func EngineImages(t testing.TB) {
	t.Helper()
	if err := BuildEngineImages(); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

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
