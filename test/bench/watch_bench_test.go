package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
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
		s.App.Probe.Tick(ctx)
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

// BenchmarkServiceMemoryWith200Engines starts 200 sample engines through
// the service, lets the probe and inspect workers tick five times each over
// them (the events listener runs throughout), and reports the memory of the
// process the service runs in. Target: RSS under 60 MB.
//
// What is measured: VmRSS of /proc/self/status — the whole test process,
// so the service and the little the benchmark itself holds (its Docker
// client, the harness's check pool); and, from runtime/metrics, the Go
// runtime's total mapped memory and the live heap after a GC. The engines
// run in their own containers and are not counted.
func BenchmarkServiceMemoryWith200Engines(b *testing.B) {
	const engines, ticks, parallel = 200, 5, 8
	s := harness.Start(b, harness.Options{NoContract: true, Env: map[string]string{
		"PROBE_INTERVAL": "1h", "INSPECT_INTERVAL": "1h", // the benchmark ticks
	}})
	ids := make(chan string)
	errs := make(chan error, parallel)
	for range parallel {
		go func() {
			for id := range ids {
				if err := startEngine(s, id); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for i := range engines {
		ids <- s.GameID(fmt.Sprintf("rss%03d", i))
	}
	close(ids)
	for range parallel {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	for range ticks {
		s.App.Probe.Tick(ctx)
		s.App.Inspect.Tick(ctx)
	}
	if f := counterValue(b, s, "rtmanager_probe_failures_total"); f != 0 {
		b.Fatalf("%v probes failed: the benchmark measures healthy engines", f)
	}
	rss := vmRSS(b)
	runtime.GC()
	mem := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(mem)
	mb := func(v uint64) float64 { return float64(v) / (1 << 20) }
	b.ReportMetric(mb(rss), "rss-MB")
	b.ReportMetric(mb(mem[0].Value.Uint64()), "go-total-MB")
	b.ReportMetric(mb(mem[1].Value.Uint64()), "heap-live-MB")
	fmt.Printf("\n%d running engines, %d probe and inspect ticks: VmRSS %.1f MB (the whole test process, target < 60 MB) | Go runtime total %.1f MB | live heap %.1f MB\n",
		engines, ticks, mb(rss), mb(mem[0].Value.Uint64()), mb(mem[1].Value.Uint64()))
}

// startEngine starts a game over REST.
func startEngine(s *harness.Service, id string) error {
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/internal/runtimes/"+id+"/start",
		strings.NewReader(`{"image_ref":"`+image+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("start %s: %d", id, resp.StatusCode)
	}
	return nil
}

// vmRSS reads the process's resident set size from /proc/self/status.
func vmRSS(b *testing.B) uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" && f[2] == "kB" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
