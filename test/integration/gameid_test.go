package integration

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/internal/testenv/dockertest"
	"github.com/galaxy/rtmanager/test/harness"
)

// TestLongestGameIDIsReachableByNameOnTheNetwork: a game id of the longest
// legal length (51) gives the 63-character DNS label galaxy-game-{game_id},
// and another container on the network reaches the engine by that name, as
// Game Master does through engine_endpoint.
func TestLongestGameIDIsReachableByNameOnTheNetwork(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	const longest = 51
	id := s.GameID(strings.Repeat("L", longest-len(testenv.UniqueName(""))))
	if len(id) != longest {
		t.Fatalf("built a %d-character game id %q, want %d", len(id), id, longest)
	}
	name := "galaxy-game-" + id

	r := start(t, s, id, "galaxy/game:1.0.0")
	expect(t, r, 200, "")
	endpoint := str(r.Body, "engine_endpoint")
	if endpoint != "http://"+name+":8080" {
		t.Fatalf("engine_endpoint %q, want http://%s:8080", endpoint, name)
	}
	// Name and hostname are the label, among the rest of the container model.
	checkContainer(t, s, id, str(r.Body, "current_container_id"), "galaxy/game:1.0.0", filepath.Join(s.StateRoot, id))

	if p := dockertest.Probe(t, s.Config.DockerNetwork, endpoint+"/healthz"); p.ExitCode != 0 {
		t.Errorf("a container on %s did not reach %s/healthz: exit %d\n%s", s.Config.DockerNetwork, endpoint, p.ExitCode, p.Logs)
	}
	// The same probe of a name nobody holds fails, so the success above is
	// the engine answering, not a probe that cannot fail.
	nobody := "http://galaxy-game-" + testenv.UniqueName("nobody") + ":8080/healthz"
	if p := dockertest.Probe(t, s.Config.DockerNetwork, nobody); p.ExitCode == 0 {
		t.Errorf("the probe of %s, which nothing answers, exited 0:\n%s", nobody, p.Logs)
	}
}
