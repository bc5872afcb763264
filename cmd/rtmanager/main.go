// Command rtmanager runs Runtime Manager: it owns the life of game-engine
// containers (see README.md and docs/runbook.md).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/galaxy/rtmanager/di"
	"github.com/galaxy/rtmanager/internal/config"
)

// bootTimeout bounds the boot checks (Docker, PostgreSQL and migrations, Redis).
const bootTimeout = 2 * time.Minute

func main() {
	os.Exit(run())
}

func run() int {
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtmanager: "+err.Error())
		return 2
	}
	log := newLogger(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	bootCtx, cancel := context.WithTimeout(ctx, bootTimeout)
	app, cleanup, err := di.Build(bootCtx, cfg, log)
	cancel()
	if err != nil {
		log.Error("boot failed", "err", err)
		return 1
	}
	defer cleanup()

	ln, err := net.Listen("tcp", cfg.InternalHTTPAddr)
	if err != nil {
		log.Error("listen", "addr", cfg.InternalHTTPAddr, "err", err)
		return 1
	}
	if err := app.Serve(ctx, ln); err != nil {
		log.Error("serve", "err", err)
		return 1
	}
	return 0
}

func newLogger(cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(os.Stderr, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(os.Stderr, opts)
	}
	return slog.New(h).With("service", "rtmanager", "instance", cfg.InstanceID)
}
