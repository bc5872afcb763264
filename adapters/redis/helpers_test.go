package redis

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/internal/testenv"
)

// sharedRedis is the test Redis; every key named by key() is deleted when the
// test ends.
type sharedRedis struct {
	*goredis.Client
	t *testing.T
}

func newSharedRedis(t *testing.T) sharedRedis {
	return sharedRedis{Client: testenv.Redis(t), t: t}
}

// key returns a unique key and deletes it at the end of the test.
func (r sharedRedis) key(prefix string) string {
	k := "rtmtest:" + testenv.UniqueName(prefix)
	r.cleanup(k)
	return k
}

func (r sharedRedis) cleanup(keys ...string) {
	r.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Del(ctx, keys...).Err(); err != nil {
			r.t.Errorf("cleanup %v: %v", keys, err)
		}
	})
}

// uniqueGame returns a game id whose lease key is deleted at the end of the test.
func (r sharedRedis) uniqueGame(prefix string) string {
	id := testenv.UniqueName(prefix)
	r.cleanup(LeaseKey(id))
	return id
}

// testNames returns stream names private to this test.
func (r sharedRedis) testNames() StreamNames {
	return StreamNames{
		StartJobs:           r.key("start"),
		StopJobs:            r.key("stop"),
		JobResults:          r.key("results"),
		HealthEvents:        r.key("health"),
		NotificationIntents: r.key("intents"),
		DeadLetters:         r.key("dead"),
	}
}

// privateRedis is a redis-server of the test's own, which the test may pause
// or kill without disturbing anyone else.
type privateRedis struct {
	addr string
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T) *privateRedis {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server is required: %v", err)
	}
	p := &privateRedis{addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd}
	t.Cleanup(p.kill)
	c := goredis.NewClient(&goredis.Options{Addr: p.addr})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("private redis-server on %s did not start", p.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

func (p *privateRedis) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
