package docker

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"

	"github.com/galaxy/rtmanager/ports"
)

// Hardening applied to every engine container (contract §3). Docker 20.10 accepts
// the bare "no-new-privileges" form.
var (
	securityOpts = []string{"no-new-privileges"}
	capDrop      = []string{"ALL"}
)

// CreateContainer creates (does not start) the container described by spec.
// A taken name is ports.ErrConflict; a missing image or network is
// ports.ErrNotFound.
func (c *Client) CreateContainer(ctx context.Context, spec ports.ContainerSpec) (string, error) {
	cfg, hostCfg, netCfg := containerConfigs(spec)
	var id string
	err := c.run(ctx, "create container "+spec.Name, 0, func(ctx context.Context) error {
		resp, err := c.api.ContainerCreate(ctx, cfg, hostCfg, netCfg, nil, spec.Name)
		id = resp.ID
		return err
	})
	return id, err
}

// containerConfigs turns the port's model into the SDK's three create
// structures.
func containerConfigs(spec ports.ContainerSpec) (*container.Config, *container.HostConfig, *network.NetworkingConfig) {
	cfg := &container.Config{
		Hostname: spec.Name,
		Image:    spec.Image,
		Env:      spec.Env,
		Labels:   spec.Labels,
	}
	res := container.Resources{NanoCPUs: spec.NanoCPUs, Memory: spec.MemoryBytes}
	if spec.MemoryBytes > 0 {
		// Equal to Memory: the engine gets no swap on top of its limit, so
		// exceeding it is an OOM kill rather than a slow, swapping engine.
		res.MemorySwap = spec.MemoryBytes
	}
	if spec.PidsLimit > 0 {
		res.PidsLimit = &spec.PidsLimit
	}
	hostCfg := &container.HostConfig{
		NetworkMode:   container.NetworkMode(spec.Network),
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Resources:     res,
		SecurityOpt:   securityOpts,
		CapDrop:       capDrop,
		Privileged:    false,
		// A typed bind mount, unlike a "src:dst" bind, fails when the host
		// directory is missing instead of creating it root-owned.
		Mounts: []mount.Mount{{
			Type:   mount.TypeBind,
			Source: spec.HostStatePath,
			Target: spec.StateMountPath,
		}},
	}
	// An empty driver keeps the daemon's default log configuration.
	if spec.LogDriver != "" {
		hostCfg.LogConfig = container.LogConfig{Type: spec.LogDriver, Config: spec.LogOptions}
	}
	netCfg := &network.NetworkingConfig{
		EndpointsConfig: map[string]*network.EndpointSettings{spec.Network: {}},
	}
	return cfg, hostCfg, netCfg
}

// StartContainer starts a created container.
func (c *Client) StartContainer(ctx context.Context, id string) error {
	return c.run(ctx, "start container "+id, 0, func(ctx context.Context) error {
		return c.api.ContainerStart(ctx, id, container.StartOptions{})
	})
}

// StopContainer sends SIGTERM, waits up to timeout (rounded up to whole
// seconds, the daemon's unit), then kills. Stopping a stopped container is
// not an error. The call bound is stretched by timeout, which the daemon
// may spend waiting.
func (c *Client) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	secs := int(math.Ceil(max(timeout, 0).Seconds()))
	return c.run(ctx, "stop container "+id, time.Duration(secs)*time.Second, func(ctx context.Context) error {
		return c.api.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs})
	})
}

// RemoveContainer force-removes a container with its anonymous volumes. The
// game's state is a bind mount, which removal never touches.
func (c *Client) RemoveContainer(ctx context.Context, id string) error {
	return c.run(ctx, "remove container "+id, 0, func(ctx context.Context) error {
		return c.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	})
}

// InspectContainer inspects a container by id or name.
func (c *Client) InspectContainer(ctx context.Context, idOrName string) (ports.ContainerInfo, error) {
	var info ports.ContainerInfo
	err := c.run(ctx, "inspect container "+idOrName, 0, func(ctx context.Context) error {
		r, err := c.api.ContainerInspect(ctx, idOrName)
		if err != nil {
			return err
		}
		info = containerInfo(r)
		return nil
	})
	return info, err
}

// listInspections bounds the inspections in flight while ListOwned fills in
// a listing: the daemon answers each in well under a millisecond, so a few
// at once make a listing of a thousand containers several times faster.
const listInspections = 8

// ListOwned lists every container of this deployment in any state, fully
// inspected: the reconciler needs exit codes, OOM flags and start times that
// a listing does not carry. A container removed between the listing and its
// inspection is left out, as it no longer exists.
func (c *Client) ListOwned(ctx context.Context) ([]ports.ContainerInfo, error) {
	var list []container.Summary
	err := c.run(ctx, "list containers", 0, func(ctx context.Context) error {
		var err error
		list, err = c.api.ContainerList(ctx, container.ListOptions{All: true, Filters: c.owned})
		return err
	})
	if err != nil {
		return nil, err
	}
	infos := make([]ports.ContainerInfo, len(list))
	found := make([]bool, len(list))
	errs := make([]error, len(list))
	slots := make(chan struct{}, listInspections)
	var wg sync.WaitGroup
	for i, s := range list {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			infos[i], errs[i] = c.InspectContainer(ctx, s.ID)
			found[i] = errs[i] == nil
		}()
	}
	wg.Wait()
	out := infos[:0]
	for i := range list {
		switch {
		case found[i]:
			out = append(out, infos[i])
		case !errors.Is(errs[i], ports.ErrNotFound):
			return nil, errs[i]
		}
	}
	return out, nil
}

func containerInfo(r container.InspectResponse) ports.ContainerInfo {
	var info ports.ContainerInfo
	if b := r.ContainerJSONBase; b != nil {
		info.ID = b.ID
		info.Name = strings.TrimPrefix(b.Name, "/")
		info.RestartCount = b.RestartCount
		info.CreatedAt = parseTime(b.Created)
		if s := b.State; s != nil {
			info.State = string(s.Status)
			info.Running = s.Running
			info.ExitCode = s.ExitCode
			info.OOMKilled = s.OOMKilled
			info.StartedAt = parseTime(s.StartedAt)
			info.FinishedAt = parseTime(s.FinishedAt)
			if s.Health != nil {
				info.Health = s.Health.Status
			}
		}
	}
	if r.Config != nil {
		// Config.Image is the reference as given at create; the top-level
		// Image is the resolved image ID.
		info.Image = r.Config.Image
		info.Labels = r.Config.Labels
	}
	info.Mounts = make(map[string]string, len(r.Mounts))
	for _, m := range r.Mounts {
		info.Mounts[m.Destination] = m.Source
	}
	if r.NetworkSettings != nil {
		info.NetworkIPs = make(map[string]string, len(r.NetworkSettings.Networks))
		for name, ep := range r.NetworkSettings.Networks {
			if ep != nil {
				info.NetworkIPs[name] = ep.IPAddress
			}
		}
	}
	return info
}

// parseTime reads the daemon's RFC 3339 times; its "never" value
// (0001-01-01T00:00:00Z) and anything unreadable become the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
