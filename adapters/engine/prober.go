// Package engine implements ports.EngineProber: the HTTP health probe RTM's
// readiness gate and probe worker send to game engines.
package engine

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/galaxy/rtmanager/ports"
)

// Defaults of Config.
const (
	DefaultTimeout     = 2 * time.Second
	DefaultDialTimeout = 500 * time.Millisecond
)

// maxDrain bounds how much of a body is read to let the connection be reused;
// a larger body costs a new connection next time, not an unbounded read.
const maxDrain = 64 << 10

// Config configures the prober.
type Config struct {
	// Timeout bounds one probe (connect, request, headers, body) on top of
	// the caller's context; zero means DefaultTimeout (RTMANAGER_PROBE_TIMEOUT).
	Timeout time.Duration
	// DialTimeout bounds the TCP connect. It is short because engines are on
	// the local Docker network: a connect that does not succeed at once is an
	// engine not (yet) listening, and the readiness gate should poll again
	// rather than wait. Zero means DefaultDialTimeout.
	DialTimeout time.Duration
}

// Prober probes engines over HTTP. It is safe for concurrent use and keeps
// connections alive between probes of the same engine.
type Prober struct {
	client *http.Client
}

var _ ports.EngineProber = (*Prober)(nil)

// NewProber builds a prober.
func NewProber(cfg Config) *Prober {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	transport := &http.Transport{
		// No proxy, whatever HTTP_PROXY says: engines are reached directly
		// on the Docker network.
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: cfg.Timeout,
	}
	return &Prober{client: &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		// A redirect is not a healthy answer; report it as the status it is.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Healthz returns nil when GET {baseURL}/healthz answers 200, else an error
// naming the status or the transport failure.
func (p *Prober) Healthz(ctx context.Context, baseURL string) error {
	url := strings.TrimSuffix(baseURL, "/") + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("probe: %w", err) // *url.Error already names method and URL
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}

// Close drops idle keep-alive connections.
func (p *Prober) Close() { p.client.CloseIdleConnections() }
