package watch_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/core/watch"
	"github.com/galaxy/rtmanager/ports/mocks"
)

const threshold = 3

// probeWorld is a world with a probe worker whose engines answer as scripted.
type probeWorld struct {
	*world
	probe *watch.Probe
	mu    sync.Mutex
	fail  map[string]bool // by engine base URL
}

func newProbeWorld(t *testing.T, concurrency int) *probeWorld {
	w := &probeWorld{fail: map[string]bool{}}
	w.world, w.probe = newProbe(t, concurrency, func(_ context.Context, base string) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.fail[base] {
			return errDown
		}
		return nil
	})
	return w
}

// newProbe builds a probe worker in a new world whose engines answer healthz.
func newProbe(t *testing.T, concurrency int, healthz func(ctx context.Context, base string) error) (*world, *watch.Probe) {
	w := newWorld(t)
	prober := mocks.NewMockEngineProber(gomock.NewController(t))
	prober.EXPECT().Healthz(gomock.Any(), gomock.Any()).DoAndReturn(healthz).AnyTimes()
	w.metrics.EXPECT().ProbeFailed().AnyTimes()
	return w, watch.NewProbe(watch.ProbeConfig{Interval: tickStep, Timeout: tickStep, Threshold: threshold, Concurrency: concurrency},
		watch.ProbeDeps{Records: w.records, Prober: prober, Addresses: lifecycle.EngineAddresses{Mode: lifecycle.AddressEndpoint},
			Health: w.emitter, Clock: w.clock, Metrics: w.metrics, Logger: quiet})
}

// tick runs one probe tick in which each game's engine answers as given
// (true: 200, false: refused), then moves the clock on.
func (w *probeWorld) tick(ok map[string]bool) {
	w.mu.Lock()
	for g, up := range ok {
		w.fail[domain.EngineEndpoint(g)] = !up
	}
	w.mu.Unlock()
	w.probe.Tick(context.Background())
	w.advance()
}

// probeEvent is what a test expects of one published event.
type probeEvent struct {
	typ     domain.HealthEventType
	details map[string]any
}

func probeEvents(evs []domain.HealthEvent) []probeEvent {
	var out []probeEvent
	for _, e := range evs {
		out = append(out, probeEvent{e.Type, e.Details})
	}
	return out
}

var (
	failedAt3 = probeEvent{domain.EventProbeFailed, map[string]any{"consecutive_failures": threshold, "last_error": errDown.Error()}}
	// recoveredAfter: the first failure was n ticks before the recovery.
	recoveredAfter = func(n int) probeEvent {
		return probeEvent{domain.EventProbeRecovered, map[string]any{"failed_for_ms": int64(n) * tickStep.Milliseconds()}}
	}
)

func TestProbeHysteresis(t *testing.T) {
	const u, d = true, false
	tests := []struct {
		name    string
		answers []bool
		want    []probeEvent
	}{
		{"a healthy engine is never reported", []bool{u, u, u, u, u}, nil},
		{"failures below the threshold are not reported", []bool{d, d, u, d, d, u}, nil},
		{"the threshold of consecutive failures is reported once", []bool{d, d, d, d, d, d, d}, []probeEvent{failedAt3}},
		{"the first success after a report is reported once", []bool{d, d, d, d, u, u, u}, []probeEvent{failedAt3, recoveredAfter(4)}},
		{"a failure after a recovery starts counting anew", []bool{d, d, d, u, d, d, u, d, d, d},
			[]probeEvent{failedAt3, recoveredAfter(3), failedAt3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newProbeWorld(t, 4)
			w.run(map[string]string{"g": "c1"})
			for _, up := range tc.answers {
				w.tick(map[string]bool{"g": up})
			}
			if got := probeEvents(w.events()); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("events %v, want %v", got, tc.want)
			}
		})
	}
}

// TestProbeForgetsWhatNoLongerRuns: a game that stops running, or runs
// another container, starts its count from zero.
func TestProbeForgetsWhatNoLongerRuns(t *testing.T) {
	tests := []struct {
		name string
		// between runs between the first two failures and the last one.
		between func(w *probeWorld)
	}{
		{"a game no longer running", func(w *probeWorld) {
			w.run(map[string]string{})
			w.tick(nil)
			w.run(map[string]string{"g": "c1"})
		}},
		{"a game running another container", func(w *probeWorld) { w.run(map[string]string{"g": "c2"}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newProbeWorld(t, 4)
			w.run(map[string]string{"g": "c1"})
			w.tick(map[string]bool{"g": false})
			w.tick(map[string]bool{"g": false})
			tc.between(w)
			w.tick(map[string]bool{"g": false})
			if got := w.events(); len(got) != 0 {
				t.Errorf("events %v: the count went on across a new lifetime", got)
			}
			w.tick(map[string]bool{"g": false})
			w.tick(map[string]bool{"g": false})
			if got := probeEvents(w.events()); !reflect.DeepEqual(got, []probeEvent{failedAt3}) {
				t.Errorf("events %v after three failures of the new lifetime, want %v", got, failedAt3)
			}
		})
	}
}

// TestProbeLeavesAChangeAnotherInstanceStoredUnpublished: the failure stays
// counted when the report was another instance's, so the recovery is still
// offered.
func TestProbeLeavesAChangeAnotherInstanceStoredUnpublished(t *testing.T) {
	w := newProbeWorld(t, 4)
	w.run(map[string]string{"g": "c1"})
	w.lost = true
	for range threshold {
		w.tick(map[string]bool{"g": false})
	}
	if got := w.events(); len(got) != 0 {
		t.Fatalf("events %v published for a change another instance stored", got)
	}
	w.lost = false
	w.tick(map[string]bool{"g": true})
	if got := probeEvents(w.events()); !reflect.DeepEqual(got, []probeEvent{recoveredAfter(threshold)}) {
		t.Errorf("events %v, want the recovery", got)
	}
}

// TestProbeTickProbesEveryGameWithinItsConcurrency: each running game is
// probed once per tick, never more than Concurrency at once.
func TestProbeTickProbesEveryGameWithinItsConcurrency(t *testing.T) {
	const games, concurrency = 40, 3
	var mu sync.Mutex
	inFlight, peak, probed := 0, 0, map[string]int{}
	w, p := newProbe(t, concurrency, func(_ context.Context, base string) error {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		probed[base]++
		mu.Unlock()
		time.Sleep(time.Millisecond) // an engine answering: probes overlap if nothing bounds them
		mu.Lock()
		inFlight--
		mu.Unlock()
		return nil
	})
	all := map[string]string{}
	for i := range games {
		all[fmt.Sprintf("g%02d", i)] = "c"
	}
	w.run(all)
	p.Tick(context.Background())
	if peak > concurrency {
		t.Errorf("%d probes at once, want at most %d", peak, concurrency)
	}
	if len(probed) != games || probed[domain.EngineEndpoint("g00")] != 1 {
		t.Errorf("%d engines probed (g00 %d times), want %d, each once", len(probed), probed[domain.EngineEndpoint("g00")], games)
	}
}
