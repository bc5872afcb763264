// Command rtmanager runs Runtime Manager: it owns the life of game-engine
// containers (see README.md and docs/runbook.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/galaxy/rtmanager/di"
	"github.com/galaxy/rtmanager/internal/config"
	"github.com/galaxy/rtmanager/internal/server"
)

// bootTimeout bounds the boot checks (Docker, PostgreSQL and migrations, Redis).
const bootTimeout = 2 * time.Minute

// runtimesRefresh is how often the runtimes-by-status gauge is re-read from
// PostgreSQL: often enough for a dashboard, rare enough to cost nothing.
const runtimesRefresh = 15 * time.Second

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run handles the command line; without flags it runs the service. --help
// and --version answer without reading the configuration or connecting to
// anything, so they work on any machine.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rtmanager", flag.ContinueOnError)
	// The flag package would print errors and usage to one writer; help goes
	// to stdout and errors to stderr, so both are written here instead.
	fs.SetOutput(io.Discard)
	version := fs.Bool("version", false, "print the version and exit")
	probeURL := fs.String("probe", "", "GET the URL and exit 0 on 200")
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage(stdout)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "rtmanager: %v\n%s", err, usageLine)
		return 2
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "rtmanager: unexpected argument %q\n%s", fs.Arg(0), usageLine)
		return 2
	case *version:
		fmt.Fprintln(stdout, versionLine())
		return 0
	case *probeURL != "":
		return probe(*probeURL, stderr)
	}
	return serve(stderr)
}

const usageLine = "usage: rtmanager [--help | --version | --probe URL]\n"

func usage(w io.Writer) {
	fmt.Fprint(w, usageLine+`
Runtime Manager runs one Docker container per Galaxy game and serves its
internal REST API until SIGTERM or SIGINT. It takes no arguments: it is
configured by the environment variables below (docs/configuration.md); an
invalid value stops it at boot with exit status 2.

Flags:
  -h, --help   print this help and exit
  --version    print the version and exit
  --probe URL  GET URL (e.g. http://127.0.0.1:8096/readyz) and exit 0 on 200,
               1 otherwise: the image's health check (it has no shell or curl)

Environment (shown with its default):
`)
	for _, v := range config.Variables() {
		fmt.Fprintf(w, "  %s%s=%s\n        %s (%s)\n", config.Prefix, v.Name, v.Default, v.Meaning, v.Unit)
	}
}

// probeTimeout bounds one --probe: longer than a /readyz call's own bound.
const probeTimeout = 10 * time.Second

// probe is the container health check of the FROM scratch image, which has
// no curl: a GET of url that succeeds only on 200 (/readyz answers 503 while
// a dependency is down).
func probe(url string, stderr io.Writer) int {
	c := http.Client{Timeout: probeTimeout}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintf(stderr, "rtmanager: probe: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		fmt.Fprintf(stderr, "rtmanager: probe: %s: %s\n", resp.Status, body)
		return 1
	}
	return 0
}

// stamp is the version the image build stamps in (-ldflags -X
// main.stamp=<git describe>): the toolchain's own VCS stamp is not always
// there (GOFLAGS=-buildvcs=false, a build outside the checkout).
var stamp string

// versionLine names the module version and the VCS state the binary was
// built from, as the Go toolchain stamped them.
func versionLine() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "rtmanager: built without module information"
	}
	revision, at, modified := "unknown", "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			at = ", committed " + s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	v := info.Main.Version
	if stamp != "" {
		v = stamp
	}
	line := fmt.Sprintf("rtmanager %s, revision %s%s", v, revision, at)
	if modified {
		line += ", modified"
	}
	return line + ", " + info.GoVersion
}

func serve(stderr io.Writer) int {
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintln(stderr, "rtmanager: "+err.Error())
		return 2
	}
	log := newLogger(cfg, stderr)
	if cfg.InternalToken == "" && beyondLoopback(cfg.InternalHTTPAddr) {
		log.Warn("the REST API listens beyond loopback without RTMANAGER_INTERNAL_TOKEN: whoever reaches it drives the Docker daemon",
			"addr", cfg.InternalHTTPAddr)
	}
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
	gaugeCtx, stopGauge := context.WithCancel(ctx)
	gaugeDone := make(chan struct{})
	go func() {
		defer close(gaugeDone)
		app.Metrics.RefreshRuntimes(gaugeCtx, app.Runtimes, runtimesRefresh, log)
	}()
	// The boot reconcile pass, then the job consumer and the workers; they
	// stop reading at the signal, then drain within the shutdown timeout.
	running := app.Start(ctx)
	err = server.Serve(ctx, ln, app.Handler, cfg.ShutdownTimeout, log)
	running.Stop() // also when the listener failed
	stopGauge()
	<-gaugeDone
	if err != nil {
		log.Error("serve", "err", err)
		return 1
	}
	return 0
}

// beyondLoopback reports whether a listener on addr (host:port, validated by
// config) can be reached from other machines: an empty or unspecified host,
// a non-loopback IP, or a host name other than localhost, which may resolve
// to anything.
func beyondLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return true
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(h).With("service", "rtmanager", "instance", cfg.InstanceID)
}
