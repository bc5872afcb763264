package swarm_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	swarmtypes "github.com/docker/docker/api/types/swarm"

	"github.com/galaxy/rtmanager/adapters/docker"
	"github.com/galaxy/rtmanager/adapters/swarm"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/internal/testenv/dockertest"
	"github.com/galaxy/rtmanager/ports"
)

func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }

const stopGrace = 5 * time.Second

// fixture is the adapter on the test's single-node swarm.
type fixture struct {
	env  testenv.SwarmEnv
	d    *docker.Client
	s    *swarm.Client
	vols *swarm.Volumes
}

func newFixture(t *testing.T, env testenv.SwarmEnv) fixture {
	t.Helper()
	d, err := docker.New(docker.Config{Host: os.Getenv("DOCKER_HOST"), Deployment: testenv.Deployment()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	s, err := swarm.New(d, swarm.Config{Deployment: testenv.Deployment(), StopGrace: stopGrace})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{env: env, d: d, s: s, vols: swarm.NewVolumes(d)}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// spec places a new game and returns its spec as core would build it; the
// game's services, containers and volume are removed when the test ends.
func (f fixture) spec(t *testing.T) (gameID string, spec ports.ContainerSpec) {
	t.Helper()
	gameID = testenv.UniqueName("g")
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := testenv.RemoveSwarmGame(c, f.env.Docker, gameID); err != nil {
			t.Errorf("remove game %s: %v", gameID, err)
		}
	})
	dir, err := f.vols.Ensure(ctx(t), gameID, "")
	if err != nil {
		t.Fatal(err)
	}
	spec = dockertest.EngineSpec(gameID, dockertest.Image100, dir.Path)
	spec.Network, spec.Node = f.env.Network, dir.Node
	return gameID, spec
}

// started creates and starts spec and returns the engine's info and base URL
// (its docker_gwbridge address: the host cannot reach overlay addresses).
func (f fixture) started(t *testing.T, spec ports.ContainerSpec) (ports.ContainerInfo, string) {
	t.Helper()
	id, err := f.s.CreateContainer(ctx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.StartContainer(ctx(t), id); err != nil {
		t.Fatal(err)
	}
	info, err := f.s.InspectContainer(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	ip := info.NetworkIPs[spec.Network]
	if ip == "" {
		t.Fatalf("no address of the task on %s: %+v", spec.Network, info)
	}
	base := fmt.Sprintf("http://%s:%d", ip, domain.EnginePort)
	dockertest.Eventually(t, 10*time.Second, func() error {
		code, _, err := dockertest.Call(http.MethodGet, base, "/healthz")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("healthz %d", code)
		}
		return err
	})
	return info, base
}

// taskContainers are the containers of one service on this node.
func (f fixture) taskContainers(t *testing.T, serviceID string) []container.Summary {
	t.Helper()
	return testenv.Containers(t, f.env.Docker, filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.id="+serviceID)))
}

func TestServiceAndTaskCarryTheContainerModel(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.Swarm(t))
	gameID, spec := f.spec(t)
	info, _ := f.started(t, spec)

	svc, _, err := f.env.Docker.ServiceInspectWithRaw(ctx(t), info.ID, swarmtypes.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	task := svc.Spec.TaskTemplate
	if svc.Spec.Name != domain.ContainerName(gameID) || task.ContainerSpec.Hostname != spec.Name {
		t.Errorf("service %q, hostname %q", svc.Spec.Name, task.ContainerSpec.Hostname)
	}
	if r := svc.Spec.Mode.Replicated; r == nil || r.Replicas == nil || *r.Replicas != 1 {
		t.Errorf("mode %+v, want one replica", svc.Spec.Mode)
	}
	if task.RestartPolicy == nil || task.RestartPolicy.Condition != swarmtypes.RestartPolicyConditionNone {
		t.Errorf("restart policy %+v", task.RestartPolicy)
	}
	if svc.Spec.EndpointSpec == nil || svc.Spec.EndpointSpec.Mode != swarmtypes.ResolutionModeDNSRR {
		t.Errorf("endpoint spec %+v, want dnsrr", svc.Spec.EndpointSpec)
	}
	if !slices.Equal(task.Placement.Constraints, []string{"node.id==" + f.env.NodeID}) {
		t.Errorf("constraints %v", task.Placement.Constraints)
	}
	lim, res := task.Resources.Limits, task.Resources.Reservations
	if lim.NanoCPUs != spec.NanoCPUs || lim.MemoryBytes != spec.MemoryBytes || lim.Pids != spec.PidsLimit ||
		res.MemoryBytes != spec.MemoryBytes || res.NanoCPUs != 0 {
		t.Errorf("limits %+v, reservations %+v", lim, res)
	}
	for k, v := range spec.Labels {
		if svc.Spec.Labels[k] != v || task.ContainerSpec.Labels[k] != v {
			t.Errorf("label %s: service %q, task %q, want %q", k, svc.Spec.Labels[k], task.ContainerSpec.Labels[k], v)
		}
	}

	// The task's container, as the node's daemon runs it.
	cs := f.taskContainers(t, info.ID)
	if len(cs) != 1 {
		t.Fatalf("%d task containers", len(cs))
	}
	r, err := f.env.Docker.ContainerInspect(ctx(t), cs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	dockertest.WantLabelsAndEnv(t, r.Config, spec)
	hc := r.HostConfig
	if hc.NanoCPUs != spec.NanoCPUs || hc.Memory != spec.MemoryBytes || hc.PidsLimit == nil || *hc.PidsLimit != spec.PidsLimit {
		t.Errorf("cpu %d memory %d pids %v", hc.NanoCPUs, hc.Memory, hc.PidsLimit)
	}
	if !slices.Equal(hc.CapDrop, []string{"ALL"}) || hc.Privileged || len(hc.PortBindings) != 0 {
		t.Errorf("cap drop %v, privileged %v, ports %v", hc.CapDrop, hc.Privileged, hc.PortBindings)
	}
	if hc.LogConfig.Type != "json-file" || hc.LogConfig.Config["max-size"] != "1m" {
		t.Errorf("log config %+v", hc.LogConfig)
	}
	if len(r.Mounts) != 1 || r.Mounts[0].Type != mount.TypeVolume || r.Mounts[0].Name != swarm.VolumeName(gameID) ||
		r.Mounts[0].Destination != spec.StateMountPath || !r.Mounts[0].RW {
		t.Errorf("mounts %+v", r.Mounts)
	}
	vol, err := f.env.Docker.VolumeInspect(ctx(t), swarm.VolumeName(gameID))
	if err != nil {
		t.Fatal(err)
	}
	if vol.Driver != "local" || vol.Labels[ports.LabelGameID] != gameID || vol.Labels[ports.LabelDeployment] != testenv.Deployment() ||
		vol.Labels[ports.LabelImageRef] != "" {
		t.Errorf("volume %s: driver %s, labels %v", vol.Name, vol.Driver, vol.Labels)
	}

	// The adapter's own view.
	if info.Name != spec.Name || info.Image != spec.Image || info.State != "running" || !info.Running ||
		!info.OwnedBy(testenv.Deployment()) || info.CreatedAt.IsZero() || info.StartedAt.IsZero() {
		t.Errorf("info %+v", info)
	}
	// What adoption reads: the state volume by its mount path, and the node.
	if info.Mounts[spec.StateMountPath] != swarm.VolumeName(gameID) || info.Node != f.env.NodeID {
		t.Errorf("info mounts %v, node %q", info.Mounts, info.Node)
	}
	// Another service on the overlay reaches the engine by its name.
	if p := dockertest.Probe(t, f.env.Network, domain.EngineEndpoint(gameID)+"/healthz"); p.ExitCode != 0 {
		t.Errorf("probe by name: exit %d: %s", p.ExitCode, p.Logs)
	}
}

// TestStopParksTheServiceAndKeepsTheTaskWithItsLogs: a stopped engine's
// container stays, with its logs, until the service is removed; the state
// volume stays even then.
func TestStopParksTheServiceAndKeepsTheTaskWithItsLogs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.Swarm(t))
	gameID, spec := f.spec(t)
	info, _ := f.started(t, spec)

	if err := f.s.StopContainer(ctx(t), info.ID, stopGrace); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.InspectContainer(ctx(t), spec.Name) // by name, too
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != info.ID || got.State != "exited" || got.Running || got.ExitCode != 0 || got.FinishedAt.IsZero() {
		t.Errorf("after stop: %+v", got)
	}
	cs := f.taskContainers(t, info.ID)
	if len(cs) != 1 || cs[0].State != "exited" {
		t.Fatalf("task containers after stop: %+v", cs)
	}
	logs, err := f.env.Docker.ServiceLogs(ctx(t), info.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(logs)
	_ = logs.Close()
	if err != nil || len(b) == 0 {
		t.Errorf("logs of the stopped engine: %d bytes, %v", len(b), err)
	}
	if err := f.s.StopContainer(ctx(t), info.ID, time.Second); err != nil {
		t.Errorf("stopping a stopped service: %v", err)
	}

	if err := f.s.RemoveContainer(ctx(t), info.ID); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"inspect": func() error { _, err := f.s.InspectContainer(ctx(t), info.ID); return err }(),
		"stop":    f.s.StopContainer(ctx(t), info.ID, time.Second),
		"remove":  f.s.RemoveContainer(ctx(t), info.ID),
		"start":   f.s.StartContainer(ctx(t), info.ID),
	} {
		if !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("%s of a removed service: %v, want ErrNotFound", name, err)
		}
	}
	if _, err := f.env.Docker.VolumeInspect(ctx(t), swarm.VolumeName(gameID)); err != nil {
		t.Errorf("state volume after the service's removal: %v", err)
	}
}

func TestAnEngineExitIsAnExitedServiceWithItsCode(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.Swarm(t))
	_, spec := f.spec(t)
	info, base := f.started(t, spec)

	dockertest.Eventually(t, 10*time.Second, func() error {
		_, _, err := dockertest.Call(http.MethodPost, base, "/control/exit?code=7")
		return err
	})
	dockertest.Eventually(t, 20*time.Second, func() error {
		got, err := f.s.InspectContainer(ctx(t), info.ID)
		if err == nil && (got.State != "exited" || got.Running || got.ExitCode != 7) {
			err = fmt.Errorf("state %s running %v exit %d", got.State, got.Running, got.ExitCode)
		}
		return err
	})
}

func TestCreateConflictAndNeverStartedServices(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.Swarm(t))
	_, spec := f.spec(t)
	id, err := f.s.CreateContainer(ctx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CreateContainer(ctx(t), spec); !errors.Is(err, ports.ErrConflict) {
		t.Errorf("duplicate name: %v, want ErrConflict", err)
	}
	got, err := f.s.InspectContainer(ctx(t), id)
	if err != nil || got.State != "created" || got.Running {
		t.Errorf("created service: %+v, %v", got, err)
	}
	if err := f.s.StopContainer(ctx(t), id, time.Second); err != nil {
		t.Errorf("stopping a service never started: %v", err)
	}
	unpinned := spec
	unpinned.Node, unpinned.Name = "", spec.Name+"-x"
	if _, err := f.s.CreateContainer(ctx(t), unpinned); err == nil {
		t.Error("a service without a node was created")
	}
}

// TestListOwnedSeesOnlyThisDeploymentsServices: ours by both labels, as on
// docker (contract §3).
func TestListOwnedSeesOnlyThisDeploymentsServices(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.Swarm(t))
	_, ours := f.spec(t)
	_, foreign := f.spec(t)
	foreign.Labels[ports.LabelDeployment] = testenv.UniqueName("other")
	oursID, err := f.s.CreateContainer(ctx(t), ours)
	if err != nil {
		t.Fatal(err)
	}
	foreignID, err := f.s.CreateContainer(ctx(t), foreign)
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.s.ListOwned(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, c := range list {
		if c.ID == foreignID || !c.OwnedBy(testenv.Deployment()) {
			t.Errorf("listed a service that is not ours: %s %v", c.Name, c.Labels)
		}
		seen = seen || (c.ID == oursID && c.State == "created")
	}
	if !seen {
		t.Errorf("our service is not listed as created: %+v", list)
	}
}

// TestListOwnedDescribesEachServiceAsInspectDoes: the listing takes every
// service's tasks from one task listing; each service comes out as
// InspectContainer, which lists its own, describes it — two running
// services (states, addresses, restart counts) and one never started.
func TestListOwnedDescribesEachServiceAsInspectDoes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.Swarm(t))
	var ids []string
	for range 2 {
		_, spec := f.spec(t)
		info, _ := f.started(t, spec)
		ids = append(ids, info.ID)
	}
	_, idle := f.spec(t)
	idleID, err := f.s.CreateContainer(ctx(t), idle)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, idleID)

	list, err := f.s.ListOwned(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]ports.ContainerInfo{}
	for _, c := range list {
		listed[c.ID] = c
	}
	for i, id := range ids {
		want, err := f.s.InspectContainer(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := listed[id]; !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("service %d listed as %+v, inspected as %+v", i, got, want)
		}
		if wantState := map[bool]string{true: "running", false: "created"}[i < 2]; want.State != wantState ||
			(i < 2 && len(want.NetworkIPs) != 1) {
			t.Errorf("service %d inspected as %+v: want %s, with an address when running", i, want, wantState)
		}
	}
}

// TestEventsReportEnginesEndedAndServicesGoneBehindRTMsBack: on the real
// swarm, a task's container killed is a die of its service with the exit
// code; RTM's own stop (the park, made before the kill) is nothing; a
// service removed is a destroy; a stream resumed from the die's time
// reports it again.
func TestEventsReportEnginesEndedAndServicesGoneBehindRTMsBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.Swarm(t))
	since := time.Now()
	killedGame, spec := f.spec(t)
	killed, _ := f.started(t, spec)
	_, spec = f.spec(t)
	parked, _ := f.started(t, spec)
	removedGame, spec := f.spec(t)
	removed, _ := f.started(t, spec)

	streamCtx, cancel := context.WithCancel(ctx(t))
	evs, errs := f.s.Events(streamCtx, since)
	if err := f.s.StopContainer(ctx(t), parked.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	cs := f.taskContainers(t, killed.ID)
	if len(cs) != 1 {
		t.Fatalf("task containers %+v", cs)
	}
	if err := f.env.Docker.ContainerKill(ctx(t), cs[0].ID, "KILL"); err != nil {
		t.Fatal(err)
	}
	if err := f.env.Docker.ServiceRemove(ctx(t), removed.ID); err != nil {
		t.Fatal(err)
	}
	// The two events come in either order; nothing else of these services
	// comes before both.
	want := map[string]ports.ContainerEvent{
		"die/" + killed.ID:      {Action: ports.ActionDie, ContainerID: killed.ID, GameID: killedGame, ExitCode: "137"},
		"destroy/" + removed.ID: {Action: ports.ActionDestroy, ContainerID: removed.ID, GameID: removedGame},
	}
	var died ports.ContainerEvent
	for len(want) > 0 {
		ev, open := <-evs
		if !open {
			t.Fatalf("stream ended: %v", <-errs)
		}
		if ev.ContainerID != killed.ID && ev.ContainerID != parked.ID && ev.ContainerID != removed.ID {
			continue // another test's (same deployment)
		}
		key := ev.Action + "/" + ev.ContainerID
		w, ok := want[key]
		if !ok || ev.GameID != w.GameID || ev.ExitCode != w.ExitCode || ev.Time.Before(since) {
			t.Fatalf("event %+v, want one of %+v", ev, want)
		}
		if ev.Action == ports.ActionDie {
			died = ev
		}
		delete(want, key)
	}
	cancel()
	for range evs {
	}
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Errorf("stream ended with %v, want context.Canceled", err)
	}

	// Resumed from the die's time, a new stream reports it again (since is
	// inclusive).
	evs, errs = f.s.Events(ctx(t), died.Time)
	for ev := range evs {
		if ev.ContainerID == killed.ID {
			if ev.Action != ports.ActionDie || ev.ExitCode != "137" || !ev.Time.Equal(died.Time) {
				t.Errorf("replayed %+v, want %+v", ev, died)
			}
			return
		}
	}
	t.Errorf("the resumed stream ended without the die: %v", <-errs)
}

func TestCheckManagerWantsAnAttachableOverlay(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.Swarm(t))
	if err := swarm.CheckManager(ctx(t), f.d, f.env.Network); err != nil {
		t.Errorf("the test's overlay: %v", err)
	}
	if err := swarm.CheckManager(ctx(t), f.d, testenv.DockerNetwork()); err == nil {
		t.Errorf("the bridge network %s passed", testenv.DockerNetwork())
	}
}

// TestPlacementKeepsAGameOnItsNode: a new game goes to an engine host; a
// pinned game only to its own node while that node is an engine host, ready
// and active; otherwise ErrNoEngineHost, naming why.
func TestPlacementKeepsAGameOnItsNode(t *testing.T) {
	env := testenv.SwarmExclusive(t)
	f := newFixture(t, env)
	for _, tc := range []struct {
		name   string
		pinned string
		setup  func(t *testing.T)
		want   string // "" for placed on this node; else a part of the error
	}{
		{"a new game goes to the engine host", "", nil, ""},
		{"a pinned game stays on its node", env.NodeID, nil, ""},
		{"a node gone from the swarm", "nosuchnode0123456789abcd", nil, "no longer in the swarm"},
		{"a new game without an engine host", "", func(t *testing.T) { env.SetEngineHost(t, false) }, "no node of the swarm"},
		{"a pinned node no longer an engine host", env.NodeID, func(t *testing.T) { env.SetEngineHost(t, false) }, "is not labelled"},
		{"a drained pinned node", env.NodeID, func(t *testing.T) { drain(t, env) }, "is drained"},
		{"a new game with its only host drained", "", func(t *testing.T) { drain(t, env) }, "no node of the swarm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			dir, err := f.vols.Ensure(ctx(t), "g-1", tc.pinned)
			switch {
			case tc.want == "" && (err != nil || dir.Node != env.NodeID || dir.Path != swarm.VolumeName("g-1") || dir.Created):
				t.Errorf("got %+v, %v; want node %s", dir, err, env.NodeID)
			case tc.want != "" && (!errors.Is(err, ports.ErrNoEngineHost) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %+v, %v; want ErrNoEngineHost %q", dir, err, tc.want)
			}
		})
	}
}

// drain drains the node until the test ends.
func drain(t *testing.T, env testenv.SwarmEnv) {
	t.Helper()
	set := func(a swarmtypes.NodeAvailability) error {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		n, _, err := env.Docker.NodeInspectWithRaw(c, env.NodeID)
		if err != nil {
			return err
		}
		n.Spec.Availability = a
		return env.Docker.NodeUpdate(c, env.NodeID, n.Version, n.Spec)
	}
	if err := set(swarmtypes.NodeAvailabilityDrain); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := set(swarmtypes.NodeAvailabilityActive); err != nil {
			t.Errorf("make the node active again: %v", err)
		}
	})
}

// TestARestartCountIsTheServicesReplacedTasks: RTM runs one task per
// service, so each task that got a container before the running one is a
// restart (here an operator's `docker service update --force`); a task
// carries no health status.
func TestARestartCountIsTheServicesReplacedTasks(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.Swarm(t))
	_, spec := f.spec(t)
	info, _ := f.started(t, spec)
	if info.RestartCount != 0 || info.Health != "" {
		t.Fatalf("a new service: restart count %d, health %q", info.RestartCount, info.Health)
	}
	svc, _, err := f.env.Docker.ServiceInspectWithRaw(ctx(t), info.ID, swarmtypes.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.TaskTemplate.ForceUpdate++
	if _, err := f.env.Docker.ServiceUpdate(ctx(t), svc.ID, svc.Version, svc.Spec, swarmtypes.ServiceUpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	dockertest.Eventually(t, 30*time.Second, func() error {
		got, err := f.s.InspectContainer(ctx(t), info.ID)
		if err == nil && (!got.Running || got.RestartCount != 1) {
			err = fmt.Errorf("running %v, restart count %d", got.Running, got.RestartCount)
		}
		return err
	})
}
