package docker_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"

	"github.com/galaxy/rtmanager/adapters/docker"
	"github.com/galaxy/rtmanager/core/limits"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/internal/testenv/dockertest"
	"github.com/galaxy/rtmanager/ports"
)

func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }

// newClient returns an adapter on the local daemon (DOCKER_HOST or the
// default socket) in the test run's deployment.
func newClient(t *testing.T) *docker.Client {
	t.Helper()
	testenv.Docker(t) // fails clearly when there is no daemon
	d, err := docker.New(docker.Config{Host: os.Getenv("DOCKER_HOST"), Deployment: testenv.Deployment()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func newGame(t *testing.T, image string) (gameID string, spec ports.ContainerSpec) {
	gameID = testenv.UniqueName("g")
	return gameID, dockertest.EngineSpec(gameID, image, t.TempDir())
}

func waitExited(t *testing.T, d *docker.Client, id string) ports.ContainerInfo {
	t.Helper()
	var info ports.ContainerInfo
	dockertest.Eventually(t, 20*time.Second, func() error {
		var err error
		if info, err = d.InspectContainer(ctx(t), id); err != nil {
			return err
		}
		if info.State != "exited" {
			return errors.New("state " + info.State)
		}
		return nil
	})
	return info
}

func post(t *testing.T, baseURL, path string) {
	t.Helper()
	dockertest.Eventually(t, 10*time.Second, func() error {
		code, body, err := dockertest.Call(http.MethodPost, baseURL, path)
		if err == nil && code >= 300 {
			err = errors.New(string(body))
		}
		return err
	})
}

func TestCreateAppliesContainerModel(t *testing.T) {
	t.Parallel()
	d := newClient(t)
	gameID, spec := newGame(t, dockertest.Image100)
	info, _ := dockertest.StartEngine(t, d, spec)

	r, err := testenv.Docker(t).ContainerInspect(ctx(t), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "/"+spec.Name || r.Config.Hostname != spec.Name {
		t.Errorf("name %q hostname %q, want %q", r.Name, r.Config.Hostname, spec.Name)
	}
	if r.Config.Image != spec.Image {
		t.Errorf("image %q", r.Config.Image)
	}
	dockertest.WantLabelsAndEnv(t, r.Config, spec)
	hc := r.HostConfig
	if hc.NanoCPUs != spec.NanoCPUs || hc.Memory != spec.MemoryBytes || hc.MemorySwap != spec.MemoryBytes {
		t.Errorf("cpu %d memory %d swap %d", hc.NanoCPUs, hc.Memory, hc.MemorySwap)
	}
	if hc.PidsLimit == nil || *hc.PidsLimit != spec.PidsLimit {
		t.Errorf("pids limit %v", hc.PidsLimit)
	}
	if len(r.Mounts) != 1 || r.Mounts[0].Type != mount.TypeBind || r.Mounts[0].Source != spec.HostStatePath ||
		r.Mounts[0].Destination != spec.StateMountPath || !r.Mounts[0].RW {
		t.Errorf("mounts %+v", r.Mounts)
	}
	if string(hc.NetworkMode) != spec.Network || r.NetworkSettings.Networks[spec.Network] == nil {
		t.Errorf("network mode %q, networks %v", hc.NetworkMode, r.NetworkSettings.Networks)
	}
	if len(hc.PortBindings) != 0 || hc.PublishAllPorts {
		t.Errorf("ports published: %v", hc.PortBindings)
	}
	if !slices.Equal(hc.SecurityOpt, []string{"no-new-privileges"}) || !slices.Equal(hc.CapDrop, []string{"ALL"}) ||
		hc.Privileged {
		t.Errorf("security %v, cap drop %v, privileged %v", hc.SecurityOpt, hc.CapDrop, hc.Privileged)
	}
	if hc.RestartPolicy.Name != "no" {
		t.Errorf("restart policy %q", hc.RestartPolicy.Name)
	}
	if hc.LogConfig.Type != "json-file" || hc.LogConfig.Config["max-size"] != "1m" || hc.LogConfig.Config["max-file"] != "2" {
		t.Errorf("log config %+v", hc.LogConfig)
	}

	// The adapter's own view of the same container.
	if info.Name != spec.Name || info.Image != spec.Image || info.State != "running" || !info.Running ||
		info.Labels[ports.LabelGameID] != gameID || !info.OwnedBy(testenv.Deployment()) {
		t.Errorf("info %+v", info)
	}
	if info.CreatedAt.IsZero() || info.StartedAt.IsZero() || !info.FinishedAt.IsZero() {
		t.Errorf("times created %v started %v finished %v", info.CreatedAt, info.StartedAt, info.FinishedAt)
	}
}

func TestStopRemoveAndNotFound(t *testing.T) {
	t.Parallel()
	d := newClient(t)
	_, spec := newGame(t, dockertest.Image100)
	info, _ := dockertest.StartEngine(t, d, spec)

	start := time.Now()
	if err := d.StopContainer(ctx(t), info.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// The engine handles SIGTERM, so stop does not wait for the kill.
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stop took %s", took)
	}
	got, err := d.InspectContainer(ctx(t), spec.Name) // by name, too
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "exited" || got.Running || got.ExitCode != 0 || got.FinishedAt.IsZero() {
		t.Errorf("after stop: %+v", got)
	}
	if err := d.StopContainer(ctx(t), info.ID, time.Second); err != nil {
		t.Errorf("stopping a stopped container: %v", err)
	}
	if err := d.RemoveContainer(ctx(t), info.ID); err != nil {
		t.Fatal(err)
	}

	for name, err := range map[string]error{
		"inspect": func() error { _, err := d.InspectContainer(ctx(t), info.ID); return err }(),
		"stop":    d.StopContainer(ctx(t), info.ID, time.Second),
		"remove":  d.RemoveContainer(ctx(t), info.ID),
		"start":   d.StartContainer(ctx(t), info.ID),
	} {
		if !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("%s of a removed container: %v, want ErrNotFound", name, err)
		}
	}
}

func TestCreateConflictAndMissingThings(t *testing.T) {
	t.Parallel()
	d := newClient(t)
	_, spec := newGame(t, dockertest.Image100)
	id, err := d.CreateContainer(ctx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	dockertest.RemoveOnCleanup(t, id)
	if id2, err := d.CreateContainer(ctx(t), spec); !errors.Is(err, ports.ErrConflict) {
		dockertest.RemoveOnCleanup(t, id2)
		t.Errorf("duplicate name: %v, want ErrConflict", err)
	}

	_, noImage := newGame(t, "galaxy/game:9.9.9-missing")
	if id, err := d.CreateContainer(ctx(t), noImage); !errors.Is(err, ports.ErrNotFound) {
		dockertest.RemoveOnCleanup(t, id)
		t.Errorf("missing image: %v, want ErrNotFound", err)
	}

	wantMissingNetworkNotFound(t, d)
}

// wantMissingNetworkNotFound: a container on a network that does not exist
// fails with ErrNotFound — Docker 20.10 accepts the network at create and
// refuses it at start.
func wantMissingNetworkNotFound(t *testing.T, d *docker.Client) {
	t.Helper()
	_, noNet := newGame(t, dockertest.Image100)
	noNet.Network = testenv.UniqueName("no-net")
	id, err := d.CreateContainer(ctx(t), noNet)
	if err == nil {
		dockertest.RemoveOnCleanup(t, id)
		err = d.StartContainer(ctx(t), id)
	}
	if !errors.Is(err, ports.ErrNotFound) {
		t.Errorf("missing network: %v, want ErrNotFound", err)
	}
}

// On a swarm manager the daemon looks the network up in the swarm's store
// too and answers 500 with that store's gRPC NotFound in the message; it is
// still ErrNotFound (tests of other packages may make this host a swarm
// while these run).
func TestAMissingNetworkIsNotFoundOnASwarmManagerToo(t *testing.T) {
	testenv.Swarm(t)
	wantMissingNetworkNotFound(t, newClient(t))
}

func TestListOwnedSeesEveryState(t *testing.T) {
	t.Parallel()
	d := newClient(t)

	_, createdSpec := newGame(t, dockertest.Image100)
	created, err := d.CreateContainer(ctx(t), createdSpec)
	if err != nil {
		t.Fatal(err)
	}
	dockertest.RemoveOnCleanup(t, created)

	_, runningSpec := newGame(t, dockertest.Image100)
	running, _ := dockertest.StartEngine(t, d, runningSpec)

	_, exitedSpec := newGame(t, dockertest.Image100)
	exited, exitedURL := dockertest.StartEngine(t, d, exitedSpec)
	post(t, exitedURL, "/control/exit?code=3")
	waitExited(t, d, exited.ID)

	list, err := d.ListOwned(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]ports.ContainerInfo{}
	for _, c := range list {
		byID[c.ID] = c
	}
	if c := byID[created]; c.State != "created" || c.Running {
		t.Errorf("created container: %+v", c)
	}
	if c := byID[running.ID]; c.State != "running" || !c.Running || c.NetworkIPs[runningSpec.Network] == "" ||
		c.Mounts[runningSpec.StateMountPath] != runningSpec.HostStatePath {
		t.Errorf("running container: %+v", c)
	}
	if c := byID[exited.ID]; c.State != "exited" || c.ExitCode != 3 || c.OOMKilled {
		t.Errorf("exited container: %+v", c)
	}
}

// TestForeignContainersAreNeitherListedNorHeardOf: a container is ours only
// with our owner label and our deployment label (contract §3); one of another
// deployment of RTM on the same host, or without either label, is left out
// of ListOwned and of the event stream.
func TestForeignContainersAreNeitherListedNorHeardOf(t *testing.T) {
	t.Parallel()
	d := newClient(t)
	streamCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// From a moment ago rather than from now: the stream may be established
	// after the first create, and the daemon replays what it missed.
	evs, _ := d.Events(streamCtx, time.Now().Add(-time.Second))

	create := func(spec ports.ContainerSpec) string {
		t.Helper()
		id, err := d.CreateContainer(ctx(t), spec)
		if err != nil {
			t.Fatal(err)
		}
		dockertest.RemoveOnCleanup(t, id)
		return id
	}
	foreign := map[string]string{} // container id → why it is foreign
	for _, tc := range []struct {
		why    string
		labels map[string]string // set; an empty value removes the label
	}{
		{"another deployment", map[string]string{ports.LabelDeployment: testenv.UniqueName("other")}},
		{"no deployment label", map[string]string{ports.LabelDeployment: ""}},
		{"no owner label", map[string]string{ports.LabelOwner: ""}},
		{"another owner", map[string]string{ports.LabelOwner: "someone-else"}},
	} {
		_, spec := newGame(t, dockertest.Image100)
		for k, v := range tc.labels {
			if v == "" {
				delete(spec.Labels, k)
			} else {
				spec.Labels[k] = v
			}
		}
		foreign[create(spec)] = tc.why
	}
	// Created last: the daemon sends events in order, so once this one's
	// create event is in, a foreign create event would have come first.
	_, oursSpec := newGame(t, dockertest.Image100)
	ours := create(oursSpec)

	timeout := time.After(30 * time.Second)
	for heard := false; !heard; {
		select {
		case ev := <-evs:
			if why, ok := foreign[ev.ContainerID]; ok {
				t.Errorf("heard %s of the container with %s", ev.Action, why)
			}
			heard = ev.ContainerID == ours && ev.Action == "create"
		case <-timeout:
			t.Fatal("no create event of our own container")
		}
	}

	list, err := d.ListOwned(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	listedOurs := false
	for _, c := range list {
		if why, ok := foreign[c.ID]; ok {
			t.Errorf("listed the container with %s", why)
		}
		if !c.OwnedBy(testenv.Deployment()) {
			t.Errorf("listed a container that is not ours: %v", c.Labels)
		}
		listedOurs = listedOurs || c.ID == ours
	}
	if !listedOurs {
		t.Error("our own container is not listed")
	}
}

// collect reads events of one container until the wanted action arrives.
func collect(t *testing.T, evs <-chan ports.ContainerEvent, id, until string) []ports.ContainerEvent {
	t.Helper()
	var got []ports.ContainerEvent
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				t.Fatalf("event stream closed early; got %+v", got)
			}
			if ev.ContainerID != id {
				continue // other tests' owned containers
			}
			got = append(got, ev)
			if ev.Action == until {
				return got
			}
		case <-timeout:
			t.Fatalf("no %q event; got %+v", until, got)
		}
	}
}

func actions(evs []ports.ContainerEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Action)
	}
	return out
}

// find returns the first event with action.
func find(t *testing.T, evs []ports.ContainerEvent, action string) ports.ContainerEvent {
	t.Helper()
	for _, ev := range evs {
		if ev.Action == action {
			return ev
		}
	}
	t.Fatalf("no %q event in %v", action, actions(evs))
	return ports.ContainerEvent{}
}

func TestEventsLifecycleAndReplay(t *testing.T) {
	t.Parallel()
	d := newClient(t)
	since := time.Now()
	streamCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs, errs := d.Events(streamCtx, time.Time{})

	gameID, spec := newGame(t, dockertest.Image100)
	info, _ := dockertest.StartEngine(t, d, spec)
	if err := d.StopContainer(ctx(t), info.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveContainer(ctx(t), info.ID); err != nil {
		t.Fatal(err)
	}
	live := collect(t, evs, info.ID, "destroy")
	if die := find(t, live, "die"); die.ExitCode != "0" || die.GameID != gameID {
		t.Errorf("die event %+v", die)
	}
	start := find(t, live, "start")
	if start.Time.Before(since.Add(-time.Second)) || start.TimeNano != start.Time.UnixNano() {
		t.Errorf("start event time %v (%d)", start.Time, start.TimeNano)
	}
	if a := actions(live); slices.Index(a, "start") > slices.Index(a, "die") {
		t.Errorf("order %v", a)
	}

	cancel()
	for range evs { // drains and ends when the adapter closes the channel
	}
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Errorf("error after cancel: %v, want context.Canceled", err)
	}

	// A resumed stream replays from since (nanosecond precision): an event at
	// exactly the start time is included, earlier ones are not.
	replayCtx, cancelReplay := context.WithCancel(context.Background())
	defer cancelReplay()
	replayed, _ := d.Events(replayCtx, start.Time)
	got := collect(t, replayed, info.ID, "destroy")
	if got[0].Action != "start" || got[0].TimeNano != start.TimeNano {
		t.Errorf("replay from the start event began with %+v", got[0])
	}
}

func TestOOMKillIsReported(t *testing.T) {
	t.Parallel()
	d := newClient(t)
	streamCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs, _ := d.Events(streamCtx, time.Time{})

	_, spec := newGame(t, dockertest.Image100)
	info, baseURL := dockertest.StartEngine(t, d, spec)
	post(t, baseURL, "/control/oom")

	got := collect(t, evs, info.ID, "die")
	find(t, got, "oom")
	if die := find(t, got, "die"); die.ExitCode != "137" {
		t.Errorf("die exit code %q, want 137", die.ExitCode)
	}
	if c := waitExited(t, d, info.ID); !c.OOMKilled || c.ExitCode != 137 {
		t.Errorf("after OOM: %+v", c)
	}
}

func TestEngineStateSurvivesReplacement(t *testing.T) {
	t.Parallel()
	d := newClient(t)
	gameID, first := newGame(t, dockertest.Image100)
	type counter struct{ Counter, Boots int64 }
	read := func(baseURL, method string) counter {
		t.Helper()
		var c counter
		dockertest.Eventually(t, 10*time.Second, func() error {
			code, body, err := dockertest.Call(method, baseURL, "/counter")
			if err != nil {
				return err
			}
			if code != http.StatusOK {
				return errors.New(string(body))
			}
			return json.Unmarshal(body, &c)
		})
		return c
	}

	a, aURL := dockertest.StartEngine(t, d, first)
	if c := read(aURL, http.MethodGet); c != (counter{1, 1}) {
		t.Fatalf("first boot: %+v", c)
	}
	if c := read(aURL, http.MethodPost); c != (counter{2, 1}) {
		t.Fatalf("after POST: %+v", c)
	}
	if err := d.StopContainer(ctx(t), a.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveContainer(ctx(t), a.ID); err != nil {
		t.Fatal(err)
	}

	// Same name and state directory, newer image: what a patch does.
	second := dockertest.EngineSpec(gameID, dockertest.Image101, first.HostStatePath)
	_, bURL := dockertest.StartEngine(t, d, second)
	if c := read(bURL, http.MethodGet); c != (counter{3, 2}) {
		t.Fatalf("after replacement: %+v", c)
	}
}

func TestImagesAndNetwork(t *testing.T) {
	t.Parallel()
	d := newClient(t)
	img, err := d.ImageInspect(ctx(t), dockertest.Image110)
	if err != nil {
		t.Fatal(err)
	}
	if img.ID == "" || img.Labels[limits.LabelCPU] != "1.0" || img.Labels[limits.LabelMemory] != "96m" ||
		img.Labels[limits.LabelPids] != "128" {
		t.Errorf("image info %+v", img)
	}
	if _, err := d.ImageInspect(ctx(t), "galaxy/game:9.9.9-missing"); !errors.Is(err, ports.ErrNotFound) {
		t.Errorf("missing image: %v, want ErrNotFound", err)
	}
	// No registry is reachable here: the pull fails, but the daemon answered.
	err = d.PullImage(ctx(t), "galaxy/game:9.9.9-missing")
	if err == nil || errors.Is(err, ports.ErrUnavailable) {
		t.Errorf("pull of an unreachable image: %v, want a failure other than ErrUnavailable", err)
	}

	if ok, err := d.NetworkExists(ctx(t), testenv.DockerNetwork()); !ok || err != nil {
		t.Errorf("network %s: %v %v", testenv.DockerNetwork(), ok, err)
	}
	if ok, err := d.NetworkExists(ctx(t), testenv.UniqueName("no-net")); ok || err != nil {
		t.Errorf("missing network: %v %v", ok, err)
	}
	if err := d.Ping(ctx(t)); err != nil {
		t.Error(err)
	}
}

func TestUnreachableDaemonIsUnavailable(t *testing.T) {
	t.Parallel()
	d, err := docker.New(docker.Config{Host: "unix:///nonexistent.sock", Deployment: testenv.Deployment()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	checks := map[string]error{
		"ping":    d.Ping(ctx(t)),
		"inspect": func() error { _, err := d.InspectContainer(ctx(t), "x"); return err }(),
		"list":    func() error { _, err := d.ListOwned(ctx(t)); return err }(),
		"pull":    d.PullImage(ctx(t), dockertest.Image100),
		"network": func() error { _, err := d.NetworkExists(ctx(t), "galaxy-net"); return err }(),
	}
	evs, errs := d.Events(ctx(t), time.Time{})
	for range evs {
	}
	checks["events"] = <-errs
	for name, err := range checks {
		if !errors.Is(err, ports.ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", name, err)
		}
	}
}

func TestCallTimeoutIsUnavailableButCallerCancelIsNot(t *testing.T) {
	t.Parallel()
	// A daemon that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// Read and never answer, until the client gives up and hangs up.
			go func() { defer c.Close(); _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	d, err := docker.New(docker.Config{Host: "tcp://" + ln.Addr().String(), CallTimeout: 200 * time.Millisecond, Deployment: "d"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	start := time.Now()
	if err := d.Ping(ctx(t)); !errors.Is(err, ports.ErrUnavailable) {
		t.Errorf("hung daemon: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("call timeout not applied: took %s", took)
	}

	caller, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = d.Ping(caller)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ports.ErrUnavailable) {
		t.Errorf("caller's deadline: %v, want context.DeadlineExceeded only", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []docker.Config{
		{Host: "not a host", Deployment: "d"},
		{CallTimeout: -time.Second, Deployment: "d"},
		{}, // no deployment: every RTM's containers would be ours
	} {
		if _, err := docker.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
