package di

import (
	"net/http"

	"github.com/galaxy/rtmanager/adapters/metrics"
	"github.com/galaxy/rtmanager/adapters/postgres"
	"github.com/galaxy/rtmanager/core/jobs"
	"github.com/galaxy/rtmanager/core/lifecycle"
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
	// Watch holds the events listener and the probe and inspect workers; Run
	// it beside the HTTP server.
	Watch watch.Workers
}

// NewApp gathers the assembled parts.
func NewApp(h http.Handler, svc *lifecycle.Service, m *metrics.Metrics, runtimes *postgres.RuntimeStore, consumer *jobs.Consumer,
	w watch.Workers) *App {
	return &App{Handler: h, Lifecycle: svc, Metrics: m, Runtimes: runtimes, Jobs: consumer, Watch: w}
}
