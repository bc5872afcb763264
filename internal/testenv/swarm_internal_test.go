package testenv

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	rtmswarm "github.com/galaxy/rtmanager/adapters/swarm"
)

// TestTheLastHolderTakesBackOnlyWhatTestsMade: a swarm a test initialised is
// left (and docker_gwbridge removed); a swarm that was there before is never
// left, and only the label a test added is taken back.
func TestTheLastHolderTakesBackOnlyWhatTestsMade(t *testing.T) {
	cli := Docker(t)
	// No other test may use the swarm meanwhile: this test makes and leaves
	// swarms on its own.
	use, err := flockFile(swarmUseLock, syscall.LOCK_EX)
	if err != nil {
		t.Fatal(err)
	}
	defer use.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if state(ctx, t, cli) != swarm.LocalNodeStateInactive {
		t.Skip("this engine is in a swarm already; the test needs one that is not")
	}
	gwBefore, err := networkExists(ctx, cli, gwbridge)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a swarm a test made is left", func(t *testing.T) {
		first, _, err := joinSwarm(cli)
		if err != nil {
			t.Fatal(err)
		}
		second, nodeID, err := joinSwarm(cli)
		if err != nil {
			t.Fatal(err)
		}
		if !labelled(ctx, t, cli, nodeID) {
			t.Error("the node is not labelled as an engine host")
		}
		if err := leaveSwarm(cli, first); err != nil {
			t.Fatal(err)
		}
		if state(ctx, t, cli) != swarm.LocalNodeStateActive {
			t.Error("the swarm was left while a holder still used it")
		}
		if err := leaveSwarm(cli, second); err != nil {
			t.Fatal(err)
		}
		if state(ctx, t, cli) != swarm.LocalNodeStateInactive {
			t.Error("the last holder did not leave the swarm a test made")
		}
		if gw, err := networkExists(ctx, cli, gwbridge); err != nil || gw != gwBefore {
			t.Errorf("docker_gwbridge exists %v (%v), before the swarm %v", gw, err, gwBefore)
		}
	})

	t.Run("a swarm that was there is never left", func(t *testing.T) {
		// The operator's swarm, unlabelled.
		if _, err := cli.SwarmInit(ctx, swarm.InitRequest{ListenAddr: "0.0.0.0:2377", AdvertiseAddr: "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			// Take it down again as the operator would; the shared state
			// says nobody made it, so the helper's cleanup is not used.
			if err := cli.SwarmLeave(context.Background(), true); err != nil {
				t.Errorf("leave the operator's swarm: %v", err)
			}
			if !gwBefore {
				_ = cli.NetworkDisconnect(context.Background(), gwbridge, "gateway_ingress-sbox", true)
				_ = cli.NetworkRemove(context.Background(), gwbridge)
			}
		}()
		holder, nodeID, err := joinSwarm(cli)
		if err != nil {
			t.Fatal(err)
		}
		if !labelled(ctx, t, cli, nodeID) {
			t.Error("the node is not labelled as an engine host")
		}
		if err := leaveSwarm(cli, holder); err != nil {
			t.Fatal(err)
		}
		if state(ctx, t, cli) != swarm.LocalNodeStateActive {
			t.Error("the last holder left a swarm it did not make")
		}
		if labelled(ctx, t, cli, nodeID) {
			t.Error("the label a test added is still on the operator's node")
		}
	})
}

func state(ctx context.Context, t *testing.T, cli *client.Client) swarm.LocalNodeState {
	t.Helper()
	info, err := cli.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.Swarm.LocalNodeState
}

func labelled(ctx context.Context, t *testing.T, cli *client.Client, nodeID string) bool {
	t.Helper()
	n, _, err := cli.NodeInspectWithRaw(ctx, nodeID)
	if err != nil {
		t.Fatal(err)
	}
	return n.Spec.Labels[rtmswarm.EngineHostLabel] == "true"
}
