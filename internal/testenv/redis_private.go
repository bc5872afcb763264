package testenv

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// PrivateRedis is a redis-server of one test's own, which it may stop
// without disturbing anyone else.
type PrivateRedis struct {
	Addr string
	// dir, when set, is where the server keeps its append-only file: what
	// it acknowledged survives a restart.
	dir string
	cmd *exec.Cmd
}

// StartPrivateRedis runs redis-server on a free loopback port until the test
// ends. It keeps nothing on disk: a restart starts empty.
func StartPrivateRedis(t testing.TB) *PrivateRedis {
	t.Helper()
	return startPrivateRedis(t, "")
}

// StartPrivateRedisPersistent is StartPrivateRedis with persistence: an
// append-only file fsynced after every write, in a directory of the test's,
// so a server stopped (even killed) and started again holds every write it
// acknowledged — streams, consumer groups and their pending entries.
func StartPrivateRedisPersistent(t testing.TB) *PrivateRedis {
	t.Helper()
	return startPrivateRedis(t, t.TempDir())
}

func startPrivateRedis(t testing.TB, dir string) *PrivateRedis {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	p := &PrivateRedis{Addr: "127.0.0.1:" + strconv.Itoa(port), dir: dir}
	t.Cleanup(p.Stop)
	p.Start(t)
	return p
}

// Start runs the server (again, after Stop or Shutdown) on its address — and
// its data directory, when it has one — and waits until it answers.
func (p *PrivateRedis) Start(t testing.TB) {
	t.Helper()
	_, port, _ := net.SplitHostPort(p.Addr)
	args := []string{"--port", port, "--bind", "127.0.0.1", "--save", ""}
	if p.dir != "" {
		args = append(args, "--dir", p.dir, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	p.cmd = exec.Command("redis-server", args...)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("testenv: redis-server is required (run `make deps`): %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: p.Addr})
	defer c.Close()
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if i == 100 {
			t.Fatalf("testenv: private redis-server did not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Shutdown stops the server the way an operator does, with the SHUTDOWN
// command (which flushes the append-only file), and waits for it to exit.
func (p *PrivateRedis) Shutdown(t testing.TB) {
	t.Helper()
	if p.cmd == nil || p.cmd.Process == nil || p.cmd.ProcessState != nil {
		return
	}
	c := redis.NewClient(&redis.Options{Addr: p.Addr, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The server closes the connection instead of answering; go-redis reports
	// that as success, and any other error shows in the exit below.
	if err := c.Shutdown(ctx).Err(); err != nil {
		t.Logf("testenv: SHUTDOWN: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("testenv: redis-server after SHUTDOWN: %v", err)
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
		t.Fatal("testenv: redis-server still running 30s after SHUTDOWN; killed it")
	}
}

// Stop kills the server (idempotent).
func (p *PrivateRedis) Stop() {
	if p.cmd == nil || p.cmd.Process == nil || p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}
