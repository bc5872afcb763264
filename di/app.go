package di

import (
	"net/http"

	"github.com/galaxy/rtmanager/adapters/metrics"
	"github.com/galaxy/rtmanager/adapters/postgres"
	"github.com/galaxy/rtmanager/core/jobs"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/core/reconcile"
	"github.com/galaxy/rtmanager/core/watch"
)

// App is the assembled service: what cmd/rtmanager runs and the test harness
// drives.
type App struct {
	Handler   http.Handler
	Lifecycle *lifecycle.Service
	Metrics   *metrics.Metrics
	// Runtimes counts records for the runtimes-by-status gauge.
	Runtimes *postgres.RuntimeStore
	// Jobs consumes Game Lobby's job streams; Run it beside the HTTP server.
	Jobs *jobs.Consumer
	// Events is the Docker events listener: Start runs it first, and the
	// boot reconcile pass once it has subscribed (contract §7, §10).
	Events *watch.Listener
	// Probe and Inspect watch the running engines; Start runs them after
	// the boot pass.
	Probe   *watch.Probe
	Inspect *watch.Inspect
	// Reconciler: its boot Pass comes before the consumer and the other
	// workers start, then Run (contract §10).
	Reconciler *reconcile.Reconciler
	// Retention is the retention cleanup worker; Run it after the boot pass.
	Retention *reconcile.Retention
}

// NewApp gathers the assembled parts.
func NewApp(h http.Handler, svc *lifecycle.Service, m *metrics.Metrics, runtimes *postgres.RuntimeStore, consumer *jobs.Consumer,
	rec *reconcile.Reconciler, ret *reconcile.Retention, events *watch.Listener, probe *watch.Probe, inspect *watch.Inspect) *App {
	return &App{Handler: h, Lifecycle: svc, Metrics: m, Runtimes: runtimes, Jobs: consumer, Reconciler: rec, Retention: ret,
		Events: events, Probe: probe, Inspect: inspect}
}
