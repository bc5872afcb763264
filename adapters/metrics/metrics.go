// Package metrics is the Prometheus side of ports.Metrics, plus the gauges
// and counters the workers and consumers report (SPEC §10).
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/galaxy/rtmanager/core/domain"
)

// Metrics owns a private registry so tests can build several side by side.
type Metrics struct {
	reg            *prometheus.Registry
	operations     *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	healthEvents   *prometheus.CounterVec
	leaseConflicts prometheus.Counter
	// RuntimesByStatus is refreshed from PostgreSQL by the caller.
	RuntimesByStatus *prometheus.GaugeVec
	StreamJobs       *prometheus.CounterVec
	DeadLetters      prometheus.Counter
	ConsumerPending  prometheus.Gauge
	EventReconnects  prometheus.Counter
	ReconcileDrifts  *prometheus.CounterVec
}

// New registers every metric on a fresh registry (with the Go and process collectors).
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
		RuntimesByStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rtmanager_runtimes", Help: "Runtime records by status.",
		}, []string{"status"}),
		StreamJobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rtmanager_stream_jobs_total", Help: "Lobby stream jobs consumed by kind and outcome.",
		}, []string{"job_kind", "outcome"}),
		DeadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rtmanager_dead_letters_total", Help: "Malformed stream entries copied to the dead-letter stream.",
		}),
		ConsumerPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rtmanager_stream_consumer_pending", Help: "Stream entries delivered but not yet acknowledged.",
		}),
		EventReconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rtmanager_docker_events_reconnects_total", Help: "Reconnects of the Docker events listener.",
		}),
		ReconcileDrifts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rtmanager_reconcile_drifts_total", Help: "Drifts the reconciler fixed, by kind.",
		}, []string{"kind"}),
	}
	f(m.operations)
	f(m.latency)
	f(m.healthEvents)
	f(m.leaseConflicts)
	f(m.RuntimesByStatus)
	f(m.StreamJobs)
	f(m.DeadLetters)
	f(m.ConsumerPending)
	f(m.EventReconnects)
	f(m.ReconcileDrifts)
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

// SetRuntimes sets the runtimes-by-status gauge from a count (absent statuses are 0).
func (m *Metrics) SetRuntimes(counts map[domain.Status]int) {
	for _, s := range domain.AllStatuses {
		m.RuntimesByStatus.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
}
