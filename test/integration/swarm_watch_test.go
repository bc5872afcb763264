package integration

import (
	"context"
	"net/http"
	"testing"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/test/harness"
)

// TestEventsOnSwarmReportWhatHappensBehindRTMsBack: on swarm a game's
// "container" is its service; what ends its task's engine behind RTM's back
// is reported once, as on docker, by the listener watching task states, and
// a reconcile pass afterwards finds the record right. The swarm has no OOM
// flag: an engine over its memory limit is an exit with code 137.
func TestEventsOnSwarmReportWhatHappensBehindRTMsBack(t *testing.T) {
	t.Parallel()
	env := testenv.Swarm(t)
	s := startOnSwarm(t, env, "RECONCILE_GRACE", "0s")
	r := call(t, s, http.MethodGet, "/readyz", nil)
	if checks, _ := r.Body["checks"].(map[string]any); r.Status != 200 || checks["docker_events"] != "ok" {
		t.Fatalf("/readyz on swarm: %s", r.Raw)
	}
	tests := []struct {
		name     string
		ref      string
		end      func(t *testing.T, sid string)
		event    domain.HealthEventType
		exitCode float64
		// status: the record after the repair and after the next reconcile
		// pass (the service outlives its task's container).
		status string
	}{
		{"docker kill of the task's container is an exit with the signal's code", "galaxy/game:1.0.0",
			func(t *testing.T, sid string) { killTask(t, s, sid) },
			domain.EventContainerExited, 137, "stopped"},
		{"an engine exiting by itself is an exit with its code", "galaxy/game:1.0.0",
			func(t *testing.T, sid string) { postControl(t, taskURL(t, s, sid), "/control/exit?code=7") },
			domain.EventContainerExited, 7, "stopped"},
		{"an engine over its memory limit is an exit with code 137", "galaxy/game:1.0.1", // 64m
			func(t *testing.T, sid string) { postControl(t, taskURL(t, s, sid), "/control/oom") },
			domain.EventContainerExited, 137, "stopped"},
		{"docker rm -f of the task's container is an exit; the service stays, so the record stays stopped",
			"galaxy/game:1.0.0",
			func(t *testing.T, sid string) { removeBehindRTMsBack(t, s, runningTask(t, s, sid).ID) },
			domain.EventContainerExited, 137, "stopped"},
		{"docker service rm is a disappearance", "galaxy/game:1.0.0",
			func(t *testing.T, sid string) {
				dockerDo(t, "docker service rm", func(ctx context.Context) error { return s.Docker.ServiceRemove(ctx, sid) })
			},
			domain.EventContainerDisappeared, 0, "removed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := s.GameID("swev")
			sid := startRunning(t, s, id, tc.ref)
			action, kind := "die", domain.OpReconcileObserveExit
			if tc.event == domain.EventContainerDisappeared {
				action, kind = "destroy", domain.OpReconcileDispose
			}
			before := handled(t, s, action)
			tc.end(t, sid)
			ev := awaitEvent(t, s, id, tc.event)
			awaitHandled(t, s, action, before+1)
			wantOnlyEvent(t, s, id, tc.event)
			if ev["container_id"] != sid {
				t.Errorf("%s %v, want it on service %s", tc.event, ev, sid)
			}
			if tc.event == domain.EventContainerExited &&
				(detail(ev, "exit_code") != tc.exitCode || detail(ev, "oom") != false) {
				t.Errorf("container_exited details %v, want exit_code %v and oom false", ev["details"], tc.exitCode)
			}
			if tc.event == domain.EventContainerDisappeared && detail(ev, "detected_by") != "docker_event" {
				t.Errorf("container_disappeared details %v, want detected_by docker_event", ev["details"])
			}
			wantOneRepair(t, s, id, kind, domain.SourceDockerEvent, sid)
			if got := runtime(t, s, id)["status"]; got != tc.status {
				t.Errorf("record %v, want %s", got, tc.status)
			}
			events := len(healthEvents(t, s, id))
			reconcilePass(t, s)
			if rec := runtime(t, s, id); rec["status"] != tc.status || rec["current_container_id"] != sid {
				t.Errorf("record after a reconcile pass %v, want %s on %s", rec, tc.status, sid)
			}
			if n := len(healthEvents(t, s, id)); n != events {
				t.Errorf("%d health events after the pass, want the %d before it", n, events)
			}
		})
	}
}

// TestRTMsOwnWorkIsNotReportedOnSwarm: restart, patch, stop and cleanup
// park and remove services; the listener sees each removal and no end of a
// parked task, and reports nothing.
func TestRTMsOwnWorkIsNotReportedOnSwarm(t *testing.T) {
	t.Parallel() // startOnSwarm: a deployment of its own
	ownWorkIsSilent(t, startOnSwarm(t, testenv.Swarm(t)), 0)
}

// TestTwoInstancesReportOneExitOnceOnSwarm: both instances poll the same
// tasks and hear the die; exactly one records it and reports it.
func TestTwoInstancesReportOneExitOnceOnSwarm(t *testing.T) {
	t.Parallel()
	env := testenv.Swarm(t)
	s1 := startOnSwarm(t, env) // a deployment of its own, which its peer shares
	peer := harness.Start(t, harness.Options{Env: map[string]string{"RUNTIME": "swarm", "DOCKER_NETWORK": env.Network}, Peer: s1})
	oneExitFromTwoInstances(t, s1, peer, killTask)
}

// TestTaskWatchBrokenWhileAnEngineDiesOnSwarm: the manager stops answering
// (a proxy in front of the Docker socket refuses) while a task's container is
// killed; /readyz says the watch is down; once the manager answers again the
// listener's new stream, resumed from where it was, reports the exit it
// missed, and the record is right.
func TestTaskWatchBrokenWhileAnEngineDiesOnSwarm(t *testing.T) {
	t.Parallel()
	env := testenv.Swarm(t)
	exitSeenAfterABreak(t, func(t *testing.T, dockerHost string) *harness.Service {
		return startOnSwarm(t, env, "DOCKER_HOST", dockerHost)
	}, killTask)
}

// killTask is `docker kill` of the service's running task's container,
// through the test's own client.
func killTask(t *testing.T, s *harness.Service, serviceID string) {
	t.Helper()
	killBehindRTMsBack(t, s, runningTask(t, s, serviceID).ID)
}
