package di

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/galaxy/rtmanager/adapters/metrics"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/internal/config"
)

// App is the assembled service.
type App struct {
	Config        config.Config
	Logger        *slog.Logger
	Handler       http.Handler
	Lifecycle     *lifecycle.Service
	Metrics       *metrics.Metrics
	CountRuntimes RuntimeCounter
}

// NewApp gathers what Serve runs.
func NewApp(cfg config.Config, log *slog.Logger, h http.Handler, svc *lifecycle.Service, m *metrics.Metrics, count RuntimeCounter) *App {
	return &App{Config: cfg, Logger: log, Handler: h, Lifecycle: svc, Metrics: m, CountRuntimes: count}
}

// gaugeRefresh is how often the runtimes-by-status gauge is re-read.
const gaugeRefresh = 15 * time.Second

// Serve answers HTTP on ln until ctx is cancelled, then stops taking requests
// and lets in-flight operations finish (and release their leases) within the
// shutdown timeout. A shutdown is a normal end (nil) even when the timeout cut
// requests off: their leases expire by themselves. Only a listener failure is
// an error.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
	}
	gctx, stopGauges := context.WithCancel(ctx)
	done := make(chan struct{})
	go a.refreshGauges(gctx, done)
	defer func() { stopGauges(); <-done }()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.Logger.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Logger.Info("shutting down: draining in-flight requests", "timeout", a.Config.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		a.Logger.Warn("shutdown timeout passed with requests in flight; cutting them off", "err", err)
		_ = srv.Close()
	}
	<-errc // http.ErrServerClosed
	a.Logger.Info("shut down")
	return nil
}

func (a *App) refreshGauges(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(gaugeRefresh)
	defer t.Stop()
	for {
		if err := a.CountRuntimes(ctx); err != nil && ctx.Err() == nil {
			a.Logger.Warn("refresh runtimes gauge", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
