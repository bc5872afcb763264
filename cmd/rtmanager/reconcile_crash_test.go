package main

import (
	"context"
	"maps"
	"math/rand/v2"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/galaxy/rtmanager/adapters/redis"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/internal/testenv/dockertest"
)

// crashOps is how many lifecycle operations the crash test cuts short.
const crashOps = 30

// TestKilledAtRandomPointsTheBootPassLeavesEveryGameDrivable: 30 lifecycle
// operations (start, stop, restart, patch, cleanup) on a few games, each
// cut short by SIGKILL of the process at a random moment, a fresh process
// launched after each kill. Then one more process boots; once its boot
// reconcile pass has run (it serves only after it), every game has at most
// one container, every container of ours has a record naming it, every
// record agrees with Docker, and every game can be driven again. The seed is
// logged, so a failure can be replayed.
func TestKilledAtRandomPointsTheBootPassLeavesEveryGameDrivable(t *testing.T) {
	d := testenv.Docker(t)
	testenv.EngineImages(t)
	rdb := testenv.Redis(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, seed))
	prefix := "rtmtest:" + testenv.UniqueName("reccrash") + ":"
	testenv.DeleteKeysAtEnd(t, rdb, prefix)
	env := map[string]string{
		"POSTGRES_PRIMARY_DSN":           testenv.FreshSchema(t),
		"REDIS_MASTER_ADDR":              testenv.RedisAddr(),
		"DOCKER_NETWORK":                 testenv.DockerNetwork(),
		"GAME_STATE_ROOT":                t.TempDir(),
		"ENGINE_ADDRESS":                 "container_ip",
		"ENGINE_READY_TIMEOUT":           "30s",
		"CONTAINER_STOP_TIMEOUT_SECONDS": "1",
		"GAME_LEASE_TTL_SECONDS":         "1",
		"RECONCILE_GRACE":                "0s",
		"GAME_STATE_OWNER_UID":           "0",
		"GAME_STATE_OWNER_GID":           "0",
	}
	maps.Copy(env, testenv.StreamEnv(prefix))
	games := make([]string, 4)
	lists := map[string]func() []container.Summary{}
	for i := range games {
		games[i] = testenv.UniqueName("rc")
		lists[games[i]] = gameContainers(t, d, rdb, games[i])
	}

	for i := range crashOps {
		p := launch(t, env)
		p.waitHealthy(t)
		game := games[rnd.IntN(len(games))]
		op, body := randomOp(rnd)
		go p.call(http.MethodPost, "/api/v1/internal/runtimes/"+game+"/"+op, body)
		// Anywhere from before the request arrives to after a start's
		// readiness gate (a start here takes a few hundred ms).
		time.Sleep(time.Duration(rnd.IntN(800)) * time.Millisecond)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.done
		t.Logf("%2d: %s %s, killed; its boot pass: %s", i, op, game, bootPass(p))
	}
	// The dead processes' leases expire (1 s), so the boot pass can take
	// every game.
	for _, g := range games {
		for rdb.Exists(context.Background(), redis.LeaseKey(g)).Val() != 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}

	p := launch(t, env)
	p.waitHealthy(t) // the boot pass has run
	t.Logf("last boot pass: %s", bootPass(p))

	for _, g := range games {
		cs := lists[g]()
		code, rec := p.get(t, "/api/v1/internal/runtimes/"+g)
		status, _ := rec["status"].(string)
		switch {
		case len(cs) > 1:
			t.Errorf("%s has %d containers: %v", g, len(cs), cs)
		case len(cs) == 1 && (code != 200 || rec["current_container_id"] != cs[0].ID || status == "removed"):
			t.Errorf("%s: container %s (%s) is not the one its record names: %d %v", g, cs[0].ID, cs[0].State, code, rec)
		case len(cs) == 1 && (status == "running") != (cs[0].State == "running"):
			t.Errorf("%s: record %s, container %s", g, status, cs[0].State)
		case len(cs) == 0 && code == 200 && status != "removed":
			t.Errorf("%s: record %v, and no container", g, rec)
		}
	}
	for _, g := range games {
		drive(t, p, g)
	}
}

// randomOp picks a lifecycle operation and its body.
func randomOp(rnd *rand.Rand) (string, string) {
	switch rnd.IntN(5) {
	case 0, 1: // starts are what make containers: twice as likely
		return "start", `{"image_ref":"` + dockertest.Image100 + `"}`
	case 2:
		return "stop", `{"reason":"admin_request"}`
	case 3:
		return "restart", `{}`
	default:
		if rnd.IntN(2) == 0 {
			return "patch", `{"image_ref":"` + dockertest.Image101 + `"}`
		}
		return "cleanup", `{}`
	}
}

// drive stops the game if it runs, then starts and stops it, each answered 200.
func drive(t *testing.T, p *process, g string) {
	t.Helper()
	base := "/api/v1/internal/runtimes/" + g
	if _, rec := p.get(t, base); rec["status"] == "running" {
		if code := p.call(http.MethodPost, base+"/stop", `{"reason":"admin_request"}`); code != 200 {
			t.Errorf("%s: stop answered %d", g, code)
		}
	}
	if code := p.call(http.MethodPost, base+"/start", `{"image_ref":"`+dockertest.Image100+`"}`); code != 200 {
		t.Errorf("%s: start answered %d", g, code)
	}
	if code := p.call(http.MethodPost, base+"/stop", `{"reason":"admin_request"}`); code != 200 {
		t.Errorf("%s: stop answered %d", g, code)
	}
}

// call sends a JSON request and returns the status, 0 when it got none.
func (p *process) call(method, path, body string) int {
	req, err := http.NewRequest(method, "http://"+p.addr+path, strings.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// bootPass is the process's log line about its boot reconcile pass.
func bootPass(p *process) string {
	w := p.cmd.Stderr.(*lockedWriter) // the process may still be writing
	w.mu.Lock()
	out := w.w.String()
	w.mu.Unlock()
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"msg":"reconcile pass"`) {
			return line
		}
	}
	return "none logged"
}
