package di

import (
	"context"
	"errors"
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
// shutdown timeout.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go a.refreshGauges(ctx, done)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.Logger.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		<-done
		return err
	case <-ctx.Done():
	}
	a.Logger.Info("shutting down: draining in-flight requests", "timeout", a.Config.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-done
	if errors.Is(<-errc, http.ErrServerClosed) && err == nil {
		a.Logger.Info("shut down cleanly")
		return nil
	}
	return err
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
