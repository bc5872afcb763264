// Package dockertest helps tests run the sample engine (engine/) in the real
// Docker engine: it builds the images, describes engine containers the way RTM
// does, probes engines from inside the network, and removes every container a
// test creates. Everything it creates carries testenv.RunLabel=testenv.RunID().
package dockertest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/galaxy/rtmanager/adapters/docker"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/ports"
)

// Sample engine images built by scripts/engine-images.sh.
const (
	// Image100, Image101 and Image110 carry cpu 0.5 / memory 64m / pids 64
	// (1.1.0: 1.0 / 96m / 128).
	Image100 = "galaxy/game:1.0.0"
	Image101 = "galaxy/game:1.0.1"
	Image110 = "galaxy/game:1.1.0"
	// ImageNeverReady never answers 200 on /healthz; a legal patch from 1.0.0.
	ImageNeverReady = "galaxy/game:1.0.2-neverready"
	// ImageBadLabels has an unparsable com.galaxy.memory label.
	ImageBadLabels = "galaxy/game:1.0.3-badlabels"
)

// Container model values the tests use, as RTM's defaults would produce them.
const (
	StateMountPath = "/var/lib/galaxy-game"
	NanoCPUs       = 500_000_000 // 0.5 CPU
	MemoryBytes    = 64 << 20
	PidsLimit      = 64
)

// Main is a TestMain body for packages that run engine containers: it builds
// the images, runs the tests, then removes any container of this run that a
// test failed to clean up (a panic, a t.FailNow before Cleanup registered).
//
//	func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }
func Main(m *testing.M) int {
	if err := testenv.BuildEngineImages(); err != nil {
		fmt.Fprintln(os.Stderr, "dockertest:", err)
		return 1
	}
	code := m.Run()
	if err := sweep(); err != nil {
		fmt.Fprintln(os.Stderr, "dockertest: sweeping leftovers:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func sweep() error {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := c.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", testenv.RunLabel+"="+testenv.RunID())),
	})
	if err != nil {
		return err
	}
	for _, s := range list {
		if err := c.ContainerRemove(ctx, s.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			return err
		}
	}
	if len(list) > 0 {
		return fmt.Errorf("removed %d container(s) a test left behind", len(list))
	}
	return nil
}

// EngineSpec is the full container spec RTM builds for gameID running image
// with its state in the host directory stateDir, in the test run's deployment
// (testenv.Deployment), plus the test-run label.
func EngineSpec(gameID, image, stateDir string) ports.ContainerSpec {
	return ports.ContainerSpec{
		Name:    domain.ContainerName(gameID),
		Image:   image,
		Network: testenv.DockerNetwork(),
		Labels: map[string]string{
			ports.LabelOwner:       ports.OwnerValue,
			ports.LabelDeployment:  testenv.Deployment(),
			ports.LabelKind:        ports.KindValue,
			ports.LabelGameID:      gameID,
			ports.LabelImageRef:    image,
			ports.LabelStartedAtMs: strconv.FormatInt(time.Now().UnixMilli(), 10),
			testenv.RunLabel:       testenv.RunID(),
		},
		Env: []string{
			"GAME_STATE_PATH=" + StateMountPath,
			"STORAGE_PATH=" + StateMountPath,
			"GAME_ID=" + gameID,
		},
		NanoCPUs:       NanoCPUs,
		MemoryBytes:    MemoryBytes,
		PidsLimit:      PidsLimit,
		HostStatePath:  stateDir,
		StateMountPath: StateMountPath,
		LogDriver:      "json-file",
		LogOptions:     map[string]string{"max-size": "1m", "max-file": "2"},
	}
}

// RemoveOnCleanup force-removes the container when the test ends, whatever
// its outcome. A container already gone is fine.
func RemoveOnCleanup(tb testing.TB, id string) {
	tb.Helper()
	c := testenv.Docker(tb) // registered first, so closed after the removal
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := c.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			tb.Errorf("dockertest: remove container %s: %v", id, err)
		}
	})
}

// StartEngine creates and starts spec through d, schedules its removal, waits
// until the engine serves HTTP and returns the inspected container with the
// engine's base URL on its network IP (tests run on the Docker host, not on
// the network).
func StartEngine(tb testing.TB, d *docker.Client, spec ports.ContainerSpec) (ports.ContainerInfo, string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := d.CreateContainer(ctx, spec)
	if err != nil {
		tb.Fatalf("create %s: %v", spec.Name, err)
	}
	RemoveOnCleanup(tb, id)
	if err := d.StartContainer(ctx, id); err != nil {
		tb.Fatalf("start %s: %v", spec.Name, err)
	}
	info, err := d.InspectContainer(ctx, id)
	if err != nil {
		tb.Fatalf("inspect %s: %v", spec.Name, err)
	}
	ip := info.NetworkIPs[spec.Network]
	if ip == "" {
		tb.Fatalf("%s has no IP on %s: %v", spec.Name, spec.Network, info.NetworkIPs)
	}
	baseURL := fmt.Sprintf("http://%s:%d", ip, domain.EnginePort)
	// Wait until the engine answers at all (the never-ready one with 503): a
	// SIGTERM that lands before the Go runtime installed the engine's handler
	// ends it with exit code 2 instead of a clean 0.
	Eventually(tb, 10*time.Second, func() error {
		_, _, err := Call(http.MethodGet, baseURL, "/healthz")
		return err
	})
	return info, baseURL
}

// Eventually polls cond every 20ms until it returns nil, failing the test
// with cond's last error after timeout.
func Eventually(tb testing.TB, timeout time.Duration, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("not within %s: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Call sends method to the engine at baseURL+path and returns the status and
// body; transport errors are returned, not fatal, so it can be polled.
func Call(method, baseURL, path string) (int, []byte, error) {
	req, err := http.NewRequest(method, baseURL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// ProbeResult is what one `engine probe` container reported.
type ProbeResult struct {
	ExitCode int64
	Logs     string
}

// Probe runs `engine probe url` (see engine/main.go) as a short-lived
// container of the sample engine image on networkName and returns its exit
// code and output once it has exited. It is how a test looks at an engine the
// way another service on the network does: by name, through Docker's DNS.
// The container carries only the run label — never RTM's owner or deployment
// label, so no RTM under test mistakes it for an engine — and is removed when
// the test ends.
func Probe(tb testing.TB, networkName, url string) ProbeResult {
	tb.Helper()
	c := testenv.Docker(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	created, err := c.ContainerCreate(ctx,
		&container.Config{
			Image:  Image100,
			Cmd:    []string{"probe", url},
			Labels: map[string]string{testenv.RunLabel: testenv.RunID()},
		},
		&container.HostConfig{NetworkMode: container.NetworkMode(networkName)},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{networkName: {}}},
		nil, "")
	if err != nil {
		tb.Fatalf("dockertest: create probe of %s: %v", url, err)
	}
	RemoveOnCleanup(tb, created.ID)
	// Wait is registered before the start so a probe that exits at once
	// cannot be missed.
	waitC, errC := c.ContainerWait(ctx, created.ID, container.WaitConditionNextExit)
	if err := c.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		tb.Fatalf("dockertest: start probe of %s: %v", url, err)
	}
	var res ProbeResult
	select {
	case w := <-waitC:
		if w.Error != nil {
			tb.Fatalf("dockertest: wait for probe of %s: %s", url, w.Error.Message)
		}
		res.ExitCode = w.StatusCode
	case err := <-errC:
		tb.Fatalf("dockertest: wait for probe of %s: %v", url, err)
	}
	rc, err := c.ContainerLogs(ctx, created.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		tb.Fatalf("dockertest: logs of probe of %s: %v", url, err)
	}
	defer rc.Close()
	var logs bytes.Buffer
	if _, err := stdcopy.StdCopy(&logs, &logs, rc); err != nil {
		tb.Fatalf("dockertest: logs of probe of %s: %v", url, err)
	}
	res.Logs = logs.String()
	return res
}

// WantLabelsAndEnv checks that a container's configuration carries every
// label and environment variable of the spec it was made from (whichever
// runtime made it: a container, or a Swarm task's container).
func WantLabelsAndEnv(tb testing.TB, cfg *container.Config, spec ports.ContainerSpec) {
	tb.Helper()
	for k, v := range spec.Labels {
		if cfg.Labels[k] != v {
			tb.Errorf("container label %s=%q, want %q", k, cfg.Labels[k], v)
		}
	}
	for _, e := range spec.Env {
		if !slices.Contains(cfg.Env, e) {
			tb.Errorf("env %q missing from %v", e, cfg.Env)
		}
	}
}
