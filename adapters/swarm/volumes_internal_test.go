package swarm

import (
	"testing"

	"github.com/docker/docker/api/types/swarm"
)

// TestANewGameGoesToTheFitNodeRunningFewestGames: the choice among several
// engine hosts, which a single-node swarm cannot show.
func TestANewGameGoesToTheFitNodeRunningFewestGames(t *testing.T) {
	node := func(id string, labelled bool, state swarm.NodeState, avail swarm.NodeAvailability) swarm.Node {
		n := swarm.Node{ID: id}
		n.Spec.Availability, n.Status.State = avail, state
		if labelled {
			n.Spec.Labels = map[string]string{EngineHostLabel: engineHostValue}
		}
		return n
	}
	fit := func(id string) swarm.Node { return node(id, true, swarm.NodeStateReady, swarm.NodeAvailabilityActive) }
	game := func(nodeID string, parked bool) swarm.Service {
		s := swarm.Service{}
		s.Spec.TaskTemplate.Placement = &swarm.Placement{Constraints: []string{nodeConstraint + nodeID}}
		if parked {
			s.Spec.TaskTemplate.Placement.Constraints = append(s.Spec.TaskTemplate.Placement.Constraints, parkedConstraint)
		}
		return s
	}
	for _, tc := range []struct {
		name     string
		nodes    []swarm.Node
		services []swarm.Service
		want     string // "" for none
	}{
		{"the node with fewer games", []swarm.Node{fit("a"), fit("b")},
			[]swarm.Service{game("a", false), game("a", false), game("b", false)}, "b"},
		{"stopped (parked) games do not count", []swarm.Node{fit("a"), fit("b")},
			[]swarm.Service{game("a", true), game("a", true), game("b", false)}, "a"},
		{"ties go to the lowest id", []swarm.Node{fit("b"), fit("a")}, nil, "a"},
		{"a busier fit node beats idle unfit ones", []swarm.Node{
			fit("busy"),
			node("down", true, swarm.NodeStateDown, swarm.NodeAvailabilityActive),
			node("drained", true, swarm.NodeStateReady, swarm.NodeAvailabilityDrain),
			node("paused", true, swarm.NodeStateReady, swarm.NodeAvailabilityPause),
			node("unlabelled", false, swarm.NodeStateReady, swarm.NodeAvailabilityActive),
		}, []swarm.Service{game("busy", false)}, "busy"},
		{"no fit node", []swarm.Node{node("down", true, swarm.NodeStateDown, swarm.NodeAvailabilityActive)}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := fewestGames(tc.nodes, tc.services)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("got %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}
