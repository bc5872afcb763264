package integration

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	swarmtypes "github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/adapters/redis"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/internal/testenv/dockertest"
)

// TestRTMFromItsImageOnTheOverlayRunsAStartJob: RTM runs from the image
// `make image` builds, as a container on the engines' overlay network (as
// deploy/stack.yml runs it), with the Docker socket mounted, PostgreSQL and
// Redis on the host, RUNTIME=swarm and ENGINE_ADDRESS=endpoint. A start job
// written to its start_jobs stream yields a success result naming the
// engine's DNS endpoint and a running task of the game's service: RTM only
// reports success once the engine answered its probe at that endpoint, which
// from inside the overlay resolves by the service's DNS name alone.
func TestRTMFromItsImageOnTheOverlayRunsAStartJob(t *testing.T) {
	t.Parallel()
	env := testenv.Swarm(t)
	testenv.EngineImages(t)
	ref := rtmImage(t)
	rdb := testenv.Redis(t)

	// The container reaches the host at docker_gwbridge's gateway (the
	// bridge every overlay container also sits on); the shared servers
	// listen on loopback only, so a relay on that address passes the
	// connections on (docs/decisions.md "RTM as an image").
	gw := gatewayOf(t, env.Docker, "docker_gwbridge")
	dsn, err := url.Parse(testenv.FreshSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	dsn.Host = relay(t, gw, dsn.Host)
	prefix := "rtmtest:" + testenv.UniqueName("image") + ":"
	testenv.DeleteKeysAtEnd(t, rdb, prefix)
	streams := testenv.StreamEnv(prefix)
	vars := map[string]string{
		"RUNTIME":        "swarm",
		"ENGINE_ADDRESS": "endpoint",
		"DOCKER_NETWORK": env.Network,
		// Its own deployment: with the run's, its reconciler would take the
		// services of the in-process RTMs of this test run for its own.
		"DEPLOYMENT":           testenv.UniqueName("image"),
		"POSTGRES_PRIMARY_DSN": dsn.String(),
		"REDIS_MASTER_ADDR":    relay(t, gw, testenv.RedisAddr()),
		"LOG_FORMAT":           "text",
	}
	for k, v := range streams {
		vars[k] = v
	}
	// Registered before RTM's container, so it runs after RTM is gone.
	id := testenv.UniqueName("image")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := testenv.RemoveSwarmGameOfRTMImage(ctx, env.Docker, id); err != nil {
			t.Errorf("remove swarm game %s: %v", id, err)
		}
		rdb.Del(ctx, redis.LeaseKey(id))
	})
	rtm := runRTM(t, env, ref, vars)

	ctx := t.Context()
	if err := rdb.XAdd(ctx, &goredis.XAddArgs{Stream: streams["STREAM_START_JOBS"], Values: []string{
		"game_id", id, "image_ref", dockertest.Image100, "requested_at_ms", now(),
	}}).Err(); err != nil {
		t.Fatal(err)
	}

	res := awaitResult(t, env.Docker, rdb, rtm, streams["STREAM_JOB_RESULTS"], id)
	if res["outcome"] != "success" {
		t.Fatalf("start job result %v, want success\nRTM's log:\n%s", res, logsOf(env.Docker, rtm))
	}
	if want := "http://galaxy-game-" + id + ":8080"; res["engine_endpoint"] != want {
		t.Errorf("engine_endpoint %q, want %q", res["engine_endpoint"], want)
	}
	tasks, err := env.Docker.TaskList(ctx, swarmtypes.TaskListOptions{Filters: filters.NewArgs(
		filters.Arg("service", "galaxy-game-"+id), filters.Arg("desired-state", "running"))})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].Status.State != swarmtypes.TaskStateRunning {
		t.Errorf("tasks of the game's service %+v, want one running", tasks)
	}
	// The image's HEALTHCHECK (rtmanager --probe of /readyz) passes: the
	// scratch image can check itself, and /readyz sees all dependencies.
	if h := awaitHealth(t, env.Docker, rtm); h != container.Healthy {
		t.Errorf("RTM's container health %q, want healthy\n%s", h, logsOf(env.Docker, rtm))
	}
}

// awaitHealth waits until the container's health check has decided
// (healthy or unhealthy) and returns the decision.
func awaitHealth(t *testing.T, cli *client.Client, id string) container.HealthStatus {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		c, err := cli.ContainerInspect(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if c.State.Health == nil {
			t.Fatal("RTM's image has no health check")
		}
		if s := c.State.Health.Status; s == container.Healthy || s == container.Unhealthy {
			return s
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatal("RTM's health check did not decide in 2 minutes")
	return ""
}

// rtmImage builds RTM's image (scripts/rtm-image.sh, a no-op when it is up
// to date) and returns its reference.
func rtmImage(t *testing.T) string {
	t.Helper()
	script := filepath.Join(testenv.RepoRoot(t), "scripts", "rtm-image.sh")
	var out, errb bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("make image: %v\n%s", err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// gatewayOf is the host's address on a bridge network.
func gatewayOf(t *testing.T, cli *client.Client, name string) string {
	t.Helper()
	n, err := cli.NetworkInspect(t.Context(), name, network.InspectOptions{})
	if err != nil {
		t.Fatalf("inspect %s: %v", name, err)
	}
	for _, c := range n.IPAM.Config {
		if ip := net.ParseIP(c.Gateway); ip != nil && ip.To4() != nil {
			return c.Gateway
		}
	}
	t.Fatalf("%s has no IPv4 gateway: %+v", name, n.IPAM.Config)
	return ""
}

// relay listens on host (any port) and copies each connection to and from
// target, until the test ends; it returns the address it listens on.
func relay(t *testing.T, host, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("relay to %s: %v", target, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(out, in); out.Close() }()
			go func() { defer wg.Done(); io.Copy(in, out); in.Close() }()
		}
	}()
	return ln.Addr().String()
}

// runRTM runs RTM's image as a container on the test's overlay network with
// the Docker socket mounted and the given RTMANAGER_* variables; it is
// removed when the test ends.
func runRTM(t *testing.T, env testenv.SwarmEnv, ref string, vars map[string]string) string {
	t.Helper()
	ctx := t.Context()
	var envList []string
	for k, v := range vars {
		envList = append(envList, "RTMANAGER_"+k+"="+v)
	}
	c, err := env.Docker.ContainerCreate(ctx, &container.Config{
		Image: ref, Env: envList, Labels: map[string]string{testenv.RunLabel: testenv.RunID()},
	}, &container.HostConfig{
		Mounts: []mount.Mount{{Type: mount.TypeBind, Source: "/var/run/docker.sock", Target: "/var/run/docker.sock"}},
	}, &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{env.Network: {}}},
		nil, testenv.UniqueName("rtm-image"))
	if err != nil {
		t.Fatalf("create RTM's container: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := env.Docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Errorf("remove RTM's container: %v", err)
		}
	})
	if err := env.Docker.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start RTM's container: %v", err)
	}
	return c.ID
}

// awaitResult waits for the job result of gameID on stream; it fails the
// test, with RTM's log, when RTM's container stops or no result comes.
func awaitResult(t *testing.T, cli *client.Client, rdb *goredis.Client, rtm, stream, gameID string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		for _, r := range streamStrings(t, rdb, stream) {
			if r["game_id"] == gameID {
				return r
			}
		}
		c, err := cli.ContainerInspect(t.Context(), rtm)
		if err != nil {
			t.Fatal(err)
		}
		if !c.State.Running {
			t.Fatalf("RTM's container stopped (exit %d)\n%s", c.State.ExitCode, logsOf(cli, rtm))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no job result for %s\nRTM's log:\n%s", gameID, logsOf(cli, rtm))
	return nil
}

// logsOf is a container's output, for a failure message.
func logsOf(cli *client.Client, id string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := stdcopy.StdCopy(&b, &b, rc); err != nil && !errors.Is(err, io.EOF) {
		b.WriteString(err.Error())
	}
	return b.String()
}
