package metrics

import (
	"io"
	"maps"
	"math"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

func TestTheEndpointExposesWhatTheCoreReports(t *testing.T) {
	m := New()
	m.OperationDone(domain.OpStart, domain.SourceGMRest, domain.OutcomeFailure, domain.CodeConflict, 250*time.Millisecond)
	m.HealthEventPublished(domain.EventContainerStarted)
	m.LeaseConflict()
	m.SetRuntimes(map[domain.Status]int{domain.StatusRunning: 3})

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`rtmanager_operations_total{error_code="conflict",op_kind="start",op_source="gm_rest",outcome="failure"} 1`,
		`rtmanager_operation_duration_seconds_count{op_kind="start",outcome="failure"} 1`,
		`rtmanager_health_events_total{event_type="container_started"} 1`,
		`rtmanager_lease_conflicts_total 1`,
		`rtmanager_runtimes{status="running"} 3`,
		`rtmanager_runtimes{status="removed"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// series is one sample of a family, as the registry gathers it.
type series struct {
	value       float64 // counter or gauge
	count       uint64  // histogram
	sum         float64 // histogram
	firstBucket uint64  // histogram: observations in its lowest bucket
}

// samples gathers family name from m, keyed by its label pairs
// (`k="v",…`, sorted by label name as the registry sorts them).
func samples(t *testing.T, m *Metrics, name string) map[string]series {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]series{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			var pairs []string
			for _, l := range s.GetLabel() {
				pairs = append(pairs, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			key := strings.Join(pairs, ",")
			var got series
			switch {
			case s.GetCounter() != nil:
				got.value = s.GetCounter().GetValue()
			case s.GetGauge() != nil:
				got.value = s.GetGauge().GetValue()
			case s.GetHistogram() != nil:
				h := s.GetHistogram()
				got.count, got.sum = h.GetSampleCount(), h.GetSampleSum()
				if b := h.GetBucket(); len(b) > 0 {
					got.firstBucket = b[0].GetCumulativeCount()
				}
			}
			out[key] = got
		}
	}
	return out
}

func keys(m map[string]series) []string { return slices.Sorted(maps.Keys(m)) }

func TestStreamSeriesOfFewKnownLabelsAreThereFromBootAtZero(t *testing.T) {
	m := New()
	dead := samples(t, m, "rtmanager_stream_dead_letters_total")
	if want := []string{`job_kind="start"`, `job_kind="stop"`}; !slices.Equal(keys(dead), want) {
		t.Fatalf("dead letters at boot: %q, want %q", keys(dead), want)
	}
	for k, s := range dead {
		if s.value != 0 {
			t.Errorf("dead letters{%s} at boot is %v, want 0", k, s.value)
		}
	}
	pending := samples(t, m, "rtmanager_stream_pending")
	if s, ok := pending[""]; !ok || len(pending) != 1 || s.value != 0 {
		t.Errorf("pending at boot: %+v, want one unlabelled series at 0", pending)
	}
	// Kind × outcome × code is too many to create empty.
	for _, name := range []string{"rtmanager_stream_jobs_total", "rtmanager_stream_job_duration_seconds"} {
		if got := samples(t, m, name); len(got) != 0 {
			t.Errorf("%s has series before any job: %q", name, keys(got))
		}
	}
}

func TestJobDoneCountsByKindOutcomeAndCodeAndObservesByKind(t *testing.T) {
	m := New()
	m.JobDone(ports.JobStart, domain.OutcomeFailure, domain.CodeImagePullFailed, 2*time.Second)
	m.JobDone(ports.JobStart, domain.OutcomeFailure, domain.CodeImagePullFailed, 4*time.Second)
	m.JobDone(ports.JobStop, domain.OutcomeSuccess, domain.CodeNone, 3*time.Millisecond)
	m.JobDone(ports.JobStop, domain.OutcomeSuccess, domain.CodeReplayNoOp, time.Millisecond)

	jobs := samples(t, m, "rtmanager_stream_jobs_total")
	want := map[string]float64{
		`error_code="image_pull_failed",job_kind="start",outcome="failure"`: 2,
		`error_code="",job_kind="stop",outcome="success"`:                   1,
		`error_code="replay_no_op",job_kind="stop",outcome="success"`:       1,
	}
	if !slices.Equal(keys(jobs), slices.Sorted(maps.Keys(want))) {
		t.Fatalf("jobs series %q, want %q", keys(jobs), slices.Sorted(maps.Keys(want)))
	}
	for k, v := range want {
		if jobs[k].value != v {
			t.Errorf("jobs{%s} = %v, want %v", k, jobs[k].value, v)
		}
	}

	took := samples(t, m, "rtmanager_stream_job_duration_seconds")
	if got := keys(took); !slices.Equal(got, []string{`job_kind="start"`, `job_kind="stop"`}) {
		t.Fatalf("duration series %q, want one per job kind", got)
	}
	if s := took[`job_kind="start"`]; s.count != 2 || s.sum != 6 {
		t.Errorf("start duration: count %d sum %v, want 2 and 6", s.count, s.sum)
	}
	if s := took[`job_kind="stop"`]; s.count != 2 || math.Abs(s.sum-0.004) > 1e-9 || s.firstBucket != 1 {
		t.Errorf("stop duration: count %d sum %v first bucket %d, want 2, 0.004 and 1 (the 1 ms replay)", s.count, s.sum, s.firstBucket)
	}

	// Jobs are not operations: the operation series stay untouched.
	if got := samples(t, m, "rtmanager_operations_total"); len(got) != 0 {
		t.Errorf("JobDone moved the operation counter: %q", keys(got))
	}
}

func TestJobDoneObservesANegativeDurationAsZero(t *testing.T) {
	m := New()
	m.JobDone(ports.JobStart, domain.OutcomeSuccess, domain.CodeNone, -3*time.Second)
	s := samples(t, m, "rtmanager_stream_job_duration_seconds")[`job_kind="start"`]
	if s.count != 1 || s.sum != 0 || s.firstBucket != 1 {
		t.Errorf("a -3 s job: count %d sum %v lowest bucket %d, want 1, 0 and 1", s.count, s.sum, s.firstBucket)
	}
}

func TestJobDeadLetteredCountsByKind(t *testing.T) {
	m := New()
	m.JobDeadLettered(ports.JobStop)
	m.JobDeadLettered(ports.JobStop)
	dead := samples(t, m, "rtmanager_stream_dead_letters_total")
	if got := dead[`job_kind="stop"`].value; got != 2 {
		t.Errorf("dead letters{stop} = %v, want 2", got)
	}
	if got := dead[`job_kind="start"`].value; got != 0 {
		t.Errorf("dead letters{start} = %v, want 0", got)
	}
}

func TestJobsPendingSetsTheGauge(t *testing.T) {
	m := New()
	for _, n := range []int64{7, 3, 0} {
		m.JobsPending(n)
		if got := samples(t, m, "rtmanager_stream_pending")[""].value; got != float64(n) {
			t.Errorf("after JobsPending(%d) the gauge is %v", n, got)
		}
	}
}

func TestWatchMetrics(t *testing.T) {
	m := New()
	m.EventsReconnected()
	m.EventsReconnected()
	m.ProbeFailed()
	m.EventHandled(ports.ActionDie, 0)
	events := samples(t, m, "rtmanager_docker_events_total")
	if events[`action="die"`].value != 1 || events[`action="destroy"`].value != 0 {
		t.Errorf("events by action = %+v, want one die and no destroy", events)
	}
	if got := samples(t, m, "rtmanager_events_listener_reconnects_total")[""].value; got != 2 {
		t.Errorf("reconnects = %v, want 2", got)
	}
	if got := samples(t, m, "rtmanager_probe_failures_total")[""].value; got != 1 {
		t.Errorf("probe failures = %v, want 1", got)
	}
	tests := []struct {
		name string
		lag  time.Duration
		want float64
	}{
		{"the lag of the last event handled is the gauge", 1500 * time.Millisecond, 1.5},
		{"a lag below zero (clock skew) is 0", -time.Second, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m.EventHandled("other", tc.lag)
			if got := samples(t, m, "rtmanager_events_lag_seconds")[""].value; got != tc.want {
				t.Errorf("lag gauge = %v, want %v", got, tc.want)
			}
		})
	}
}
