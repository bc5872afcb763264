package api_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/galaxy/rtmanager/internal/testenv"
)

// TestGeneratedCodeIsCurrent runs each //go:generate directive of the
// contract with its output redirected to a temporary file and compares the
// result with the committed file byte for byte: the committed code must be
// what the pinned generator makes of the current api/openapi.yaml.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	root := testenv.RepoRoot(t)
	for _, dir := range []string{"api", "adapters/httpapi"} {
		t.Run(dir, func(t *testing.T) {
			pkgDir := filepath.Join(root, dir)
			args := generateDirective(t, filepath.Join(pkgDir, "generate.go"))
			fresh := filepath.Join(t.TempDir(), "fresh.go")
			committed := ""
			for i, a := range args {
				if a == "-o" && i+1 < len(args) {
					committed, args[i+1] = filepath.Join(pkgDir, args[i+1]), fresh
				}
			}
			if committed == "" {
				t.Fatalf("the directive %q has no -o", args)
			}
			cmd := exec.CommandContext(t.Context(), args[0], args[1:]...)
			cmd.Dir = pkgDir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%q: %v\n%s", args, err, out)
			}
			want, err := os.ReadFile(committed)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(fresh)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s is stale: run go generate ./%s", committed, dir)
			}
		})
	}
}

// generateDirective returns the arguments of the only //go:generate line of
// file.
func generateDirective(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var found []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "//go:generate "); ok {
			if found != nil {
				t.Fatalf("%s: more than one //go:generate line", file)
			}
			found = strings.Fields(rest)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if found == nil {
		t.Fatalf("%s: no //go:generate line", file)
	}
	return found
}
