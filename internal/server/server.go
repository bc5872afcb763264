// Package server runs the HTTP side of the service: it serves a handler on a
// listener and shuts it down gracefully (contract §10).
package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Serve answers HTTP on ln until ctx is cancelled, then stops taking requests
// and lets in-flight ones (and so their lifecycle operations, which release
// their leases as they return) finish within shutdownTimeout. A shutdown is a
// normal end (nil) even when the timeout cut requests off: their leases expire
// by themselves. Only a listener failure is an error.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, shutdownTimeout time.Duration, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "timeout", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown timeout passed with requests in flight; cutting them off", "err", err)
		_ = srv.Close()
	}
	<-errc // http.ErrServerClosed
	log.Info("shut down")
	return nil
}
