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
	cmd  *exec.Cmd
}

// StartPrivateRedis runs redis-server on a free loopback port until the test ends.
func StartPrivateRedis(t testing.TB) *PrivateRedis {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	p := &PrivateRedis{Addr: "127.0.0.1:" + strconv.Itoa(port)}
	t.Cleanup(p.Stop)
	p.Start(t)
	return p
}

// Start runs the server (again, after Stop) on its address and waits until it answers.
func (p *PrivateRedis) Start(t testing.TB) {
	t.Helper()
	_, port, _ := net.SplitHostPort(p.Addr)
	p.cmd = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
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

// Stop kills the server (idempotent).
func (p *PrivateRedis) Stop() {
	if p.cmd == nil || p.cmd.Process == nil || p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}
