package integration

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/test/harness"
)

// TestEventsListenerReportsWhatHappensBehindRTMsBack: an engine that ends
// without RTM asking is reported once, with Docker's word on how it ended,
// and its record is stopped by a reconcile_observe_exit row from the events
// listener.
func TestEventsListenerReportsWhatHappensBehindRTMsBack(t *testing.T) {
	s := harness.Start(t, harness.Options{Env: noGrace})
	tests := []struct {
		name     string
		ref      string
		end      func(t *testing.T, cid string)
		event    domain.HealthEventType
		exitCode float64
		// destroyed: the container is removed too (Docker sends die, then destroy).
		destroyed bool
	}{
		{"docker kill is an exit with the signal's code", "galaxy/game:1.0.0",
			func(t *testing.T, cid string) { killBehindRTMsBack(t, s, cid) }, "container_exited", 137, false},
		{"an engine exiting by itself is an exit with its code", "galaxy/game:1.0.0",
			func(t *testing.T, cid string) { engineControl(t, s, cid, "/control/exit?code=7") }, "container_exited", 7, false},
		{"an engine over its memory limit is an oom", "galaxy/game:1.0.1", // 64m
			func(t *testing.T, cid string) { engineControl(t, s, cid, "/control/oom") }, "container_oom", 137, false},
		{"docker rm -f of a running engine is an exit, reported at its die, then a removal", "galaxy/game:1.0.0",
			func(t *testing.T, cid string) { removeBehindRTMsBack(t, s, cid) }, "container_exited", 137, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := s.GameID("ev")
			cid := startRunning(t, s, id, tc.ref)
			dies, destroys := handled(t, s, "die"), handled(t, s, "destroy")
			tc.end(t, cid)
			ev := awaitEvent(t, s, id, tc.event)
			awaitHandled(t, s, "die", dies+1)
			if tc.destroyed {
				awaitHandled(t, s, "destroy", destroys+1)
			}
			// Every event of the game is handled now: what was reported stays.
			wantOnlyEvent(t, s, id, tc.event)
			if ev["container_id"] != cid || detail(ev, "exit_code") != tc.exitCode {
				t.Errorf("%s = %v, want container %s and exit_code %v", tc.event, ev, cid, tc.exitCode)
			}
			if tc.event == "container_exited" && detail(ev, "oom") != false {
				t.Errorf("container_exited details %v, want oom false", ev["details"])
			}
			if got := runtime(t, s, id)["status"]; got != "stopped" {
				t.Errorf("record %s, want stopped", got)
			}
			wantOneRepair(t, s, id, domain.OpReconcileObserveExit, domain.SourceDockerEvent, cid)
			h := call(t, s, http.MethodGet, rt(id)+"/health", nil)
			expect(t, h, 200, "")
			if str(h.Body, "last_event_type") != string(tc.event) || str(h.Body, "source") != "docker_event" {
				t.Errorf("health snapshot %s, want the %s from docker_event", h.Raw, tc.event)
			}
			if tc.destroyed {
				// The container is gone: the next reconcile pass records it
				// removed, without another event (the record was stopped).
				reconcilePass(t, s)
				if got := runtime(t, s, id)["status"]; got != "removed" {
					t.Errorf("record %v after a reconcile pass, want removed", got)
				}
				if n := len(eventsOf(t, s, id, domain.EventContainerDisappeared)); n != 0 {
					t.Errorf("%d container_disappeared events for an exit already reported", n)
				}
			}
		})
	}
}

// TestRTMsOwnWorkIsNotReportedAsAnExit: restart, patch, stop and cleanup
// stop and remove containers; the listener sees each die (restart, patch,
// stop) and destroy (restart, patch, cleanup) and reports none of them.
func TestRTMsOwnWorkIsNotReportedAsAnExit(t *testing.T) {
	ownWorkIsSilent(t, harness.Start(t, harness.Options{}), 3)
}

// ownWorkIsSilent drives a game through restart, patch, stop and cleanup and
// checks that the listener handled dies dies and three destroys (restart,
// patch and cleanup remove the engine) and reported and repaired nothing.
// It counts every die the listener handles: its caller must not run in
// parallel unless s has a deployment of its own (the tests of one process
// share one by default).
func ownWorkIsSilent(t *testing.T, s *harness.Service, dies float64) {
	t.Helper()
	id := s.GameID("own")
	startRunning(t, s, id, "galaxy/game:1.0.0")
	dies0, destroys0 := handled(t, s, "die"), handled(t, s, "destroy")
	steps := []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/restart", nil},
		{http.MethodPost, "/patch", map[string]string{"image_ref": "galaxy/game:1.0.1"}},
		{http.MethodPost, "/stop", map[string]string{"reason": "admin_request"}},
		{http.MethodDelete, "/container", nil},
	}
	for _, st := range steps {
		expect(t, call(t, s, st.method, rt(id)+st.path, st.body), 200, "")
	}
	awaitHandled(t, s, "die", dies0+dies)
	// The game's events are handled in order: the cleanup's destroy is last.
	awaitHandled(t, s, "destroy", destroys0+3)
	if n := handled(t, s, "die") - dies0; n != dies {
		t.Errorf("%v dies handled, want %v", n, dies)
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

// TestTwoInstancesReportOneExitOnce: both instances of a deployment hear the
// die; exactly one records it and reports it.
func TestTwoInstancesReportOneExitOnce(t *testing.T) {
	s1 := harness.Start(t, harness.Options{})
	oneExitFromTwoInstances(t, s1, harness.Start(t, harness.Options{Peer: s1}), killBehindRTMsBack)
}

// oneExitFromTwoInstances kills a game's engine (kill gets the game's
// container id) and checks that of the two instances, which both handle
// the die, exactly one records it and reports it. It counts the dies each
// listener handles: its caller must not run in parallel unless the two
// have a deployment of their own.
func oneExitFromTwoInstances(t *testing.T, s1, s2 *harness.Service, kill func(*testing.T, *harness.Service, string)) {
	t.Helper()
	id := s1.GameID("two")
	cid := startRunning(t, s1, id, "galaxy/game:1.0.0")
	d1, d2 := handled(t, s1, "die"), handled(t, s2, "die")
	kill(t, s1, cid)
	awaitHandled(t, s1, "die", d1+1)
	awaitHandled(t, s2, "die", d2+1)
	if n := len(eventsOf(t, s1, id, "container_exited")); n != 1 {
		t.Errorf("%d container_exited events from two instances, want exactly 1", n)
	}
	if n := len(opsOf(t, s1, id, "reconcile_observe_exit")); n != 1 {
		t.Errorf("%d reconcile_observe_exit rows from two instances, want exactly 1", n)
	}
	if got := runtime(t, s1, id)["status"]; got != "stopped" {
		t.Errorf("record %s, want stopped", got)
	}
}

// TestProbeReportsFailureAndRecoveryOnce: an engine failing /healthz is
// reported once after the threshold of consecutive failures, and once when it
// recovers; a healthy engine is never reported. A second engine that keeps
// failing is the test's clock: every failed probe of it is a probe tick.
func TestProbeReportsFailureAndRecoveryOnce(t *testing.T) {
	const threshold = 3
	s := harness.Start(t, harness.Options{Env: map[string]string{
		"PROBE_INTERVAL": "100ms", "PROBE_TIMEOUT": "2s", "PROBE_FAILURES_THRESHOLD": fmt.Sprint(threshold),
	}})
	a, clock := s.GameID("probe-a"), s.GameID("probe-clock")
	aCID := startRunning(t, s, a, "galaxy/game:1.0.0")
	clockCID := startRunning(t, s, clock, "galaxy/game:1.0.0")
	failures := func() float64 { return metricSum(t, s, "rtmanager_probe_failures_total", nil) }
	// awaitTicks waits until n more probe ticks ran, as the clock's failures count them.
	awaitTicks := func(n float64) {
		t.Helper()
		from := failures()
		waitUntil(t, watchTimeout, fmt.Sprintf("%v more probe ticks", n), func() bool { return failures() >= from+n })
	}
	probeEvents := func(id string) (failed, recovered []map[string]any) {
		return eventsOf(t, s, id, "probe_failed"), eventsOf(t, s, id, "probe_recovered")
	}

	engineControl(t, s, clockCID, "/control/fail-probe")
	awaitEvent(t, s, clock, "probe_failed")
	awaitTicks(2 * threshold)
	if f, r := probeEvents(a); len(f)+len(r) != 0 {
		t.Fatalf("a healthy engine was reported: %v %v", f, r)
	}

	engineControl(t, s, aCID, "/control/fail-probe")
	ev := awaitEvent(t, s, a, "probe_failed")
	awaitTicks(2 * threshold) // both engines fail now: at least threshold more ticks
	if f, _ := probeEvents(a); len(f) != 1 {
		t.Errorf("%d probe_failed events, want exactly 1", len(f))
	}
	if detail(ev, "consecutive_failures") != float64(threshold) || detail(ev, "last_error") == "" ||
		ev["container_id"] != aCID {
		t.Errorf("probe_failed %v, want consecutive_failures %d and a last_error", ev, threshold)
	}

	engineControl(t, s, aCID, "/control/recover-probe")
	rec := awaitEvent(t, s, a, "probe_recovered")
	awaitTicks(threshold)
	if f, r := probeEvents(a); len(f) != 1 || len(r) != 1 {
		t.Errorf("%d probe_failed and %d probe_recovered events, want exactly 1 each", len(f), len(r))
	}
	if ms, _ := detail(rec, "failed_for_ms").(float64); ms <= 0 {
		t.Errorf("probe_recovered %v, want failed_for_ms > 0", rec)
	}
	h := call(t, s, http.MethodGet, rt(a)+"/health", nil)
	expect(t, h, 200, "")
	if str(h.Body, "status") != "healthy" || str(h.Body, "last_event_type") != "probe_recovered" ||
		str(h.Body, "source") != "probe" {
		t.Errorf("health snapshot after recovery: %s", h.Raw)
	}
}

// TestInspectReportsAContainerThatIsNotRunning: a paused engine is running
// for its record but not for Docker.
func TestInspectReportsAContainerThatIsNotRunning(t *testing.T) {
	s := harness.Start(t, harness.Options{Env: map[string]string{"INSPECT_INTERVAL": "200ms"}})
	id := s.GameID("inspect")
	cid := startRunning(t, s, id, "galaxy/game:1.0.0")
	dockerDo(t, "docker pause", func(ctx context.Context) error { return s.Docker.ContainerPause(ctx, cid) })
	t.Cleanup(func() {
		dockerDo(t, "docker unpause", func(ctx context.Context) error { return s.Docker.ContainerUnpause(ctx, cid) })
	})
	ev := awaitEvent(t, s, id, "inspect_unhealthy")
	if ev["container_id"] != cid || detail(ev, "reason") != "not_running" ||
		detail(ev, "docker_status") != "paused" || detail(ev, "restart_count") != float64(0) {
		t.Errorf("inspect_unhealthy %v, want not_running, docker_status paused, restart_count 0", ev)
	}
	if got := runtime(t, s, id)["status"]; got != "running" {
		t.Errorf("record %s: the inspect worker reports, it does not repair", got)
	}
}

// TestTwoInstancesReportOneProbeFailureOnce: both instances probe the same
// failing engine and both reach the threshold; the one whose snapshot change
// wins reports it, the other stays silent — and likewise for the recovery.
func TestTwoInstancesReportOneProbeFailureOnce(t *testing.T) {
	const threshold = 2
	env := map[string]string{"PROBE_INTERVAL": "100ms", "PROBE_FAILURES_THRESHOLD": fmt.Sprint(threshold)}
	s1 := harness.Start(t, harness.Options{Env: env})
	s2 := harness.Start(t, harness.Options{Env: env, Peer: s1})
	id := s1.GameID("probe-two")
	cid := startRunning(t, s1, id, "galaxy/game:1.0.0")
	engineControl(t, s1, cid, "/control/fail-probe")
	for _, s := range []*harness.Service{s1, s2} {
		// Each instance failed past its threshold: each has tried to report.
		waitUntil(t, watchTimeout, "both instances past the threshold", func() bool {
			return metricSum(t, s, "rtmanager_probe_failures_total", nil) >= 2*threshold
		})
	}
	if n := len(eventsOf(t, s1, id, "probe_failed")); n != 1 {
		t.Errorf("%d probe_failed events from two instances, want exactly 1", n)
	}
}

// TestEventsStreamBrokenWhileAnEngineDies: the connection to Docker breaks
// and stays broken while an engine is killed; once Docker is reachable again
// the listener subscribes again from the last event it saw, hears the die it
// missed, and records it. Meanwhile /readyz says the stream is down.
func TestEventsStreamBrokenWhileAnEngineDies(t *testing.T) {
	exitSeenAfterABreak(t, func(t *testing.T, dockerHost string) *harness.Service {
		return harness.Start(t, harness.Options{Env: map[string]string{"DOCKER_HOST": dockerHost}})
	}, killBehindRTMsBack)
}

// exitSeenAfterABreak starts a service (start gets the DOCKER_HOST of a
// proxy in front of the Docker socket) and a game, cuts the proxy until
// /readyz says the events stream is down, kills the engine (kill gets the
// game's container id; it must not go through the proxy), mends the proxy,
// and checks that the listener reports and records the exit it missed.
func exitSeenAfterABreak(t *testing.T, start func(t *testing.T, dockerHost string) *harness.Service,
	kill func(*testing.T, *harness.Service, string)) {
	t.Helper()
	proxy := newSocketProxy(t)
	s := start(t, proxy.Host())
	id := s.GameID("broken")
	cid := startRunning(t, s, id, "galaxy/game:1.0.0")
	expect(t, call(t, s, http.MethodGet, "/readyz", nil), 200, "")

	proxy.Cut()
	waitUntil(t, watchTimeout, "/readyz to report the events stream down", func() bool {
		r := call(t, s, http.MethodGet, "/readyz", nil)
		checks, _ := r.Body["checks"].(map[string]any)
		return r.Status == 503 && checks["docker_events"] != "ok"
	})
	kill(t, s, cid)
	proxy.Mend()

	ev := awaitEvent(t, s, id, "container_exited")
	if ev["container_id"] != cid || detail(ev, "exit_code") != float64(137) {
		t.Errorf("container_exited %v, want container %s, exit_code 137", ev, cid)
	}
	waitUntil(t, watchTimeout, "the record stopped", func() bool { return runtime(t, s, id)["status"] == "stopped" })
	// The listener's, not the reconcile pass's after the reconnect (the
	// engine is younger than the default grace, which the pass waits out).
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
