// Package archtest enforces the hexagonal dependency rule: core/ sees the
// world only through ports/, never through infrastructure packages, and does
// no filesystem, process or network work of its own.
package archtest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// forbidden are import-path prefixes core must not reach, directly or transitively.
var forbidden = []string{
	"github.com/docker/",
	"github.com/moby/",
	"github.com/jackc/pgx",
	"github.com/redis/go-redis",
	"net/http", // covers net/http servers and every net/http/* package
	"github.com/galaxy/rtmanager/adapters",
	"github.com/galaxy/rtmanager/di",
}

// worldly are the standard packages that touch the operating system: the
// filesystem, processes, syscalls, the network, randomness from the kernel.
// No package of core, and no non-standard package core depends on, may
// import them. The standard library's own pure packages (fmt, log/slog …)
// reach os internally; that is theirs, not a way for core to do I/O.
var worldly = []string{
	"os", "os/", "syscall", "path/filepath", "io/ioutil", "net", "net/",
	"crypto/rand", "plugin", "unsafe", "runtime/cgo", "golang.org/x/sys/",
}

func isWorldly(imp string) bool {
	for _, w := range worldly {
		if imp == w || (strings.HasSuffix(w, "/") && strings.HasPrefix(imp, w)) {
			return true
		}
	}
	return false
}

// pkg is one package of a dependency listing.
type pkg struct {
	path     string
	standard bool
	imports  []string
}

func listDeps(t *testing.T, pattern string) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-test=false", "-f", "{{.ImportPath}} {{.Standard}} {{join .Imports \" \"}}", pattern)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pattern, err, out)
	}
	var pkgs []pkg
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkgs = append(pkgs, pkg{path: f[0], standard: f[1] == "true", imports: f[2:]})
	}
	return pkgs
}

func TestCoreDependsOnNoInfrastructure(t *testing.T) {
	for _, dep := range listDeps(t, "github.com/galaxy/rtmanager/core/...") {
		for _, bad := range forbidden {
			if dep.path == bad || strings.HasPrefix(dep.path, bad) {
				t.Errorf("core depends on %s (matched %q); core may use only the standard library, ports/ and small pure libraries", dep.path, bad)
			}
		}
	}
}

func TestPortsDependOnNoInfrastructure(t *testing.T) {
	for _, dep := range listDeps(t, "github.com/galaxy/rtmanager/ports") {
		for _, bad := range forbidden {
			if strings.HasPrefix(dep.path, bad) {
				t.Errorf("ports depends on %s", dep.path)
			}
		}
	}
}

// worldlyImports lists "importer → import" for every non-standard package in
// pattern's dependencies that imports a worldly standard package.
func worldlyImports(t *testing.T, pattern string) []string {
	var found []string
	for _, dep := range listDeps(t, pattern) {
		if dep.standard {
			continue
		}
		for _, imp := range dep.imports {
			if isWorldly(imp) {
				found = append(found, dep.path+" → "+imp)
			}
		}
	}
	return found
}

func TestCoreDoesNoOperatingSystemWork(t *testing.T) {
	for _, v := range worldlyImports(t, "github.com/galaxy/rtmanager/core/...") {
		t.Errorf("%s: core reaches the filesystem, processes or the network only through ports/", v)
	}
}

// The core builds for any operating system: nothing in it is platform code.
func TestCoreBuildsForEveryOperatingSystem(t *testing.T) {
	for _, goos := range []string{"windows", "darwin"} {
		cmd := exec.Command("go", "build", "./core/...")
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("GOOS=%s go build ./core/...: %v\n%s", goos, err, out)
		}
	}
}

// TestTheRulesCatchViolations proves the checks can fail: an adapter package
// certainly reaches the Docker SDK, and the state directory adapter does
// filesystem and syscall work.
func TestTheRulesCatchViolations(t *testing.T) {
	found := false
	for _, dep := range listDeps(t, "github.com/galaxy/rtmanager/internal/testenv") {
		if strings.HasPrefix(dep.path, "github.com/docker/") {
			found = true
		}
	}
	if !found {
		t.Error("expected testenv to depend on the Docker SDK; the dependency listing is not working")
	}
	got := strings.Join(worldlyImports(t, "github.com/galaxy/rtmanager/adapters/statedir"), "\n")
	for _, want := range []string{"adapters/statedir → os", "adapters/statedir → syscall", "adapters/statedir → path/filepath"} {
		if !strings.Contains(got, want) {
			t.Errorf("the operating-system rule missed %q; it found:\n%s", want, got)
		}
	}
}
