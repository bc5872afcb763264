// Package archtest enforces the hexagonal dependency rule: core/ sees the
// world only through ports/, never through infrastructure packages.
package archtest

import (
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

func depsOf(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-test=false", pattern).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pattern, err, out)
	}
	return strings.Fields(string(out))
}

func TestCoreDependsOnNoInfrastructure(t *testing.T) {
	for _, dep := range depsOf(t, "github.com/galaxy/rtmanager/core/...") {
		for _, bad := range forbidden {
			if dep == bad || strings.HasPrefix(dep, bad) {
				t.Errorf("core depends on %s (matched %q); core may use only the standard library, ports/ and small pure libraries", dep, bad)
			}
		}
	}
}

func TestPortsDependOnNoInfrastructure(t *testing.T) {
	for _, dep := range depsOf(t, "github.com/galaxy/rtmanager/ports") {
		for _, bad := range forbidden {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("ports depends on %s", dep)
			}
		}
	}
}

// TestTheRuleCatchesAViolation proves the check can fail: an adapter package
// certainly reaches the Docker SDK.
func TestTheRuleCatchesAViolation(t *testing.T) {
	found := false
	for _, dep := range depsOf(t, "github.com/galaxy/rtmanager/internal/testenv") {
		if strings.HasPrefix(dep, "github.com/docker/") {
			found = true
		}
	}
	if !found {
		t.Fatal("expected testenv to depend on the Docker SDK; the dependency listing is not working")
	}
}
