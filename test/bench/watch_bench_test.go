package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/test/harness"
)

// BenchmarkProbeTick times the service's probe worker over 500 running
// records whose engines are a local HTTP server listening on 500 ports (one
// endpoint each, as 500 engines would be), all healthy: the records are read
// from PostgreSQL, each engine gets GET /healthz, at most
// RTMANAGER_PROBE_CONCURRENCY (16) at once. The first tick connects to every
// endpoint; the later ones reuse the connections, as the worker does between
// ticks. Target: a tick under 250 ms. Run with -benchtime 1x: one run
// times max(b.N, 10) ticks after the first.
func BenchmarkProbeTick(b *testing.B) {
	const engines = 500
	// The worker's own ticks are pushed out of the way: the benchmark ticks.
	s := harness.Start(b, harness.Options{NoContract: true, Env: map[string]string{
		"ENGINE_ADDRESS": "endpoint", "PROBE_INTERVAL": "1h", "INSPECT_INTERVAL": "1h",
	}})
	endpoints := serveHealthz(b, engines)
	ctx, now := context.Background(), time.Now()
	for i, ep := range endpoints {
		id := s.GameID(fmt.Sprintf("probe%03d", i))
		_, err := s.App.Runtimes.Upsert(ctx, domain.Record{GameID: id, Status: domain.StatusRunning,
			CurrentContainerID: fmt.Sprintf("c%03d", i), CurrentImageRef: image, EngineEndpoint: ep,
			StatePath: "/nonexistent/" + id, DockerNetwork: s.Config.DockerNetwork, StartedAt: &now, LastOpAt: now})
		if err != nil {
			b.Fatal(err)
		}
	}
	failures := func() float64 { return counterValue(b, s, "rtmanager_probe_failures_total") }
	tick := func() time.Duration {
		t0 := time.Now()
		s.App.Watch.Probe.Tick(ctx)
		return time.Since(t0)
	}
	cold := tick()
	var warm []time.Duration
	for range max(b.N, 10) {
		warm = append(warm, tick())
	}
	if f := failures(); f != 0 {
		b.Fatalf("%v probes failed: the benchmark measures healthy engines", f)
	}
	b.ReportMetric(ms(cold), "first-tick-ms")
	b.ReportMetric(ms(median(warm)), "tick-median-ms")
	b.ReportMetric(ms(slices.Max(warm)), "tick-max-ms")
	fmt.Printf("\nprobe tick over %d engines: first (connecting) %.1f ms | then median %.1f ms, max %.1f ms (n=%d, target < 250 ms)\n",
		engines, ms(cold), ms(median(warm)), ms(slices.Max(warm)), len(warm))
}

// serveHealthz serves GET /healthz 200 on n loopback ports and returns their base URLs.
func serveHealthz(b *testing.B, n int) []string {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}), ReadHeaderTimeout: 5 * time.Second}
	b.Cleanup(func() { _ = srv.Close() })
	var urls []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go func() { _ = srv.Serve(ln) }()
		urls = append(urls, "http://"+ln.Addr().String())
	}
	return urls
}

// counterValue reads an unlabelled counter of the service's registry.
func counterValue(b *testing.B, s *harness.Service, name string) float64 {
	fams, err := s.App.Metrics.Registry().Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	b.Fatalf("no metric %s", name)
	return 0
}
