package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	rtmswarm "github.com/galaxy/rtmanager/adapters/swarm"
	"github.com/galaxy/rtmanager/ports"
)

// Files that coordinate every test process of this host using the swarm:
// swarmStateFile (under swarmStateLock) says who uses it and what the first
// user made, so the last one takes exactly that back; swarmUseLock is held
// shared by every test using the swarm and exclusively by one that changes
// the node (SwarmExclusive), so no other swarm test runs meanwhile.
const (
	swarmStateLock = "/tmp/rtmanager-swarm.lock"
	swarmStateFile = "/tmp/rtmanager-swarm.json"
	swarmUseLock   = "/tmp/rtmanager-swarm.use"
	gwbridge       = "docker_gwbridge"
)

// swarmState is what the test processes using the swarm share.
type swarmState struct {
	// Holders are "pid/n" of the tests using the swarm now; entries of dead
	// processes are dropped, so a crashed run cannot keep the swarm forever.
	Holders []string
	// Initialised: a test initialised the swarm, so the last holder leaves it.
	Initialised bool
	// GWBridgeExisted: docker_gwbridge existed before the init (leaving the
	// swarm leaves it behind; it is removed only when the init made it).
	GWBridgeExisted bool
	// Labelled: a test added the engine-host label to a swarm it did not
	// make, so the last holder removes it again.
	Labelled bool
}

// SwarmEnv is the single-node swarm of one test.
type SwarmEnv struct {
	Docker *client.Client
	// Network is the test's own attachable overlay network, removed at its end.
	Network string
	// NodeID is this engine's node, labelled com.galaxy.engine-host=true.
	NodeID string
}

// Swarm makes this Docker engine a single-node swarm for the test when it is
// not one (advertising 127.0.0.1), labels the node as an engine host and
// creates the test's attachable overlay network. At the end it removes the
// network; the last test of the host using the swarm leaves it only if a test
// initialised it (and then removes docker_gwbridge if the init made it), and
// takes back a label a test added. It never leaves a swarm a test did not
// create. Tests in several processes may call it at once (the files above
// coordinate them). Without a swarm the test fails under CI=true and is
// skipped otherwise.
func Swarm(t testing.TB) SwarmEnv { return useSwarm(t, syscall.LOCK_SH) }

// SwarmExclusive is Swarm for a test that changes the node (its labels): it
// waits until no other test uses the swarm, and no other swarm test starts
// until it ends.
func SwarmExclusive(t testing.TB) SwarmEnv { return useSwarm(t, syscall.LOCK_EX) }

func useSwarm(t testing.TB, mode int) SwarmEnv {
	t.Helper()
	cli := Docker(t)
	use, err := flockFile(swarmUseLock, mode)
	if err != nil {
		t.Fatalf("testenv: swarm use lock: %v", err)
	}
	t.Cleanup(func() { _ = use.Close() }) // closing releases the lock
	holder, nodeID, err := joinSwarm(cli)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testenv: a single-node swarm is required: %v", err)
		}
		t.Skipf("testenv: no swarm (CI=true makes this a failure): %v", err)
	}
	t.Cleanup(func() {
		if err := leaveSwarm(cli, holder); err != nil {
			t.Errorf("testenv: release the swarm: %v", err)
		}
	})
	env := SwarmEnv{Docker: cli, Network: UniqueName("swarm-net"), NodeID: nodeID}
	ctx, cancel := setupCtx()
	defer cancel()
	_, err = cli.NetworkCreate(ctx, env.Network, network.CreateOptions{
		Driver: "overlay", Attachable: true, Labels: map[string]string{RunLabel: RunID()},
	})
	if err != nil {
		t.Fatalf("testenv: create overlay network: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := setupCtx()
		defer cancel()
		// A task container of a service removed a moment ago may still hold
		// an endpoint on the network for a little while.
		err := retry(ctx, func() error { return cli.NetworkRemove(ctx, env.Network) })
		if err != nil {
			t.Errorf("testenv: remove overlay network %s: %v", env.Network, err)
		}
	})
	return env
}

// SetEngineHost adds or removes the node's engine-host label (for a test
// holding SwarmExclusive); the label is put back when the test ends.
func (e SwarmEnv) SetEngineHost(t testing.TB, on bool) {
	t.Helper()
	ctx, cancel := setupCtx()
	defer cancel()
	if err := setNodeLabel(ctx, e.Docker, e.NodeID, on); err != nil {
		t.Fatalf("testenv: engine-host label: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := setupCtx()
		defer cancel()
		if err := setNodeLabel(ctx, e.Docker, e.NodeID, true); err != nil {
			t.Errorf("testenv: put the engine-host label back: %v", err)
		}
	})
}

// RemoveSwarmGame removes this run's services and volumes of one game (what
// RTM on swarm leaves behind by design: a stopped game's service, every
// game's state volume), waiting for the services' task containers to go so
// the volumes are free.
func RemoveSwarmGame(ctx context.Context, cli *client.Client, gameID string) error {
	return removeSwarmGame(ctx, cli, filters.NewArgs(
		filters.Arg("label", ports.LabelGameID+"="+gameID),
		filters.Arg("label", RunLabel+"="+RunID()),
	))
}

// RemoveSwarmGameOfRTMImage is RemoveSwarmGame for a game started by RTM
// running from its image (not in-process), which cannot put the run label on
// what it makes: it goes by the game id alone, so the id must be the test's
// own (UniqueName).
func RemoveSwarmGameOfRTMImage(ctx context.Context, cli *client.Client, gameID string) error {
	return removeSwarmGame(ctx, cli, filters.NewArgs(filters.Arg("label", ports.LabelGameID+"="+gameID)))
}

func removeSwarmGame(ctx context.Context, cli *client.Client, f filters.Args) error {
	services, err := cli.ServiceList(ctx, swarm.ServiceListOptions{Filters: f})
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	for _, s := range services {
		if err := cli.ServiceRemove(ctx, s.ID); err != nil && !client.IsErrNotFound(err) {
			return fmt.Errorf("remove service %s: %w", s.Spec.Name, err)
		}
	}
	// The swarm removes the services' task containers shortly; removing them
	// here frees the volumes now.
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	for _, c := range list {
		err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		if err != nil && !client.IsErrNotFound(err) && !strings.Contains(err.Error(), "already in progress") {
			return fmt.Errorf("remove container %s: %w", c.ID, err)
		}
	}
	vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		return fmt.Errorf("list volumes: %w", err)
	}
	for _, v := range vols.Volumes {
		// The volume is busy until the removed services' containers are gone.
		if err := retry(ctx, func() error { return cli.VolumeRemove(ctx, v.Name, true) }); err != nil {
			return fmt.Errorf("remove volume %s: %w", v.Name, err)
		}
	}
	return nil
}

// retry calls fn every 200 ms until it succeeds or ctx ends.
func retry(ctx context.Context, fn func() error) error {
	for {
		err := fn()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// holders numbers this process's holders.
var holders atomic.Int64

// joinSwarm registers a holder, making the swarm (and the label) when this is
// the first holder and there is none.
func joinSwarm(cli *client.Client) (holder, nodeID string, err error) {
	ctx, cancel := setupCtx()
	defer cancel()
	err = withSwarmState(func(st *swarmState) error {
		info, err := cli.Info(ctx)
		if err != nil {
			return err
		}
		switch {
		case info.Swarm.LocalNodeState == swarm.LocalNodeStateInactive:
			gw, err := networkExists(ctx, cli, gwbridge)
			if err != nil {
				return err
			}
			if _, err := cli.SwarmInit(ctx, swarm.InitRequest{ListenAddr: "0.0.0.0:2377", AdvertiseAddr: "127.0.0.1"}); err != nil {
				return fmt.Errorf("swarm init: %w", err)
			}
			st.Initialised, st.GWBridgeExisted, st.Labelled = true, gw, false
			if info, err = cli.Info(ctx); err != nil {
				return err
			}
		case info.Swarm.LocalNodeState != swarm.LocalNodeStateActive:
			return fmt.Errorf("this engine's swarm state is %q", info.Swarm.LocalNodeState)
		case !info.Swarm.ControlAvailable:
			return errors.New("this engine is a swarm worker; a manager is required")
		}
		nodeID = info.Swarm.NodeID
		node, _, err := cli.NodeInspectWithRaw(ctx, nodeID)
		if err != nil {
			return err
		}
		if node.Spec.Labels[rtmswarm.EngineHostLabel] != "true" {
			if err := setNodeLabel(ctx, cli, nodeID, true); err != nil {
				return err
			}
			// Taken back by the last holder, unless the swarm goes anyway.
			st.Labelled = !st.Initialised
		}
		holder = strconv.Itoa(os.Getpid()) + "/" + strconv.FormatInt(holders.Add(1), 10)
		st.Holders = append(st.Holders, holder)
		return nil
	})
	return holder, nodeID, err
}

// leaveSwarm drops a holder; the last one takes back what the first made.
func leaveSwarm(cli *client.Client, holder string) error {
	ctx, cancel := setupCtx()
	defer cancel()
	return withSwarmState(func(st *swarmState) error {
		st.Holders = slices.DeleteFunc(st.Holders, func(h string) bool { return h == holder })
		if len(st.Holders) > 0 {
			return nil
		}
		defer func() { *st = swarmState{} }()
		if st.Initialised {
			if err := cli.SwarmLeave(ctx, true); err != nil {
				return fmt.Errorf("swarm leave: %w", err)
			}
			if !st.GWBridgeExisted {
				// Docker 20.10 leaves the ingress sandbox's endpoint on the
				// bridge after the swarm is left (for good, once the sandbox
				// existed): it has to be disconnected by force.
				err := retry(ctx, func() error {
					_ = cli.NetworkDisconnect(ctx, gwbridge, "gateway_ingress-sbox", true)
					if err := cli.NetworkRemove(ctx, gwbridge); !client.IsErrNotFound(err) {
						return err
					}
					return nil
				})
				if err != nil {
					return fmt.Errorf("remove %s: %w", gwbridge, err)
				}
			}
			return nil
		}
		if st.Labelled {
			info, err := cli.Info(ctx)
			if err != nil {
				return err
			}
			return setNodeLabel(ctx, cli, info.Swarm.NodeID, false)
		}
		return nil
	})
}

// withSwarmState runs fn on the shared state under the state lock, dropping
// holders whose process is gone first, and writes the state back.
func withSwarmState(fn func(*swarmState) error) error {
	lock, err := flockFile(swarmStateLock, syscall.LOCK_EX)
	if err != nil {
		return err
	}
	defer lock.Close()
	var st swarmState
	if b, err := os.ReadFile(swarmStateFile); err == nil {
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("%s: %w", swarmStateFile, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	st.Holders = slices.DeleteFunc(st.Holders, func(h string) bool {
		pid, err := strconv.Atoi(strings.SplitN(h, "/", 2)[0])
		return err != nil || (pid != os.Getpid() && syscall.Kill(pid, 0) == syscall.ESRCH)
	})
	ferr := fn(&st)
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := os.WriteFile(swarmStateFile, b, 0o666); err != nil {
		return err
	}
	return ferr
}

// flockFile opens path and locks it (LOCK_SH or LOCK_EX); closing the file
// releases the lock.
func flockFile(path string, mode int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), mode); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("flock %s: %w", path, err)
	}
	return f, nil
}

func networkExists(ctx context.Context, cli *client.Client, name string) (bool, error) {
	_, err := cli.NetworkInspect(ctx, name, network.InspectOptions{})
	if client.IsErrNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// setNodeLabel adds (on) or removes the engine-host label of a node.
func setNodeLabel(ctx context.Context, cli *client.Client, nodeID string, on bool) error {
	node, _, err := cli.NodeInspectWithRaw(ctx, nodeID)
	if err != nil {
		return err
	}
	spec := node.Spec
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	if on {
		spec.Labels[rtmswarm.EngineHostLabel] = "true"
	} else {
		delete(spec.Labels, rtmswarm.EngineHostLabel)
	}
	return cli.NodeUpdate(ctx, nodeID, node.Version, spec)
}
