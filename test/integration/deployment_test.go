package integration

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/galaxy/rtmanager/adapters/docker"
	"github.com/galaxy/rtmanager/di"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/internal/testenv/dockertest"
	"github.com/galaxy/rtmanager/ports"
	"github.com/galaxy/rtmanager/test/harness"
)

// dockerOf is the Docker adapter service s builds for itself (the same
// provider, the same configuration), so a test sees containers as s does.
func dockerOf(t *testing.T, s *harness.Service) *docker.Client {
	t.Helper()
	d, closeD, err := di.ProvideDocker(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeD)
	return d
}

// ownedIDs lists the ids of the containers s's adapter calls its own, failing
// the test on any that is not ours by s's deployment.
func ownedIDs(t *testing.T, s *harness.Service) []string {
	t.Helper()
	list, err := dockerOf(t, s).ListOwned(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		if !c.OwnedBy(s.Config.Deployment) {
			t.Errorf("deployment %s lists a container that is not its own: %v", s.Config.Deployment, c.Labels)
		}
		ids = append(ids, c.ID)
	}
	return ids
}

// checkUntouched fails unless the container is still as before: the same one
// under the game's name (nothing took the name over), running, and never
// restarted.
func checkUntouched(t *testing.T, s *harness.Service, before container.InspectResponse) {
	t.Helper()
	c := inspect(t, s, strings.TrimPrefix(before.Name, "/"))
	if c.ID != before.ID || !c.State.Running || c.State.StartedAt != before.State.StartedAt {
		t.Errorf("container %s was touched: now %s, running %v, started %s (was %s, started %s)",
			before.Name, c.ID, c.State.Running, c.State.StartedAt, before.ID, before.State.StartedAt)
	}
}

// TestStartOverAnotherDeploymentsContainerIsAConflict: a container named like
// one of our games, with RTM's owner label but another deployment's label, is
// what another RTM on the same Docker host runs. Starting the game is a
// conflict that leaves it alone and records nothing running (contract §3, §4).
func TestStartOverAnotherDeploymentsContainerIsAConflict(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	id := s.GameID("foreign")
	spec := dockertest.EngineSpec(id, dockertest.Image100, t.TempDir())
	spec.Labels[ports.LabelDeployment] = testenv.UniqueName("other")
	started, _ := dockertest.StartEngine(t, dockerOf(t, s), spec)
	foreign := inspect(t, s, started.ID)

	r := start(t, s, id, dockertest.Image100)
	expect(t, r, http.StatusConflict, "conflict")
	expectOutcome(t, r, "failure")

	checkUntouched(t, s, foreign)
	expect(t, call(t, s, http.MethodGet, rt(id), nil), http.StatusNotFound, "not_found")
	if slices.Contains(ownedIDs(t, s), foreign.ID) {
		t.Error("the other deployment's container is listed as ours")
	}
}

// TestTwoDeploymentsShareOneDockerHost: two services, each its own
// deployment with its own database, on one Docker host. Each lists only its
// own engines, and a start over a name the other holds is a conflict that
// leaves the other's engine and record as they were.
func TestTwoDeploymentsShareOneDockerHost(t *testing.T) {
	a := harness.Start(t, harness.Options{})
	b := harness.Start(t, harness.Options{Env: map[string]string{"DEPLOYMENT": testenv.UniqueName("b")}})
	idA, idB := a.GameID("dep-a"), b.GameID("dep-b")
	startedA := start(t, a, idA, dockertest.Image100)
	expect(t, startedA, http.StatusOK, "")
	startedB := start(t, b, idB, dockertest.Image100)
	expect(t, startedB, http.StatusOK, "")
	cidA, cidB := str(startedA.Body, "current_container_id"), str(startedB.Body, "current_container_id")

	for _, tc := range []struct {
		name       string
		s          *harness.Service
		own, other string
	}{
		{"a", a, cidA, cidB},
		{"b", b, cidB, cidA},
	} {
		ids := ownedIDs(t, tc.s)
		if !slices.Contains(ids, tc.own) || slices.Contains(ids, tc.other) {
			t.Errorf("deployment %s lists %v: want its own %s and not the other's %s", tc.name, ids, tc.own, tc.other)
		}
	}

	before := inspect(t, a, cidA)
	expect(t, start(t, b, idA, dockertest.Image100), http.StatusConflict, "conflict")
	checkUntouched(t, a, before)
	expect(t, call(t, b, http.MethodGet, rt(idA), nil), http.StatusNotFound, "not_found")
	got := call(t, a, http.MethodGet, rt(idA), nil)
	expect(t, got, http.StatusOK, "")
	if str(got.Body, "status") != "running" || str(got.Body, "current_container_id") != cidA {
		t.Errorf("deployment a's record after b's start: %s", got.Raw)
	}
}
