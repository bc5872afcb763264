package swarm

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/galaxy/rtmanager/adapters/docker"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// Volumes is ports.StateDirs on swarm: a game's state is a named volume of
// the local driver on its node, made there by the swarm when the game's
// first task starts (labelled as the service is, less the per-engine
// labels). Choosing the volume is choosing the node, so Ensure also places
// the game. Nothing here creates or removes a volume: RTM never removes one.
type Volumes struct {
	d *docker.Client
}

var _ ports.StateDirs = (*Volumes)(nil)

// NewVolumes builds the state port on d, a client of a swarm manager's daemon.
func NewVolumes(d *docker.Client) *Volumes { return &Volumes{d: d} }

// VolumeName is the name of a game's state volume.
func VolumeName(gameID string) string { return domain.ContainerName(gameID) + "-state" }

// Ensure places the game and names its volume. A pinned game stays on its
// node, which must still be in the swarm, ready, active and an engine host;
// a new game goes to the eligible node running the fewest games. Anything
// else is ports.ErrNoEngineHost: a game never starts away from its state.
func (v *Volumes) Ensure(ctx context.Context, gameID, pinned string) (ports.StateDir, error) {
	var node string
	var refused error // kept apart from the daemon's errors, which Call words
	err := v.d.Call(ctx, "place game "+gameID, 0, func(ctx context.Context, api *client.Client) error {
		var err error
		if pinned != "" {
			node, refused, err = checkPinned(ctx, api, gameID, pinned)
		} else {
			node, refused, err = pick(ctx, api)
		}
		return err
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return ports.StateDir{}, err
	}
	return ports.StateDir{Path: VolumeName(gameID), Node: node}, nil
}

// RemoveIfEmpty does nothing: Ensure never creates a volume, so no failed
// start has one to take back.
func (v *Volumes) RemoveIfEmpty(context.Context, string) error { return nil }

// checkPinned answers the game's node when it can run the game, else why
// not (refused wraps ports.ErrNoEngineHost); err is the daemon's failure.
func checkPinned(ctx context.Context, api *client.Client, gameID, nodeID string) (node string, refused, err error) {
	n, _, err := api.NodeInspectWithRaw(ctx, nodeID)
	if client.IsErrNotFound(err) {
		return "", fmt.Errorf("%w: node %s, which holds game %s's state, is no longer in the swarm", ports.ErrNoEngineHost, nodeID, gameID), nil
	}
	if err != nil {
		return "", nil, err
	}
	if why := unfit(n); why != "" {
		return "", fmt.Errorf("%w: node %s (%s), which holds game %s's state, %s; the game starts nowhere else",
			ports.ErrNoEngineHost, nodeID, n.Description.Hostname, gameID, why), nil
	}
	return nodeID, nil, nil
}

// pick answers the eligible node running the fewest of RTM's games (of
// every deployment: they share the nodes), the lowest id among equals; or,
// as for checkPinned, why there is none.
func pick(ctx context.Context, api *client.Client) (node string, refused, err error) {
	nodes, err := api.NodeList(ctx, swarm.NodeListOptions{Filters: filters.NewArgs(
		filters.Arg("node.label", EngineHostLabel+"="+engineHostValue))})
	if err != nil {
		return "", nil, err
	}
	services, err := api.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(
		filters.Arg("label", ports.LabelOwner+"="+ports.OwnerValue))})
	if err != nil {
		return "", nil, err
	}
	node, ok := fewestGames(nodes, services)
	if !ok {
		return "", fmt.Errorf("%w: no node of the swarm is labelled %s=%s, ready and active",
			ports.ErrNoEngineHost, EngineHostLabel, engineHostValue), nil
	}
	return node, nil, nil
}

// fewestGames is the fit node running the fewest of the services' games,
// the lowest id among equals; false when no node is fit.
func fewestGames(nodes []swarm.Node, services []swarm.Service) (string, bool) {
	nodes = slices.DeleteFunc(slices.Clone(nodes), func(n swarm.Node) bool { return unfit(n) != "" })
	if len(nodes) == 0 {
		return "", false
	}
	games := map[string]int{}
	for _, s := range services {
		if node, running := placedOn(s); running {
			games[node]++
		}
	}
	best := slices.MinFunc(nodes, func(a, b swarm.Node) int {
		if d := games[a.ID] - games[b.ID]; d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return best.ID, true
}

// unfit says why a node cannot take an engine, or "".
func unfit(n swarm.Node) string {
	switch {
	case n.Spec.Labels[EngineHostLabel] != engineHostValue:
		return "is not labelled " + EngineHostLabel + "=" + engineHostValue
	case n.Status.State != swarm.NodeStateReady:
		return "is " + string(n.Status.State)
	case n.Spec.Availability != swarm.NodeAvailabilityActive:
		return "is " + availability(n.Spec.Availability)
	}
	return ""
}

func availability(a swarm.NodeAvailability) string {
	switch a {
	case swarm.NodeAvailabilityDrain:
		return "drained"
	case swarm.NodeAvailabilityPause:
		return "paused"
	}
	return string(a)
}

// placedOn is the node a service of RTM is pinned to, and whether it runs
// there (is not parked by a stop).
func placedOn(s swarm.Service) (node string, running bool) {
	p := s.Spec.TaskTemplate.Placement
	if p == nil {
		return "", false
	}
	for _, c := range p.Constraints {
		if id, ok := strings.CutPrefix(c, nodeConstraint); ok {
			node = id
		}
	}
	return node, node != "" && !slices.Contains(p.Constraints, parkedConstraint)
}
