package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// watchMetrics are the series of the events listener and the probe worker
// (contract §10). All are unlabelled, so they are on /metrics from boot.
type watchMetrics struct {
	reconnects    prometheus.Counter
	eventsLag     prometheus.Gauge
	probeFailures prometheus.Counter
}

func newWatchMetrics(reg *prometheus.Registry) watchMetrics {
	w := watchMetrics{
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rtmanager_events_listener_reconnects_total",
			Help: "Times the Docker events stream broke and the listener subscribed again.",
		}),
		eventsLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rtmanager_events_lag_seconds",
			Help: "When the events listener finished handling its last event, how long ago Docker had sent it.",
		}),
		probeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rtmanager_probe_failures_total",
			Help: "Engine probes (GET /healthz by the probe worker) that failed.",
		}),
	}
	reg.MustRegister(w.reconnects, w.eventsLag, w.probeFailures)
	return w
}

// EventsReconnected implements ports.Metrics.
func (w watchMetrics) EventsReconnected() { w.reconnects.Inc() }

// EventHandled implements ports.Metrics. A lag below zero (clock skew
// between the daemon and this host) counts as 0.
func (w watchMetrics) EventHandled(lag time.Duration) { w.eventsLag.Set(max(lag, 0).Seconds()) }

// ProbeFailed implements ports.Metrics.
func (w watchMetrics) ProbeFailed() { w.probeFailures.Inc() }
