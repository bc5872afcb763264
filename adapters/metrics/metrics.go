// Package metrics is the Prometheus side of ports.Metrics and the
// runtimes-by-status gauge (contract §10). docs/runbook.md lists the series;
// a test holds the two together.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

var _ ports.Metrics = (*Metrics)(nil)

// jobKinds are the kinds of Lobby job, one per job stream.
var jobKinds = []ports.JobKind{ports.JobStart, ports.JobStop}

// Metrics owns a private registry so tests can build several side by side.
type Metrics struct {
	reg            *prometheus.Registry
	operations     *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	healthEvents   *prometheus.CounterVec
	leaseConflicts prometheus.Counter
	runtimes       *prometheus.GaugeVec
	jobs           *prometheus.CounterVec
	jobLatency     *prometheus.HistogramVec
	deadLetters    *prometheus.CounterVec
	pending        prometheus.Gauge

	watchMetrics // events listener and probe worker (watch.go)
	*reconcileMetrics
}

// New registers every metric on a fresh registry (with the Go and process
// collectors). The series whose label values are few and known — runtimes by
// status, health events by type, dead letters by job kind, the pending count —
// start at zero, so they are on /metrics from boot and a rate or an alert over
// them needs no first event. Operation and stream-job series have too many
// label combinations, most of which never occur; they appear with their first
// sample.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{
		reg: reg,
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rtmanager_operations_total", Help: "Lifecycle operations by kind, source, outcome and error code.",
		}, []string{"op_kind", "op_source", "outcome", "error_code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rtmanager_operation_duration_seconds", Help: "Lifecycle operation latency.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"op_kind", "outcome"}),
		healthEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rtmanager_health_events_total", Help: "Health events published by type.",
		}, []string{"event_type"}),
		leaseConflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rtmanager_lease_conflicts_total", Help: "Operations refused because the game's lease was busy.",
		}),
		runtimes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rtmanager_runtimes", Help: "Runtime records by status.",
		}, []string{"status"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rtmanager_stream_jobs_total", Help: "Lobby stream jobs answered, by job kind, outcome and error code.",
		}, []string{"job_kind", "outcome", "error_code"}),
		// A replayed job is answered in milliseconds, a real start can take
		// minutes (image pull, readiness gate): both ends need buckets.
		jobLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rtmanager_stream_job_duration_seconds", Help: "From a job's append to the stream (its entry id's time) to its acknowledgement.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"job_kind"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rtmanager_stream_dead_letters_total", Help: "Malformed job entries copied to the dead letters, by job kind.",
		}, []string{"job_kind"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rtmanager_stream_pending", Help: "Entries of the job streams delivered to a consumer of the group and not yet acknowledged (all instances).",
		}),
	}
	f(m.operations)
	f(m.latency)
	f(m.healthEvents)
	f(m.leaseConflicts)
	f(m.runtimes)
	f(m.jobs)
	f(m.jobLatency)
	f(m.deadLetters)
	f(m.pending)       // unlabelled: exported at 0 from registration
	m.SetRuntimes(nil) // every status at 0 until the first count
	m.watchMetrics = newWatchMetrics(reg)
	for _, t := range domain.AllHealthEventTypes {
		m.healthEvents.WithLabelValues(string(t))
	}
	for _, k := range jobKinds {
		m.deadLetters.WithLabelValues(string(k))
	}
	m.reconcileMetrics = newReconcileMetrics(reg)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry exposes the registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// OperationDone implements ports.Metrics.
func (m *Metrics) OperationDone(kind domain.OpKind, source domain.OpSource, outcome domain.Outcome, code domain.ErrorCode, took time.Duration) {
	m.operations.WithLabelValues(string(kind), string(source), string(outcome), string(code)).Inc()
	m.latency.WithLabelValues(string(kind), string(outcome)).Observe(took.Seconds())
}

// HealthEventPublished implements ports.Metrics.
func (m *Metrics) HealthEventPublished(t domain.HealthEventType) {
	m.healthEvents.WithLabelValues(string(t)).Inc()
}

// LeaseConflict implements ports.Metrics.
func (m *Metrics) LeaseConflict() { m.leaseConflicts.Inc() }

// JobDone implements ports.Metrics. took runs from the entry's append (its
// id's time, set by Redis) to its acknowledgement (read on this host); clock
// skew between the two can make it negative, which counts as 0.
func (m *Metrics) JobDone(kind ports.JobKind, outcome domain.Outcome, code domain.ErrorCode, took time.Duration) {
	m.jobs.WithLabelValues(string(kind), string(outcome), string(code)).Inc()
	m.jobLatency.WithLabelValues(string(kind)).Observe(max(took, 0).Seconds())
}

// JobDeadLettered implements ports.Metrics.
func (m *Metrics) JobDeadLettered(kind ports.JobKind) {
	m.deadLetters.WithLabelValues(string(kind)).Inc()
}

// JobsPending implements ports.Metrics.
func (m *Metrics) JobsPending(n int64) { m.pending.Set(float64(n)) }

// RuntimeCounter counts runtime records by status (the PostgreSQL store).
type RuntimeCounter interface {
	CountByStatus(ctx context.Context) (map[domain.Status]int, error)
}

// RefreshRuntimes sets the runtimes-by-status gauge from count at once and
// then every period, until ctx ends. The gauge is read from PostgreSQL rather
// than kept by the lifecycle, so it stays true across instances and restarts.
// A failed count keeps the last values and is logged.
func (m *Metrics) RefreshRuntimes(ctx context.Context, count RuntimeCounter, period time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		counts, err := count.CountByStatus(ctx)
		switch {
		case err == nil:
			m.SetRuntimes(counts)
		case ctx.Err() == nil:
			log.Warn("refresh runtimes gauge", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SetRuntimes sets the runtimes-by-status gauge from a count (absent statuses are 0).
func (m *Metrics) SetRuntimes(counts map[domain.Status]int) {
	for _, s := range domain.AllStatuses {
		m.runtimes.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
}
