package integration

import (
	"context"
	"net/http"
	"testing"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/test/harness"
)

// postToTask posts to one of the sample engine's control endpoints on the
// service's running task.
func postToTask(t *testing.T, s *harness.Service, serviceID, path string) {
	t.Helper()
	resp, err := http.Post(taskURL(t, s, serviceID)+path, "application/json", nil)
	if err != nil {
		t.Fatalf("engine %s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("engine %s: %s", path, resp.Status)
	}
}

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
			func(t *testing.T, sid string) { killBehindRTMsBack(t, s, runningTask(t, s, sid).ID) },
			domain.EventContainerExited, 137, "stopped"},
		{"an engine exiting by itself is an exit with its code", "galaxy/game:1.0.0",
			func(t *testing.T, sid string) { postToTask(t, s, sid, "/control/exit?code=7") },
			domain.EventContainerExited, 7, "stopped"},
		{"an engine over its memory limit is an exit with code 137", "galaxy/game:1.0.1", // 64m
			func(t *testing.T, sid string) { postToTask(t, s, sid, "/control/oom") },
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
			for _, other := range []domain.HealthEventType{domain.EventContainerExited, domain.EventContainerOOM,
				domain.EventContainerDisappeared} {
				want := 0
				if other == tc.event {
					want = 1
				}
				if n := len(eventsOf(t, s, id, other)); n != want {
					t.Errorf("%d %s events, want %d", n, other, want)
				}
			}
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
			rows := opsOf(t, s, id, kind)
			if len(rows) != 1 || rows[0]["op_source"] != "docker_event" || rows[0]["outcome"] != "success" ||
				rows[0]["container_id"] != sid {
				t.Errorf("%s rows %v, want one success from docker_event on %s", kind, rows, sid)
			}
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
// park and remove services; the listener sees each removal (and no end of
// a parked task) and reports nothing. Not parallel: it counts every die the
// listener handles, and the tests of one process share a deployment.
func TestRTMsOwnWorkIsNotReportedOnSwarm(t *testing.T) {
	env := testenv.Swarm(t)
	s := startOnSwarm(t, env)
	id := s.GameID("swown")
	startRunning(t, s, id, "galaxy/game:1.0.0")
	dies, destroys := handled(t, s, "die"), handled(t, s, "destroy")
	steps := []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/restart", nil},                                               // park, service removed
		{http.MethodPost, "/patch", map[string]string{"image_ref": "galaxy/game:1.0.1"}}, // park, service removed
		{http.MethodPost, "/stop", map[string]string{"reason": "admin_request"}},         // park
		{http.MethodDelete, "/container", nil},                                           // service removed
	}
	for _, st := range steps {
		expect(t, call(t, s, st.method, rt(id)+st.path, st.body), 200, "")
	}
	// The last removal's poll saw every task end before it; the game's
	// events are handled in order.
	awaitHandled(t, s, "destroy", destroys+3)
	if n := handled(t, s, "die") - dies; n != 0 {
		t.Errorf("%v dies of parked tasks, want none", n)
	}
	for _, ev := range []domain.HealthEventType{domain.EventContainerExited, domain.EventContainerOOM,
		domain.EventContainerDisappeared} {
		if n := len(eventsOf(t, s, id, ev)); n != 0 {
			t.Errorf("%d %s events for RTM's own work", n, ev)
		}
	}
	for _, kind := range []domain.OpKind{domain.OpReconcileObserveExit, domain.OpReconcileDispose} {
		if n := len(opsOf(t, s, id, kind)); n != 0 {
			t.Errorf("%d %s rows for RTM's own work", n, kind)
		}
	}
	if got := runtime(t, s, id)["status"]; got != "removed" {
		t.Errorf("record %s after cleanup, want removed", got)
	}
}

// TestTwoInstancesReportOneExitOnceOnSwarm: both instances poll the same
// tasks and hear the die; exactly one records it and reports it. Not
// parallel: it counts the dies each listener handles.
func TestTwoInstancesReportOneExitOnceOnSwarm(t *testing.T) {
	env := testenv.Swarm(t)
	vars := map[string]string{"RUNTIME": "swarm", "DOCKER_NETWORK": env.Network}
	s1 := harness.Start(t, harness.Options{Env: vars})
	s2 := harness.Start(t, harness.Options{Env: vars, Peer: s1})
	id := s1.GameID("swtwo")
	sid := startRunning(t, s1, id, "galaxy/game:1.0.0")
	d1, d2 := handled(t, s1, "die"), handled(t, s2, "die")
	killBehindRTMsBack(t, s1, runningTask(t, s1, sid).ID)
	awaitHandled(t, s1, "die", d1+1)
	awaitHandled(t, s2, "die", d2+1)
	if n := len(eventsOf(t, s1, id, domain.EventContainerExited)); n != 1 {
		t.Errorf("%d container_exited events from two instances, want exactly 1", n)
	}
	if n := len(opsOf(t, s1, id, domain.OpReconcileObserveExit)); n != 1 {
		t.Errorf("%d reconcile_observe_exit rows from two instances, want exactly 1", n)
	}
	if got := runtime(t, s1, id)["status"]; got != "stopped" {
		t.Errorf("record %s, want stopped", got)
	}
}

// TestTaskWatchBrokenWhileAnEngineDiesOnSwarm: the manager stops answering
// (a proxy in front of the Docker socket refuses) while a task's container is
// killed; /readyz says the watch is down; once the manager answers again the
// listener's new stream, resumed from where it was, reports the exit it
// missed, and the record is right.
func TestTaskWatchBrokenWhileAnEngineDiesOnSwarm(t *testing.T) {
	t.Parallel()
	env := testenv.Swarm(t)
	proxy := newSocketProxy(t)
	s := startOnSwarm(t, env, "DOCKER_HOST", proxy.Host())
	id := s.GameID("swbroken")
	sid := startRunning(t, s, id, "galaxy/game:1.0.0")
	task := runningTask(t, s, sid).ID
	expect(t, call(t, s, http.MethodGet, "/readyz", nil), 200, "")

	proxy.Cut()
	waitUntil(t, watchTimeout, "/readyz to report the task watch down", func() bool {
		r := call(t, s, http.MethodGet, "/readyz", nil)
		checks, _ := r.Body["checks"].(map[string]any)
		return r.Status == 503 && checks["docker_events"] != "ok"
	})
	killBehindRTMsBack(t, s, task) // the test's own client: not through the proxy
	proxy.Mend()

	ev := awaitEvent(t, s, id, domain.EventContainerExited)
	if ev["container_id"] != sid || detail(ev, "exit_code") != float64(137) {
		t.Errorf("container_exited %v, want service %s, exit_code 137", ev, sid)
	}
	waitUntil(t, watchTimeout, "the record stopped", func() bool { return runtime(t, s, id)["status"] == "stopped" })
	// The listener's, not the reconcile pass's after the reconnect (the
	// service is younger than the default grace, which the pass waits out).
	if rows := opsOf(t, s, id, domain.OpReconcileObserveExit); len(rows) != 1 || rows[0]["op_source"] != "docker_event" {
		t.Errorf("reconcile_observe_exit rows %v, want one from docker_event", rows)
	}
	if n := metricSum(t, s, "rtmanager_events_listener_reconnects_total", nil); n < 1 {
		t.Errorf("reconnects %v, want at least 1", n)
	}
	waitUntil(t, watchTimeout, "/readyz ready again", func() bool {
		return call(t, s, http.MethodGet, "/readyz", nil).Status == 200
	})
}
