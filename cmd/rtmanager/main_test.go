package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/internal/testenv"
)

// binary builds rtmanager once per test process.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rtmanager-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "rtmanager")
		buildOut, buildErr = exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// process is one running rtmanager.
type process struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer
	done   chan error
}

func launch(t *testing.T, env map[string]string) *process {
	t.Helper()
	p := &process{addr: freeAddr(t), stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(binary(t))
	// The test run's deployment, never `default`: a real RTM on this host
	// and other test runs stay foreign to the process (contract §3).
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "RTMANAGER_INTERNAL_HTTP_ADDR=" + p.addr,
		"RTMANAGER_DEPLOYMENT=" + testenv.Deployment()}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, "RTMANAGER_"+k+"="+v)
	}
	p.cmd.Stderr = &lockedWriter{w: p.stderr}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// lockedWriter lets the test read stderr while the process writes it.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (p *process) get(t *testing.T, path string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + path)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var body map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &body)
	return resp.StatusCode, body
}

func (p *process) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if code, _ := p.get(t, "/healthz"); code == 200 {
			return
		}
		select {
		case err := <-p.done:
			t.Fatalf("rtmanager exited during boot: %v\n%s", err, p.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("rtmanager never answered /healthz\n%s", p.stderr)
}

// TestServiceProcess boots the real binary against local PostgreSQL, a
// private Redis and Docker: /healthz and /readyz answer 200 with every check
// ok, /metrics is served, stopping Redis turns /readyz into 503 naming redis,
// and SIGTERM exits 0.
func TestServiceProcess(t *testing.T) {
	testenv.Docker(t)
	rds := testenv.StartPrivateRedis(t)
	p := launch(t, map[string]string{
		"POSTGRES_PRIMARY_DSN": testenv.FreshSchema(t),
		"REDIS_MASTER_ADDR":    rds.Addr,
		"DOCKER_NETWORK":       testenv.DockerNetwork(),
		"GAME_STATE_ROOT":      t.TempDir(),
		"SHUTDOWN_TIMEOUT":     "5s",
	})
	p.waitHealthy(t)

	code, body := p.get(t, "/healthz")
	if code != 200 || body["status"] != "ok" {
		t.Errorf("/healthz: %d %v", code, body)
	}
	code, body = p.get(t, "/readyz")
	checks, _ := body["checks"].(map[string]any)
	if code != 200 || body["status"] != "ready" || checks["postgres"] != "ok" || checks["redis"] != "ok" || checks["docker"] != "ok" {
		t.Errorf("/readyz: %d %v", code, body)
	}
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(metrics, []byte("rtmanager_runtimes")) {
		t.Errorf("/metrics: %d, rtmanager_runtimes missing", resp.StatusCode)
	}

	rds.Stop()
	code, body = p.get(t, "/readyz")
	checks, _ = body["checks"].(map[string]any)
	if code != 503 || checks["redis"] == "ok" || checks["redis"] == nil || checks["postgres"] != "ok" || checks["docker"] != "ok" {
		t.Errorf("/readyz with Redis stopped: %d %v", code, body)
	}
	if code, _ := p.get(t, "/healthz"); code != 200 {
		t.Errorf("/healthz must stay 200 (liveness only), got %d", code)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30s of SIGTERM")
	}
}

// TestBootFailures: a bad configuration or an unusable dependency stops the
// process with a non-zero exit and a clear line, before any listener opens.
func TestBootFailures(t *testing.T) {
	testenv.Docker(t)
	cases := []struct {
		name, want string
		exit       int
		env        map[string]string
	}{
		{"invalid variable", "RTMANAGER_PROBE_INTERVAL", 2, map[string]string{"PROBE_INTERVAL": "often"}},
		{"missing docker network", "does not exist", 1, map[string]string{"DOCKER_NETWORK": "no-such-net-" + testenv.RandomHex(3)}},
		{"unreachable postgres", "postgres", 1, map[string]string{"POSTGRES_PRIMARY_DSN": "postgres://x:y@127.0.0.1:1/db?sslmode=disable&connect_timeout=2"}},
		{"unreachable docker", "docker", 1, map[string]string{"DOCKER_HOST": "unix:///nonexistent/docker.sock"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := launch(t, tc.env)
			select {
			case err := <-p.done:
				ee, ok := err.(*exec.ExitError)
				if !ok || ee.ExitCode() != tc.exit {
					t.Errorf("exit %v, want %d", err, tc.exit)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("still running")
			}
			out := strings.TrimSpace(p.stderr.String())
			if !strings.Contains(out, tc.want) || strings.Count(out, "\n") != 0 {
				t.Errorf("want one line mentioning %q, got:\n%s", tc.want, out)
			}
			if code, _ := p.get(t, "/healthz"); code != 0 {
				t.Errorf("a listener opened: %d", code)
			}
		})
	}
}
