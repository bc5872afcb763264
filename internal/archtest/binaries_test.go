package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

// binaries are the commands this repository ships.
var binaries = []string{
	"github.com/galaxy/rtmanager/cmd/rtmanager",
	"github.com/galaxy/rtmanager/cmd/rtmctl",
}

// testSupport are the import paths (each with everything under it) that only
// tests may link: the testing packages register flags and pull test machinery
// into whatever imports them, and internal/testenv (with dockertest) starts
// and removes real containers, schemas and keys.
var testSupport = []string{
	"testing",
	"github.com/galaxy/rtmanager/internal/testenv",
}

func isTestSupport(path string) bool {
	for _, root := range testSupport {
		if path == root || strings.HasPrefix(path, root+"/") {
			return true
		}
	}
	return false
}

// testSupportImports returns "pkg imports dep" for every package the
// non-test build of pattern links that imports test support, and fails the
// test unless pattern itself is among the packages listed (so a listing that
// went wrong cannot pass as a clean one).
func testSupportImports(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-test=false",
		"-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, pattern).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pattern, err, out)
	}
	listed := false
	var found []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg := fields[0]
		listed = listed || pkg == pattern
		for _, dep := range fields[1:] {
			if isTestSupport(dep) {
				found = append(found, pkg+" imports "+dep)
			}
		}
	}
	if !listed {
		t.Fatalf("go list -deps %s did not list %s itself:\n%s", pattern, pattern, out)
	}
	return found
}

// TestBinariesLinkNoTestSupport: test helpers are ordinary packages (a
// TestMain or another package's tests use them), so only this check keeps
// them, and the testing package, out of the shipped binaries.
func TestBinariesLinkNoTestSupport(t *testing.T) {
	for _, bin := range binaries {
		for _, v := range testSupportImports(t, bin) {
			t.Errorf("%s links test support: %s", bin, v)
		}
	}
}

// TestTheBinaryRuleCatchesAViolation proves the check can fail: dockertest
// imports both testing and internal/testenv.
func TestTheBinaryRuleCatchesAViolation(t *testing.T) {
	const pkg = "github.com/galaxy/rtmanager/internal/testenv/dockertest"
	got := strings.Join(testSupportImports(t, pkg), "\n")
	for _, want := range []string{
		pkg + " imports testing",
		pkg + " imports github.com/galaxy/rtmanager/internal/testenv",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the check missed %q; it reported:\n%s", want, got)
		}
	}
}
