package watch_test

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/watch"
	"github.com/galaxy/rtmanager/ports"
	"github.com/galaxy/rtmanager/ports/mocks"
)

// look is what Docker says of a container at one tick.
type look struct {
	state    string
	health   string
	restarts int
	gone     bool
}

var (
	well     = look{state: "running"}
	restart1 = look{state: "running", restarts: 1}
	restart2 = look{state: "running", restarts: 2}
	exited   = look{state: "exited"}
	sick     = look{state: "running", health: "unhealthy"}
	gone     = look{gone: true}
)

// inspectWorld is a world with an inspect worker whose containers look as scripted.
type inspectWorld struct {
	*world
	inspect *watch.Inspect
	mu      sync.Mutex
	looks   map[string]look // by container id
}

func newInspectWorld(t *testing.T) *inspectWorld {
	w := &inspectWorld{world: newWorld(t), looks: map[string]look{}}
	docker := mocks.NewMockDocker(gomock.NewController(t))
	docker.EXPECT().InspectContainer(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, id string) (ports.ContainerInfo, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		l := w.looks[id]
		if l.gone {
			return ports.ContainerInfo{}, errGone
		}
		return ports.ContainerInfo{ID: id, State: l.state, Running: l.state == "running", Health: l.health, RestartCount: l.restarts}, nil
	}).AnyTimes()
	// The record is read again before a report: it still runs what was listed.
	w.records.EXPECT().Get(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, id string) (domain.Record, error) {
		w.world.mu.Lock()
		defer w.world.mu.Unlock()
		for _, r := range w.running {
			if r.GameID == id {
				return r, nil
			}
		}
		return domain.Record{GameID: id, Status: domain.StatusStopped}, nil
	}).AnyTimes()
	w.inspect = watch.NewInspect(tickStep, watch.InspectDeps{Records: w.records, Docker: docker, Health: w.emitter,
		Clock: w.clock, Logger: quiet})
	return w
}

func (w *inspectWorld) tick(looks map[string]look) {
	w.mu.Lock()
	for id, l := range looks {
		w.looks[id] = l
	}
	w.mu.Unlock()
	w.inspect.Tick(context.Background())
	w.advance()
}

func unhealthy(reason string, l look) map[string]any {
	return map[string]any{"reason": reason, "restart_count": l.restarts, "docker_status": l.state, "health_status": l.health}
}

func TestInspectFindings(t *testing.T) {
	tests := []struct {
		name  string
		looks []look
		want  []map[string]any
	}{
		{"a well container is never reported", []look{well, well, well}, nil},
		{"the first look only sets the restart-count baseline", []look{restart2, restart2}, nil},
		{"a grown restart count is reported once", []look{well, restart1, restart1, restart1},
			[]map[string]any{unhealthy("restart_count_increased", restart1)}},
		{"each growth of the restart count is reported", []look{well, restart1, restart2},
			[]map[string]any{unhealthy("restart_count_increased", restart1), unhealthy("restart_count_increased", restart2)}},
		{"a container not running is reported once, even on the first look", []look{exited, exited},
			[]map[string]any{unhealthy("not_running", exited)}},
		{"an unhealthy healthcheck is reported once", []look{well, sick, sick},
			[]map[string]any{unhealthy("healthcheck_unhealthy", sick)}},
		{"a container unwell again after being well is reported again", []look{sick, well, sick},
			[]map[string]any{unhealthy("healthcheck_unhealthy", sick), unhealthy("healthcheck_unhealthy", sick)}},
		{"a missing container is left to the listener and the reconciler", []look{well, gone, gone}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newInspectWorld(t)
			w.run(map[string]string{"g": "c1"})
			for _, l := range tc.looks {
				w.tick(map[string]look{"c1": l})
			}
			var got []map[string]any
			for _, ev := range w.events() {
				if ev.Type != domain.EventInspectUnhealthy || ev.ContainerID != "c1" || ev.GameID != "g" {
					t.Errorf("event %+v, want inspect_unhealthy of g's c1", ev)
				}
				got = append(got, ev.Details)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("details %v, want %v", got, tc.want)
			}
		})
	}
}

// TestInspectForgetsWhatNoLongerRuns: a new container, or a game running
// again after a pause in its lifetime, starts a new baseline.
func TestInspectForgetsWhatNoLongerRuns(t *testing.T) {
	tests := []struct {
		name    string
		between func(w *inspectWorld)
	}{
		{"a game running another container", func(w *inspectWorld) { w.run(map[string]string{"g": "c2"}) }},
		{"a game no longer running", func(w *inspectWorld) {
			w.run(map[string]string{})
			w.tick(nil)
			w.run(map[string]string{"g": "c1"})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newInspectWorld(t)
			w.run(map[string]string{"g": "c1"})
			w.tick(map[string]look{"c1": well})
			tc.between(w)
			// The restart count of the new lifetime is a baseline, not a growth.
			w.tick(map[string]look{"c1": restart2, "c2": restart2})
			if got := w.events(); len(got) != 0 {
				t.Errorf("events %v: the baseline outlived its lifetime", got)
			}
		})
	}
}

// TestInspectLeavesAnExitTheListenerRecordedToIt: a container found exited
// whose record no longer runs it (the events listener was first) is not
// reported again.
func TestInspectLeavesAnExitTheListenerRecordedToIt(t *testing.T) {
	w := newInspectWorld(t)
	w.run(map[string]string{"g": "c1"})
	w.tick(map[string]look{"c1": well})
	w.world.mu.Lock()
	w.stopAfterList = true
	w.world.mu.Unlock()
	w.tick(map[string]look{"c1": exited})
	if got := w.events(); len(got) != 0 {
		t.Errorf("events %v for an exit the record already shows", got)
	}
}
