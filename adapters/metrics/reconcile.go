package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

var _ ports.ReconcileMetrics = (*Metrics)(nil)

// reconcileMetrics are the reconciler's series, all on /metrics from boot:
// drifts by kind at 0, the last pass at 0 until the boot pass has run.
type reconcileMetrics struct {
	drifts   *prometheus.CounterVec
	lastPass prometheus.Gauge
	passTook prometheus.Histogram
}

func newReconcileMetrics(reg *prometheus.Registry) *reconcileMetrics {
	r := &reconcileMetrics{
		drifts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rtmanager_reconcile_drifts_total", Help: "Drifts the reconciler repaired, by the repair's op kind.",
		}, []string{"op_kind"}),
		lastPass: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rtmanager_reconcile_last_pass_timestamp_seconds", Help: "When the last complete reconcile pass ended (Unix time).",
		}),
		passTook: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rtmanager_reconcile_pass_duration_seconds", Help: "Duration of complete reconcile passes.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
	reg.MustRegister(r.drifts, r.lastPass, r.passTook)
	for _, k := range []domain.OpKind{domain.OpReconcileAdopt, domain.OpReconcileDispose, domain.OpReconcileObserveExit} {
		r.drifts.WithLabelValues(string(k))
	}
	return r
}

// ReconcileDrift implements ports.ReconcileMetrics.
func (r *reconcileMetrics) ReconcileDrift(kind domain.OpKind) {
	r.drifts.WithLabelValues(string(kind)).Inc()
}

// ReconcilePassed implements ports.ReconcileMetrics.
func (r *reconcileMetrics) ReconcilePassed(at time.Time, took time.Duration) {
	r.lastPass.Set(float64(at.UnixNano()) / 1e9)
	r.passTook.Observe(took.Seconds())
}
