package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/galaxy/rtmanager/internal/testenv"
)

func TestBeyondLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		":8096":               true,
		"0.0.0.0:8096":        true,
		"[::]:8096":           true,
		"10.1.2.3:8096":       true,
		"192.168.1.10:80":     true,
		"[2001:db8::1]:8096":  true,
		"[fe80::1%eth0]:8096": true, // a zone makes it no plain IP: treated as a name
		"rtm.internal:8096":   true, // a name may resolve to anything
		"127.0.0.1:8096":      false,
		"127.0.0.2:8096":      false,
		"[::1]:8096":          false,
		"localhost:8096":      false,
	} {
		if got := beyondLoopback(addr); got != want {
			t.Errorf("beyondLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestTheBinaryWarnsWhenTheAPIIsExposedWithoutAToken: listening beyond
// loopback without a token logs one WARN line at boot, before any dependency
// is tried (Docker is unreachable here, so boot then fails); loopback or a
// token logs none.
func TestTheBinaryWarnsWhenTheAPIIsExposedWithoutAToken(t *testing.T) {
	port := freeAddr(t)[len("127.0.0.1:"):]
	for _, tc := range []struct {
		name string
		env  map[string]string
		warn bool
	}{
		{"all interfaces, no token", map[string]string{"INTERNAL_HTTP_ADDR": ":" + port}, true},
		{"unspecified IPv4, no token", map[string]string{"INTERNAL_HTTP_ADDR": "0.0.0.0:" + port}, true},
		{"all interfaces with a token", map[string]string{"INTERNAL_HTTP_ADDR": ":" + port, "INTERNAL_TOKEN": "s3cret"}, false},
		{"loopback, no token", map[string]string{"INTERNAL_HTTP_ADDR": "127.0.0.1:" + port}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
			_, stderr, exit := runOnce(t, binary(t), tc.env)
			if exit != 1 {
				t.Fatalf("exit %d, want 1 (Docker unreachable)\n%s", exit, stderr)
			}
			warnings := 0
			for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
				var entry map[string]any
				if err := json.Unmarshal([]byte(line), &entry); err != nil {
					t.Fatalf("not a JSON log line: %q", line)
				}
				if entry["level"] == "WARN" && strings.Contains(entry["msg"].(string), "RTMANAGER_INTERNAL_TOKEN") {
					warnings++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tc.warn]; warnings != want {
				t.Errorf("%d exposure warnings, want %d\n%s", warnings, want, stderr)
			}
		})
	}
}

// TestMakeRunListensOnLoopback evaluates the environment `make run` gives the
// binary: the API listens on loopback unless the operator exports another
// address.
func TestMakeRunListensOnLoopback(t *testing.T) {
	cmd := exec.Command("make", "-n", "run")
	cmd.Dir = testenv.RepoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make -n run: %v", err)
	}
	var line string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasSuffix(l, "./bin/rtmanager") {
			line = strings.TrimSuffix(l, "./bin/rtmanager") + "env"
		}
	}
	if line == "" {
		t.Fatalf("make -n run runs no ./bin/rtmanager:\n%s", out)
	}
	addrOf := func(env ...string) string {
		t.Helper()
		sh := exec.Command("bash", "-c", line)
		sh.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
		out, err := sh.Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(kv, "RTMANAGER_INTERNAL_HTTP_ADDR="); ok {
				return v
			}
		}
		return "nothing (the binary's default)"
	}
	if got := addrOf(); got != "127.0.0.1:8096" || beyondLoopback(got) {
		t.Errorf("make run listens on %s, want 127.0.0.1:8096", got)
	}
	if got := addrOf("RTMANAGER_INTERNAL_HTTP_ADDR=:9000"); got != ":9000" {
		t.Errorf("an exported address is replaced by %s", got)
	}
}
