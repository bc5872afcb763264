package integration

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/test/harness"
)

// watchTimeout bounds every wait for what a watcher does: generous, since a
// loaded machine can make Docker slow; a passing run waits far less.
const watchTimeout = 90 * time.Second

// startRunning starts a game over REST and returns its container id.
func startRunning(t *testing.T, s *harness.Service, id, ref string) string {
	t.Helper()
	r := start(t, s, id, ref)
	expect(t, r, 200, "")
	return str(r.Body, "current_container_id")
}

// awaitEvent waits until the game has at least one health event of the type
// and returns the first.
func awaitEvent(t *testing.T, s *harness.Service, id string, eventType domain.HealthEventType) map[string]any {
	t.Helper()
	var evs []map[string]any
	waitUntil(t, watchTimeout, string(eventType)+" of "+id, func() bool {
		evs = eventsOf(t, s, id, eventType)
		return len(evs) > 0
	})
	return evs[0]
}

// awaitHandled waits until the service's events listener has handled at
// least n Docker events of the action: every repair they asked for is done.
func awaitHandled(t *testing.T, s *harness.Service, action string, n float64) {
	t.Helper()
	waitUntil(t, watchTimeout, "the listener to handle "+action+" events", func() bool {
		return metricSum(t, s, "rtmanager_docker_events_total", map[string]string{"action": action}) >= n
	})
}

// handled is how many Docker events of the action the listener has handled.
func handled(t *testing.T, s *harness.Service, action string) float64 {
	t.Helper()
	return metricSum(t, s, "rtmanager_docker_events_total", map[string]string{"action": action})
}

// engineControl posts to one of the sample engine's control endpoints.
func engineControl(t *testing.T, s *harness.Service, cid, path string) {
	t.Helper()
	postControl(t, engineURL(t, s, cid), path)
}

// postControl posts to a control endpoint of the sample engine at base.
func postControl(t *testing.T, base, path string) {
	t.Helper()
	resp, err := http.Post(base+path, "application/json", nil)
	if err != nil {
		t.Fatalf("engine %s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("engine %s: %s", path, resp.Status)
	}
}

// dockerDo runs one Docker call of the test itself (behind RTM's back).
func dockerDo(t *testing.T, what string, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f(ctx); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// detail reads one key of an event's details (as eventsOf decodes them).
func detail(ev map[string]any, key string) any {
	d, _ := ev["details"].(map[string]any)
	return d[key]
}
