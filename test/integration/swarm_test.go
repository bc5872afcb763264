package integration

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	swarmtypes "github.com/docker/docker/api/types/swarm"

	"github.com/galaxy/rtmanager/adapters/swarm"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/internal/testenv/dockertest"
	"github.com/galaxy/rtmanager/test/harness"
)

// startOnSwarm boots RTM with RTMANAGER_RUNTIME=swarm on the test's
// single-node swarm and overlay network, in a deployment of its own: the
// parallel tests of one process would otherwise share one, and each one's
// reconcile passes and events listener would see (and adopt, and repair)
// the others' services, which have no record in its database.
func startOnSwarm(t *testing.T, env testenv.SwarmEnv, extra ...string) *harness.Service {
	t.Helper()
	vars := map[string]string{"RUNTIME": "swarm", "DOCKER_NETWORK": env.Network, "DEPLOYMENT": testenv.UniqueName("d")}
	for i := 0; i+1 < len(extra); i += 2 {
		vars[extra[i]] = extra[i+1]
	}
	return harness.Start(t, harness.Options{Env: vars})
}

// TestAReconcilePassOnSwarmTakesNoTaskForAnEngine: on swarm a game's engine
// is its service; its tasks' containers carry the engine labels too (the
// contract puts them on the task's container), yet a pass over a game
// started, stopped and started again adopts, disposes and observes nothing.
func TestAReconcilePassOnSwarmTakesNoTaskForAnEngine(t *testing.T) {
	t.Parallel()
	env := testenv.Swarm(t)
	s := startOnSwarm(t, env, "RECONCILE_GRACE", "0s")
	id := s.GameID("tasks")
	expect(t, start(t, s, id, dockertest.Image100), http.StatusOK, "")
	expect(t, stop(t, s, id, "admin_request"), http.StatusOK, "")
	last := start(t, s, id, dockertest.Image100)
	expect(t, last, http.StatusOK, "")
	sid := last.Body["current_container_id"]
	if n := len(tasksOf(t, s, sid.(string))); n == 0 {
		t.Fatal("no task container: nothing for the pass to mistake")
	}

	rep := reconcilePass(t, s)

	// Not even tried: a repair asked for and skipped (busy) is a drift seen.
	if len(rep.Repaired) != 0 || rep.Failed != 0 || rep.Busy != 0 {
		t.Errorf("pass report %+v, want no drift seen", rep)
	}
	if rec := runtime(t, s, id); rec["status"] != "running" || rec["current_container_id"] != sid {
		t.Errorf("record after the pass: %v, want running on service %v", rec, sid)
	}
}

// TestLifecycleWalkOnSwarm is TestLifecycleWalk with engines as Swarm
// services: the same walk and, where they apply, the same assertions — on the
// service and on its task's container, the record (which also names the
// node), the operation log, the health stream and the engine's state.
func TestLifecycleWalkOnSwarm(t *testing.T) {
	t.Parallel()
	env := testenv.Swarm(t)
	s := startOnSwarm(t, env)
	id := s.GameID("walk")
	walk(t, s, id, walkRuntime{
		statePath: swarm.VolumeName(id), node: env.NodeID,
		checkEngine: func(t *testing.T, sid, ref string) {
			checkService(t, s, env, id, sid, ref)
			// Another service on the overlay reaches the engine by its name.
			if p := dockertest.Probe(t, env.Network, "http://galaxy-game-"+id+":8080/healthz"); p.ExitCode != 0 {
				t.Errorf("probe of engine_endpoint: exit %d: %s", p.ExitCode, p.Logs)
			}
		},
		counter: func(t *testing.T, sid, method string) counter { return swarmCounter(t, s, sid, method) },
		// The stopped task's container stays, with its logs, until cleanup.
		stopped: func(t *testing.T, sid string) {
			if cs := tasksOf(t, s, sid); len(cs) != 1 || cs[0].State != "exited" {
				t.Errorf("task containers after stop: %+v", cs)
			}
		},
		engines: func(t *testing.T) int { return len(servicesOf(t, s, id)) },
		stateDir: func(t *testing.T) string {
			v, err := s.Docker.VolumeInspect(context.Background(), swarm.VolumeName(id))
			if err != nil {
				t.Fatalf("the state volume: %v", err)
			}
			return v.Mountpoint
		},
	})
}

// TestPlacementOnSwarm: games land on the engine host and the record says
// which; without an engine host a new start is start_config_invalid and
// creates nothing, and a pinned game's restart is refused before its engine
// is touched; with the host back, the restart keeps the game on its node.
func TestPlacementOnSwarm(t *testing.T) {
	env := testenv.SwarmExclusive(t) // it takes the node's label away
	s := startOnSwarm(t, env)
	pinned, refused := s.GameID("pinned"), s.GameID("refused")

	r := start(t, s, pinned, "galaxy/game:1.0.0")
	expect(t, r, 200, "")
	sid := str(r.Body, "current_container_id")
	if str(r.Body, "engine_node") != env.NodeID {
		t.Fatalf("record after start: %s", r.Raw)
	}

	env.SetEngineHost(t, false)
	r = start(t, s, refused, "galaxy/game:1.0.0")
	expect(t, r, 422, "start_config_invalid")
	if !strings.HasPrefix(r.errorMessage(), "no engine host: ") {
		t.Errorf("message %q", r.errorMessage())
	}
	expect(t, call(t, s, http.MethodGet, rt(refused), nil), 404, "not_found")
	if n := len(servicesOf(t, s, refused)); n != 0 {
		t.Errorf("a refused start created %d services", n)
	}
	if _, err := s.Docker.VolumeInspect(context.Background(), swarm.VolumeName(refused)); err == nil {
		t.Error("a refused start created a state volume")
	}
	if ops := operations(t, s, refused); len(ops) != 1 || str(ops[0], "error_code") != "start_config_invalid" {
		t.Errorf("operation log of the refused start: %v", ops)
	}

	r = call(t, s, http.MethodPost, rt(pinned)+"/restart", nil)
	expect(t, r, 422, "start_config_invalid")
	if !strings.Contains(r.errorMessage(), env.NodeID) {
		t.Errorf("message %q does not name the node", r.errorMessage())
	}
	g := call(t, s, http.MethodGet, rt(pinned), nil)
	if str(g.Body, "status") != "running" || str(g.Body, "current_container_id") != sid {
		t.Errorf("a refused restart touched the running game: %s", g.Raw)
	}

	env.SetEngineHost(t, true)
	r = call(t, s, http.MethodPost, rt(pinned)+"/restart", nil)
	expect(t, r, 200, "")
	if str(r.Body, "engine_node") != env.NodeID {
		t.Errorf("record after restart: %s", r.Raw)
	}
	svc := service(t, s, str(r.Body, "current_container_id"))
	if !slices.Contains(svc.Spec.TaskTemplate.Placement.Constraints, "node.id=="+env.NodeID) {
		t.Errorf("restarted service constraints %v", svc.Spec.TaskTemplate.Placement.Constraints)
	}
}

// checkService verifies the contract's model on a game's service and on its
// running task's container. What Swarm on API 1.41 cannot express
// (no-new-privileges, memory swap) is not asked for; the docs say so.
func checkService(t *testing.T, s *harness.Service, env testenv.SwarmEnv, gameID, sid, ref string) {
	t.Helper()
	svc := service(t, s, sid)
	name := "galaxy-game-" + gameID
	task := svc.Spec.TaskTemplate
	if svc.Spec.Name != name || task.ContainerSpec.Hostname != name {
		t.Errorf("service %q hostname %q, want %s", svc.Spec.Name, task.ContainerSpec.Hostname, name)
	}
	if task.RestartPolicy.Condition != swarmtypes.RestartPolicyConditionNone ||
		svc.Spec.EndpointSpec.Mode != swarmtypes.ResolutionModeDNSRR || *svc.Spec.Mode.Replicated.Replicas != 1 {
		t.Errorf("restart %+v, endpoint %+v, mode %+v", task.RestartPolicy, svc.Spec.EndpointSpec, svc.Spec.Mode)
	}
	if !slices.Equal(task.Placement.Constraints, []string{"node.id==" + env.NodeID}) {
		t.Errorf("constraints %v", task.Placement.Constraints)
	}
	want := map[string]string{
		"com.galaxy.owner": "rtmanager", "com.galaxy.kind": "game-engine",
		"com.galaxy.deployment": s.Config.Deployment, "com.galaxy.game_id": gameID,
		"com.galaxy.engine_image_ref": ref,
	}
	for k, v := range want {
		if svc.Spec.Labels[k] != v {
			t.Errorf("service label %s = %q, want %q", k, svc.Spec.Labels[k], v)
		}
	}
	if res := task.Resources.Reservations; res.MemoryBytes != 64<<20 {
		t.Errorf("reservations %+v", res)
	}

	var running []container.Summary
	for _, c := range tasksOf(t, s, sid) {
		if c.State == "running" {
			running = append(running, c)
		}
	}
	if len(running) != 1 {
		t.Fatalf("%d running task containers", len(running))
	}
	c := inspect(t, s, running[0].ID)
	for k, v := range want {
		if c.Config.Labels[k] != v {
			t.Errorf("container label %s = %q, want %q", k, c.Config.Labels[k], v)
		}
	}
	// galaxy/game:1.0.x declares cpu 0.5, memory 64m, pids 64 in its labels.
	hc := c.HostConfig
	if hc.NanoCPUs != 500_000_000 || hc.Memory != 64<<20 || hc.PidsLimit == nil || *hc.PidsLimit != 64 {
		t.Errorf("limits: cpus %d memory %d pids %v", hc.NanoCPUs, hc.Memory, hc.PidsLimit)
	}
	if hc.Privileged || !slices.Contains(hc.CapDrop, "ALL") || len(hc.PortBindings) != 0 {
		t.Errorf("hardening: privileged %v capdrop %v ports %v", hc.Privileged, hc.CapDrop, hc.PortBindings)
	}
	if hc.LogConfig.Type != "json-file" || hc.LogConfig.Config["max-size"] == "" {
		t.Errorf("log config %+v", hc.LogConfig)
	}
	if len(c.Mounts) != 1 || c.Mounts[0].Type != mount.TypeVolume || c.Mounts[0].Name != swarm.VolumeName(gameID) ||
		c.Mounts[0].Destination != "/var/lib/galaxy-game" || !c.Mounts[0].RW {
		t.Errorf("state mount: %+v", c.Mounts)
	}
	for _, e := range []string{"GAME_STATE_PATH=/var/lib/galaxy-game", "STORAGE_PATH=/var/lib/galaxy-game", "GAME_ID=" + gameID} {
		if !slices.Contains(c.Config.Env, e) {
			t.Errorf("env %s missing: %v", e, c.Config.Env)
		}
	}
	if _, ok := c.NetworkSettings.Networks[env.Network]; !ok {
		t.Errorf("networks: %v", c.NetworkSettings.Networks)
	}
}

func service(t *testing.T, s *harness.Service, id string) swarmtypes.Service {
	t.Helper()
	svc, _, err := s.Docker.ServiceInspectWithRaw(context.Background(), id, swarmtypes.ServiceInspectOptions{})
	if err != nil {
		t.Fatalf("inspect service %s: %v", id, err)
	}
	return svc
}

// servicesOf lists this run's services of one game.
func servicesOf(t *testing.T, s *harness.Service, gameID string) []swarmtypes.Service {
	t.Helper()
	list, err := s.Docker.ServiceList(context.Background(), swarmtypes.ServiceListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "com.galaxy.game_id="+gameID), filters.Arg("label", testenv.RunLabel+"="+testenv.RunID()))})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// tasksOf lists the task containers of a service on this node.
func tasksOf(t *testing.T, s *harness.Service, serviceID string) []container.Summary {
	t.Helper()
	return testenv.Containers(t, s.Docker, filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.id="+serviceID)))
}

// swarmCounter reads the sample engine's persisted counter through its
// task's docker_gwbridge address (the host cannot reach overlay addresses).
func swarmCounter(t *testing.T, s *harness.Service, serviceID, method string) counter {
	t.Helper()
	return readCounter(t, taskURL(t, s, serviceID), method)
}

// runningTask is the container of the service's running task.
func runningTask(t *testing.T, s *harness.Service, serviceID string) container.Summary {
	t.Helper()
	for _, c := range tasksOf(t, s, serviceID) {
		if c.State == "running" {
			return c
		}
	}
	t.Fatalf("service %s has no running task container", serviceID)
	return container.Summary{}
}

// taskURL is the base URL of the service's running task at its
// docker_gwbridge address.
func taskURL(t *testing.T, s *harness.Service, serviceID string) string {
	t.Helper()
	c := runningTask(t, s, serviceID)
	n, err := s.Docker.NetworkInspect(context.Background(), "docker_gwbridge", network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip, _, _ := strings.Cut(n.Containers[c.ID].IPv4Address, "/")
	if ip == "" {
		t.Fatalf("task container %s has no docker_gwbridge address", c.ID)
	}
	return fmt.Sprintf("http://%s:8080", ip)
}

// TestStartsOverStoppedAndNeverReadyEnginesOnSwarm: a start over a stopped
// game replaces its parked service (an owned leftover of the game's name) on
// the same node and state; an engine that never gets ready is parked with
// its task kept for its logs, and the record says stopped.
func TestStartsOverStoppedAndNeverReadyEnginesOnSwarm(t *testing.T) {
	t.Parallel()
	env := testenv.Swarm(t)
	s := harness.Start(t, harness.Options{Env: map[string]string{
		"RUNTIME": "swarm", "DOCKER_NETWORK": env.Network, "ENGINE_READY_TIMEOUT": "3s",
	}})

	t.Run("start over a stopped game", func(t *testing.T) {
		id := s.GameID("again")
		r := start(t, s, id, "galaxy/game:1.0.0")
		expect(t, r, 200, "")
		first := str(r.Body, "current_container_id")
		if c := swarmCounter(t, s, first, http.MethodPost); c.Boots != 1 || c.Counter != 2 {
			t.Errorf("counter after first boot and one increment: %+v", c)
		}
		expect(t, stop(t, s, id, "admin_request"), 200, "")
		r = start(t, s, id, "galaxy/game:1.0.0")
		expect(t, r, 200, "")
		second := str(r.Body, "current_container_id")
		if second == first || str(r.Body, "engine_node") != env.NodeID {
			t.Errorf("record after the second start: %s", r.Raw)
		}
		if svcs := servicesOf(t, s, id); len(svcs) != 1 || svcs[0].ID != second {
			t.Errorf("services after the second start: %d, want only %s", len(svcs), second)
		}
		if c := swarmCounter(t, s, second, http.MethodGet); c.Boots != 2 || c.Counter != 3 {
			t.Errorf("state after the second start: %+v, want boots 2 and counter 3", c)
		}
	})

	t.Run("an engine that never gets ready", func(t *testing.T) {
		id := s.GameID("never")
		r := start(t, s, id, dockertest.ImageNeverReady)
		expect(t, r, 500, "container_start_failed")
		g := call(t, s, http.MethodGet, rt(id), nil)
		sid := str(g.Body, "current_container_id")
		if str(g.Body, "status") != "stopped" || sid == "" {
			t.Fatalf("record after the failed start: %s", g.Raw)
		}
		if cs := tasksOf(t, s, sid); len(cs) != 1 || cs[0].State != "exited" {
			t.Errorf("task containers of the parked engine: %+v", cs)
		}
	})
}
