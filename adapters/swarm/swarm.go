// Package swarm runs engines as Docker Swarm services (RTMANAGER_RUNTIME=swarm)
// behind the same ports as adapters/docker, so core does not know which
// runtime runs. It talks to a swarm manager's daemon through the docker
// adapter's client (same timeouts, same error translation).
//
// How the container ports map onto services (contract §3, swarm runtime):
//   - a game's "container" is its service galaxy-game-{game_id}; its id is
//     the service id;
//   - CreateContainer creates the service with 0 replicas (nothing runs);
//     StartContainer scales it to 1 and waits for its task to run;
//   - StopContainer parks the service (a placement constraint no node
//     meets): the running task is shut down and kept, with its container and
//     logs, while a replacement task waits for a node forever;
//   - RemoveContainer removes the service; the state volume stays;
//   - InspectContainer and ListOwned describe a service by its latest task
//     that got a container;
//   - Events watches this deployment's tasks and services by polling (a
//     manager's event stream does not carry other nodes' containers): a task
//     that ends is a die of its service, a service that disappears a destroy.
package swarm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/galaxy/rtmanager/adapters/docker"
	"github.com/galaxy/rtmanager/ports"
)

const (
	// EngineHostLabel marks the nodes that may run engines (value "true").
	EngineHostLabel = "com.galaxy.engine-host"
	engineHostValue = "true"
	// parkedConstraint is met by no node (RTM never sets the label): a
	// service carrying it keeps its stopped task and starts no other.
	parkedConstraint = "node.labels.com.galaxy.parked==true"
	nodeConstraint   = "node.id=="
	// gwbridge is the bridge through which a node's host reaches its tasks.
	gwbridge = "docker_gwbridge"
	// pollEvery paces the waits for a task to run or to stop.
	pollEvery = 100 * time.Millisecond
)

// Config configures the adapter.
type Config struct {
	// Deployment is the com.galaxy.deployment value of our services
	// (RTMANAGER_DEPLOYMENT); required, as on docker.
	Deployment string
	// StopGrace is the time a task gets between SIGTERM and SIGKILL
	// (RTMANAGER_CONTAINER_STOP_TIMEOUT_SECONDS); a service carries it from
	// its creation, as the swarm stops a task with its own spec's grace.
	StopGrace time.Duration
}

// Client is the ports.Docker adapter on a swarm manager. Pings, networks
// and images are the manager daemon's, as on docker.
type Client struct {
	*docker.Client
	cfg   Config
	owned filters.Args
}

var _ ports.Docker = (*Client)(nil)

// New builds the adapter on d, a client of a swarm manager's daemon.
func New(d *docker.Client, cfg Config) (*Client, error) {
	if cfg.Deployment == "" {
		return nil, errors.New("swarm: a deployment is required")
	}
	return &Client{Client: d, cfg: cfg, owned: filters.NewArgs(
		filters.Arg("label", ports.LabelOwner+"="+ports.OwnerValue),
		filters.Arg("label", ports.LabelDeployment+"="+cfg.Deployment),
	)}, nil
}

// CheckManager tells whether d's daemon is a swarm manager and networkName
// an attachable overlay network, which engines on swarm need (boot check).
func CheckManager(ctx context.Context, d *docker.Client, networkName string) error {
	return d.Call(ctx, "check swarm", 0, func(ctx context.Context, api *client.Client) error {
		info, err := api.Info(ctx)
		if err != nil {
			return err
		}
		if info.Swarm.LocalNodeState != swarm.LocalNodeStateActive || !info.Swarm.ControlAvailable {
			return fmt.Errorf("this daemon is not a swarm manager (swarm state %q)", info.Swarm.LocalNodeState)
		}
		n, err := api.NetworkInspect(ctx, networkName, network.InspectOptions{})
		if err != nil {
			return err
		}
		if n.Driver != "overlay" || !n.Attachable {
			return fmt.Errorf("network %s is not an attachable overlay network (driver %s, attachable %t)", networkName, n.Driver, n.Attachable)
		}
		return nil
	})
}

// CreateContainer creates the game's service with no replica: nothing runs
// until StartContainer. A taken name is ports.ErrConflict.
func (c *Client) CreateContainer(ctx context.Context, spec ports.ContainerSpec) (string, error) {
	if spec.Node == "" {
		return "", errors.New("swarm: create service " + spec.Name + ": no node to pin it to")
	}
	var id string
	err := c.Call(ctx, "create service "+spec.Name, 0, func(ctx context.Context, api *client.Client) error {
		// No registry query: the image is used as given (a local image has
		// no digest to pin), as docker run would.
		resp, err := api.ServiceCreate(ctx, c.serviceSpec(spec), swarm.ServiceCreateOptions{})
		id = resp.ID
		return err
	})
	return id, err
}

// serviceSpec is the contract's container model as a one-replica service.
func (c *Client) serviceSpec(spec ports.ContainerSpec) swarm.ServiceSpec {
	zero := uint64(0)
	grace := c.cfg.StopGrace
	task := swarm.TaskSpec{
		ContainerSpec: &swarm.ContainerSpec{
			Image: spec.Image, Hostname: spec.Name, Env: spec.Env, Labels: spec.Labels,
			StopGracePeriod: &grace,
			Mounts: []mount.Mount{{
				Type: mount.TypeVolume, Source: spec.HostStatePath, Target: spec.StateMountPath,
				VolumeOptions: &mount.VolumeOptions{Labels: volumeLabels(spec.Labels)},
			}},
			CapabilityDrop: []string{"ALL"},
		},
		Resources: &swarm.ResourceRequirements{
			Limits: &swarm.Limit{NanoCPUs: spec.NanoCPUs, MemoryBytes: spec.MemoryBytes, Pids: spec.PidsLimit},
			// Memory is reserved, so a node never takes more engines than
			// their limits fit in; CPU is shared, as on docker.
			Reservations: &swarm.Resources{MemoryBytes: spec.MemoryBytes},
		},
		RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
		Placement:     &swarm.Placement{Constraints: []string{nodeConstraint + spec.Node}},
		Networks:      []swarm.NetworkAttachmentConfig{{Target: spec.Network}},
	}
	if spec.LogDriver != "" {
		task.LogDriver = &swarm.Driver{Name: spec.LogDriver, Options: spec.LogOptions}
	}
	return swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: spec.Name, Labels: spec.Labels},
		TaskTemplate: task,
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &zero}},
		// A one-replica engine gains nothing from a virtual IP, and without
		// IPVS in the kernel a VIP name does not answer: DNS round robin.
		EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR},
	}
}

// volumeLabels are the state volume's labels: the service's, less what
// describes one engine rather than the game (the volume outlives engines).
func volumeLabels(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		if k != ports.LabelImageRef && k != ports.LabelStartedAtMs {
			out[k] = v
		}
	}
	return out
}

// StartContainer scales the service to one replica and waits until its task
// runs; a task that fails or is still not running when the call timeout
// ends is an error naming the task's state and the swarm's reason.
func (c *Client) StartContainer(ctx context.Context, id string) error {
	return c.Call(ctx, "start service "+id, 0, func(ctx context.Context, api *client.Client) error {
		svc, _, err := api.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
		if err != nil {
			return err
		}
		one := uint64(1)
		svc.Spec.Mode.Replicated.Replicas = &one
		if _, err := api.ServiceUpdate(ctx, svc.ID, svc.Version, svc.Spec, swarm.ServiceUpdateOptions{}); err != nil {
			return err
		}
		return waitTasks(ctx, api, svc.ID, func(tasks []swarm.Task) (bool, error) {
			t, ok := latest(tasks)
			switch {
			case !ok:
				return false, nil
			case t.Status.State == swarm.TaskStateRunning:
				return true, nil
			case finished(t.Status.State):
				return false, fmt.Errorf("task %s %s: %s", t.ID, t.Status.State, taskReason(t))
			}
			return false, nil
		})
	})
}

// StopContainer parks the service and waits until no task of it runs; the
// stopped task keeps its container and logs. The swarm gives the task the
// service's grace (Config.StopGrace); timeout stretches the call's bound.
// Stopping a parked or never started service is not an error.
func (c *Client) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	extra := time.Duration(math.Ceil(max(timeout, 0).Seconds())) * time.Second
	return c.Call(ctx, "stop service "+id, extra, func(ctx context.Context, api *client.Client) error {
		svc, _, err := api.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
		if err != nil {
			return err
		}
		if svc.Spec.TaskTemplate.Placement == nil {
			svc.Spec.TaskTemplate.Placement = &swarm.Placement{}
		}
		if p := svc.Spec.TaskTemplate.Placement; !slices.Contains(p.Constraints, parkedConstraint) {
			p.Constraints = append(p.Constraints, parkedConstraint)
			if _, err := api.ServiceUpdate(ctx, svc.ID, svc.Version, svc.Spec, swarm.ServiceUpdateOptions{}); err != nil {
				return err
			}
		}
		return waitTasks(ctx, api, svc.ID, func(tasks []swarm.Task) (bool, error) {
			for _, t := range tasks {
				if hasContainer(t) && !finished(t.Status.State) {
					return false, nil
				}
			}
			return true, nil
		})
	})
}

// RemoveContainer removes the service; the swarm then removes its tasks'
// containers. The game's state volume stays (RTM never removes it).
func (c *Client) RemoveContainer(ctx context.Context, id string) error {
	return c.Call(ctx, "remove service "+id, 0, func(ctx context.Context, api *client.Client) error {
		return api.ServiceRemove(ctx, id)
	})
}

// InspectContainer describes a service, by id or name, through its latest
// task that got a container.
func (c *Client) InspectContainer(ctx context.Context, idOrName string) (ports.ContainerInfo, error) {
	var info ports.ContainerInfo
	err := c.Call(ctx, "inspect service "+idOrName, 0, func(ctx context.Context, api *client.Client) error {
		svc, _, err := api.ServiceInspectWithRaw(ctx, idOrName, swarm.ServiceInspectOptions{})
		if err != nil {
			return err
		}
		tasks, err := api.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
		if err != nil {
			return err
		}
		info, err = (&hostView{api: api}).describe(ctx, svc, tasks)
		return err
	})
	return info, err
}

// ListOwned lists this deployment's services, each described as by
// InspectContainer, from one listing of the services and one of their
// tasks (tasks first: a service listed afterwards existed while its tasks
// were listed), whatever their number — a reconcile pass calls it.
func (c *Client) ListOwned(ctx context.Context) ([]ports.ContainerInfo, error) {
	var infos []ports.ContainerInfo
	err := c.Call(ctx, "list services", 0, func(ctx context.Context, api *client.Client) error {
		tasks, err := api.TaskList(ctx, swarm.TaskListOptions{Filters: c.owned})
		if err != nil {
			return err
		}
		list, err := api.ServiceList(ctx, swarm.ServiceListOptions{Filters: c.owned})
		if err != nil {
			return err
		}
		byService := map[string][]swarm.Task{}
		for _, t := range tasks {
			byService[t.ServiceID] = append(byService[t.ServiceID], t)
		}
		view := &hostView{api: api}
		for _, svc := range list {
			info, err := view.describe(ctx, svc, byService[svc.ID])
			if err != nil {
				return err
			}
			infos = append(infos, info)
		}
		return nil
	})
	return infos, err
}

// hostView describes services for one call of the adapter, looking up what
// the services share (this node's docker_gwbridge, the networks' names) at
// most once however many it describes.
type hostView struct {
	api *client.Client
	// gw is docker_gwbridge as first looked up; gwKnown says it was (a
	// node without the network leaves gw empty).
	gw      network.Inspect
	gwKnown bool
	names   map[string]string // network id → name
}

// describe turns a service and its tasks into the port's model. States: no
// task yet (never started) or a task not yet running is "created"; a running
// task is "running"; a finished one "exited" with its exit code. NetworkIPs
// maps the engines' network to the address at which this host reaches the
// task: its docker_gwbridge address when the task runs on this node (the
// host cannot route overlay addresses).
func (v *hostView) describe(ctx context.Context, svc swarm.Service, tasks []swarm.Task) (ports.ContainerInfo, error) {
	info := ports.ContainerInfo{
		ID: svc.ID, Name: svc.Spec.Name, Labels: svc.Spec.Labels, State: "created", CreatedAt: svc.CreatedAt,
	}
	info.Node, _ = placedOn(svc)
	if cs := svc.Spec.TaskTemplate.ContainerSpec; cs != nil {
		info.Image = cs.Image
		info.Mounts = make(map[string]string, len(cs.Mounts))
		for _, m := range cs.Mounts {
			info.Mounts[m.Target] = m.Source
		}
	}
	// Each task that got a container ran an engine of the service: the ones
	// before the latest are its restarts (an operator's update --force; RTM
	// itself never runs a second task in one service). The swarm keeps a
	// few tasks per service (its task history limit, 5 by default), which
	// caps the count.
	for _, t := range tasks {
		if hasContainer(t) {
			info.RestartCount++
		}
	}
	info.RestartCount = max(0, info.RestartCount-1)
	t, ok := latest(tasks)
	switch {
	case !ok:
	case t.Status.State == swarm.TaskStateRunning && hasContainer(t):
		info.State, info.Running, info.StartedAt = "running", true, t.Status.Timestamp
		ip, err := v.gwbridgeAddress(ctx, t.Status.ContainerStatus.ContainerID)
		if err != nil {
			return info, err
		}
		if ip != "" && len(svc.Spec.TaskTemplate.Networks) > 0 {
			info.NetworkIPs = map[string]string{v.networkName(ctx, svc.Spec.TaskTemplate.Networks[0].Target): ip}
		}
	case finished(t.Status.State):
		info.State, info.FinishedAt = "exited", t.Status.Timestamp
		if cs := t.Status.ContainerStatus; cs != nil {
			info.ExitCode = cs.ExitCode
		}
	}
	return info, nil
}

// latest is the newest task that got a container, else the newest task.
func latest(tasks []swarm.Task) (swarm.Task, bool) {
	if len(tasks) == 0 {
		return swarm.Task{}, false
	}
	slices.SortFunc(tasks, func(a, b swarm.Task) int { return b.CreatedAt.Compare(a.CreatedAt) })
	for _, t := range tasks {
		if hasContainer(t) {
			return t, true
		}
	}
	return tasks[0], true
}

func hasContainer(t swarm.Task) bool {
	return t.Status.ContainerStatus != nil && t.Status.ContainerStatus.ContainerID != ""
}

// finished says a task's container, if it had one, no longer runs.
func finished(s swarm.TaskState) bool {
	switch s {
	case swarm.TaskStateComplete, swarm.TaskStateShutdown, swarm.TaskStateFailed, swarm.TaskStateRejected,
		swarm.TaskStateOrphaned, swarm.TaskStateRemove:
		return true
	}
	return false
}

func taskReason(t swarm.Task) string {
	if t.Status.Err != "" {
		return t.Status.Err
	}
	return t.Status.Message
}

// waitTasks lists the service's tasks until done says so or fails, or until
// ctx ends; then the error names the latest task's state and reason, and
// not the deadline (the service answered; it is the task that did not).
func waitTasks(ctx context.Context, api *client.Client, serviceID string, done func([]swarm.Task) (bool, error)) error {
	f := filters.NewArgs(filters.Arg("service", serviceID))
	for {
		tasks, err := api.TaskList(ctx, swarm.TaskListOptions{Filters: f})
		if err != nil {
			return err
		}
		ok, err := done(tasks)
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			t, found := latest(tasks)
			if !found {
				return fmt.Errorf("service %s has no task yet", serviceID)
			}
			return fmt.Errorf("task %s still %s: %s", t.ID, t.Status.State, taskReason(t))
		case <-time.After(pollEvery):
		}
	}
}

// gwbridgeAddress is the container's address on this node's
// docker_gwbridge, or "" when the container is not on this node.
func (v *hostView) gwbridgeAddress(ctx context.Context, containerID string) (string, error) {
	if !v.gwKnown {
		n, err := v.api.NetworkInspect(ctx, gwbridge, network.InspectOptions{})
		if err != nil && !client.IsErrNotFound(err) {
			return "", err
		}
		v.gw, v.gwKnown = n, true
	}
	ep, ok := v.gw.Containers[containerID]
	if !ok {
		return "", nil
	}
	ip, _, _ := strings.Cut(ep.IPv4Address, "/")
	return ip, nil
}

// networkName resolves a service's network target (the swarm stores the
// network's id) to its name, which is how RTM names the network.
func (v *hostView) networkName(ctx context.Context, target string) string {
	if name, ok := v.names[target]; ok {
		return name
	}
	name := target
	if n, err := v.api.NetworkInspect(ctx, target, network.InspectOptions{}); err == nil {
		name = n.Name
	}
	if v.names == nil {
		v.names = map[string]string{}
	}
	v.names[target] = name
	return name
}
