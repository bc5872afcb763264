package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/galaxy/rtmanager/ports"
)

// watchMetrics are the series of the events listener and the probe worker
// (contract §10). Their label values are few and known, so every series is
// on /metrics from boot.
type watchMetrics struct {
	events        *prometheus.CounterVec
	reconnects    prometheus.Counter
	eventsLag     prometheus.Gauge
	probeFailures prometheus.Counter
}

func newWatchMetrics(reg *prometheus.Registry) watchMetrics {
	w := watchMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rtmanager_docker_events_total",
			Help: "Docker events of this deployment's containers the events listener has handled, by action.",
		}, []string{"action"}),
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
	reg.MustRegister(w.events, w.reconnects, w.eventsLag, w.probeFailures)
	for _, a := range eventActions {
		w.events.WithLabelValues(a)
	}
	return w
}

// EventsReconnected implements ports.Metrics.
func (w watchMetrics) EventsReconnected() { w.reconnects.Inc() }

// eventActions are the values of the action label.
var eventActions = []string{ports.ActionDie, ports.ActionOOM, ports.ActionDestroy, "other"}

// EventHandled implements ports.Metrics. A lag below zero (clock skew
// between the daemon and this host) counts as 0.
func (w watchMetrics) EventHandled(action string, lag time.Duration) {
	w.events.WithLabelValues(action).Inc()
	w.eventsLag.Set(max(lag, 0).Seconds())
}

// ProbeFailed implements ports.Metrics.
func (w watchMetrics) ProbeFailed() { w.probeFailures.Inc() }
