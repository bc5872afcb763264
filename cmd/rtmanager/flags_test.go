package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/internal/config"
	"github.com/galaxy/rtmanager/internal/testenv"
)

// runOnce runs a binary to its end with only PATH and the given RTMANAGER_*
// variables set, and returns its output and exit status.
func runOnce(t *testing.T, bin string, env map[string]string, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, config.Prefix+k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q still running after 30s\n%s", bin, args, errb.String())
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		exit = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errb.String(), exit
}

// trap is a TCP listener that counts the connections it is offered and
// closes each at once.
func trap(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), &n
}

// TestHelpPrintsEveryVariableAndConnectsToNothing: --help, -h and -help
// print the usage and every variable with its default and meaning to stdout
// and exit 0 — without reading the configuration (an invalid variable does
// not matter) and without connecting to Docker, PostgreSQL or Redis, which
// all point at a trap. The same environment without a flag does knock on
// the trap, so the trap would have seen a connection.
func TestHelpPrintsEveryVariableAndConnectsToNothing(t *testing.T) {
	addr, knocks := trap(t)
	env := map[string]string{
		"DOCKER_HOST":          "tcp://" + addr,
		"POSTGRES_PRIMARY_DSN": "postgres://x:y@" + addr + "/db?sslmode=disable&connect_timeout=2",
		"REDIS_MASTER_ADDR":    addr,
		"INTERNAL_HTTP_ADDR":   freeAddr(t),
		"PROBE_INTERVAL":       "often",
	}
	bin := binary(t)
	var first string
	for _, flag := range []string{"--help", "-h", "-help"} {
		start := time.Now()
		stdout, stderr, exit := runOnce(t, bin, env, flag)
		if exit != 0 || stderr != "" {
			t.Errorf("%s: exit %d, stderr %q", flag, exit, stderr)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s took %v", flag, took)
		}
		if !strings.HasPrefix(stdout, "usage: rtmanager") {
			t.Errorf("%s: stdout does not start with the usage line:\n%s", flag, stdout)
		}
		for _, v := range config.Variables() {
			if want := "\n  " + config.Prefix + v.Name + "=" + v.Default + "\n        " + v.Meaning; !strings.Contains(stdout, want) {
				t.Errorf("%s: no %q", flag, want)
			}
		}
		if first == "" {
			first = stdout
		} else if stdout != first {
			t.Errorf("%s prints another text than --help", flag)
		}
	}
	if n := knocks.Load(); n != 0 {
		t.Fatalf("--help connected %d times", n)
	}

	delete(env, "PROBE_INTERVAL")
	if _, stderr, exit := runOnce(t, bin, env); exit == 0 || knocks.Load() == 0 {
		t.Fatalf("the control run: exit %d, %d connections; the trap proves nothing\n%s", exit, knocks.Load(), stderr)
	}
}

// TestUnknownFlagsAndArgumentsAreUsageErrors: exit 2 with the error and the
// usage line on stderr, nothing on stdout.
func TestUnknownFlagsAndArgumentsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"--bogus"}, {"-version=maybe"}, {"serve"}, {"--help", "extra"}} {
		stdout, stderr, exit := runOnce(t, binary(t), nil, args...)
		if args[0] == "--help" {
			// Help wins: flag parsing stops there.
			if exit != 0 {
				t.Errorf("%q: exit %d", args, exit)
			}
			continue
		}
		if exit != 2 || stdout != "" || !strings.HasPrefix(stderr, "rtmanager: ") || !strings.Contains(stderr, "usage: rtmanager") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, exit, stdout, stderr)
		}
	}
}

// TestVersionNamesTheRevision builds the binary in a fresh git repository
// holding this tree (Go stamps VCS information only where .git is a
// directory, not in a linked worktree), so --version must print the module
// version, that repository's revision, and "modified" once the tree differs
// from it.
func TestVersionNamesTheRevision(t *testing.T) {
	repo := copyTreeIntoRepo(t)
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@invalid"}, args...)...)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %q: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "snapshot")
	head := git("rev-parse", "HEAD")

	build := func() string {
		t.Helper()
		bin := filepath.Join(t.TempDir(), "rtmanager")
		// -trimpath keeps the temporary directory out of the build cache's
		// keys, so the packages compiled once are reused by later runs.
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=true", "-o", bin, "./cmd/rtmanager")
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		return bin
	}
	line := regexp.MustCompile(`^rtmanager \S+, revision ([0-9a-f]{40}), committed \S+(, modified)?, go\S+\n$`)

	stdout, stderr, exit := runOnce(t, build(), nil, "--version")
	m := line.FindStringSubmatch(stdout)
	if exit != 0 || stderr != "" || m == nil || m[1] != head || m[2] != "" {
		t.Fatalf("clean tree at %s: exit %d, stdout %q, stderr %q", head, exit, stdout, stderr)
	}

	if err := os.WriteFile(filepath.Join(repo, "README.md"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, exit = runOnce(t, build(), nil, "--version")
	if m := line.FindStringSubmatch(stdout); exit != 0 || m == nil || m[1] != head || m[2] == "" {
		t.Fatalf("modified tree: exit %d, stdout %q, want revision %s and modified", exit, stdout, head)
	}
}

// copyTreeIntoRepo copies the files git knows of (tracked and untracked, not
// ignored) into a temporary directory.
func copyTreeIntoRepo(t *testing.T) string {
	t.Helper()
	root := testenv.RepoRoot(t)
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, name := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(root, name))
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the working tree, not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestProbeSucceedsOnlyOn200: --probe is the image's health check, so a
// /readyz answering 503 (a dependency down) or nothing listening must fail
// it, and only a 200 passes.
func TestProbeSucceedsOnlyOn200(t *testing.T) {
	var status atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	closed, _ := trap(t)
	for _, tc := range []struct {
		name   string
		status int
		url    string
		want   int
	}{
		{"ready", http.StatusOK, srv.URL + "/readyz", 0},
		{"not ready", http.StatusServiceUnavailable, srv.URL + "/readyz", 1},
		{"nothing answers", http.StatusOK, "http://" + closed + "/readyz", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status.Store(int64(tc.status))
			var out, errb bytes.Buffer
			if got := run([]string{"--probe", tc.url}, &out, &errb); got != tc.want {
				t.Errorf("exit %d, want %d (stderr %q)", got, tc.want, errb.String())
			}
			if tc.want != 0 && !strings.HasPrefix(errb.String(), "rtmanager: probe: ") {
				t.Errorf("stderr %q does not say why the probe failed", errb.String())
			}
		})
	}
}
