package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dockerclient "github.com/docker/docker/client"
	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/adapters/redis"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/ports"
)

// TestKilledMidStartLeavesNothingUnrecoverable kills the service with SIGKILL
// while a start waits for its engine, then boots a fresh process: once the
// dead holder's lease expires the next start replaces the half-made
// container, so the game ends with exactly one container and a record that
// names it.
func TestKilledMidStartLeavesNothingUnrecoverable(t *testing.T) {
	d := testenv.Docker(t)
	testenv.EngineImages(t)
	rdb := testenv.Redis(t)
	gameID := testenv.UniqueName("crash")
	listGame := gameContainers(t, d, rdb, gameID)
	env := map[string]string{
		"POSTGRES_PRIMARY_DSN":   testenv.FreshSchema(t),
		"REDIS_MASTER_ADDR":      testenv.RedisAddr(),
		"DOCKER_NETWORK":         testenv.DockerNetwork(),
		"GAME_STATE_ROOT":        t.TempDir(),
		"ENGINE_ADDRESS":         "container_ip",
		"ENGINE_READY_TIMEOUT":   "60s",
		"GAME_LEASE_TTL_SECONDS": "2",
	}
	startURL := func(p *process) string { return "http://" + p.addr + "/api/v1/internal/runtimes/" + gameID + "/start" }
	post := func(url, ref string) (int, map[string]any) {
		resp, err := http.Post(url, "application/json", strings.NewReader(`{"image_ref":"`+ref+`"}`))
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}

	a := launch(t, env)
	a.waitHealthy(t)
	go post(startURL(a), "galaxy/game:1.0.2-neverready") // never gets ready: A is mid-start until killed
	deadline := time.Now().Add(30 * time.Second)
	for len(listGame()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("process A never created the container")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done

	b := launch(t, env)
	b.waitHealthy(t)
	var code int
	var rec map[string]any
	deadline = time.Now().Add(30 * time.Second)
	for {
		code, rec = post(startURL(b), "galaxy/game:1.0.0")
		if code != http.StatusConflict || time.Now().After(deadline) {
			break // 409 only while the dead holder's lease lives
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code != 200 || rec["status"] != "running" {
		t.Fatalf("start after the crash: %d %v", code, rec)
	}
	cs := listGame()
	if len(cs) != 1 || cs[0].ID != rec["current_container_id"] || cs[0].Image != "galaxy/game:1.0.0" || cs[0].State != "running" {
		t.Errorf("want exactly the recorded 1.0.0 container, got %+v", cs)
	}
}

// gameContainers returns a lister of the game's containers (any state) and
// registers their removal, with the game's lease, for when the test ends.
func gameContainers(t *testing.T, d *dockerclient.Client, rdb *goredis.Client, gameID string) func() []container.Summary {
	list := func() []container.Summary {
		t.Helper()
		return testenv.Containers(t, d, filters.NewArgs(filters.Arg("label", ports.LabelGameID+"="+gameID)))
	}
	t.Cleanup(func() {
		for _, c := range list() {
			_ = d.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
		}
		rdb.Del(context.Background(), redis.LeaseKey(gameID))
	})
	return list
}
