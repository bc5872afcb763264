// Package bench measures the whole service in-process against the bare
// Docker SDK doing the same container work, in the same run:
//
//   - BenchmarkStartVsBareSDK: one REST start against one bare SDK
//     create+start+ready (issue 3, ratio target ≤ 1.15);
//   - BenchmarkReplayedStartJobs: Lobby's replayed start jobs end to end,
//     sustained throughput (target ≥ 3,000 jobs/s) and latency at a fixed rate;
//   - BenchmarkFreshStartJobs: a burst of fresh start jobs against the best
//     bare SDK burst of the same size (ratio target ≥ 0.85);
//   - BenchmarkProbeTick: one probe tick over 500 engines (target < 250 ms);
//   - BenchmarkServiceMemoryWith200Engines: the process's RSS with 200
//     running engines after five probe and inspect ticks (target < 60 MB);
//   - BenchmarkReconcilePass: one reconcile pass over 1,000 records and
//     1,000 labelled containers (issue 8, target < 1 s);
//   - BenchmarkStartOnSwarmVsDocker: one REST start with RUNTIME=swarm
//     beside one with RUNTIME=docker (issue 9, reported, no target).
//
// The bare SDK baseline lives in sdk_test.go.
package bench

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/test/harness"
)

const image = "galaxy/game:1.0.0"

// BenchmarkStartVsBareSDK alternates the two measurements so drift of the
// daemon affects both alike, and reports their medians and ratio.
// Run with -benchtime 1x: one run takes max(b.N, 20) samples of each.
func BenchmarkStartVsBareSDK(b *testing.B) {
	s := harness.Start(b, harness.Options{NoContract: true})
	mr, mb, n := alternate(b, max(b.N, 20),
		"rest", func() time.Duration { return restStart(b, s) },
		"sdk", func() time.Duration { return bareStart(b, s) })
	fmt.Printf("\nREST start median %.1f ms | bare SDK create+start+ready median %.1f ms | ratio %.3f (n=%d each, target ≤ 1.15)\n",
		ms(mr), ms(mb), float64(mr)/float64(mb), n)
}

// alternate takes samples of two measurements in turn, after two warm-up
// rounds, so drift of the daemon affects both alike; it reports their
// medians (<name>-median-ms) and ratio (first/second) and returns the
// medians and the number of samples of each.
func alternate(b *testing.B, samples int, nameA string, a func() time.Duration,
	nameB string, bf func() time.Duration) (ma, mb time.Duration, n int) {
	const warmup = 2
	var as, bs []time.Duration
	for i := range samples + warmup {
		da, db := a(), bf()
		if i >= warmup {
			as, bs = append(as, da), append(bs, db)
		}
	}
	ma, mb = median(as), median(bs)
	b.ReportMetric(ms(ma), nameA+"-median-ms")
	b.ReportMetric(ms(mb), nameB+"-median-ms")
	b.ReportMetric(float64(ma)/float64(mb), "ratio")
	return ma, mb, len(as)
}

// restStart times POST /start of a fresh game (image present, engine ready)
// and removes its container.
func restStart(b *testing.B, s *harness.Service) time.Duration {
	id, took := timedStart(b, s)
	for _, c := range s.Containers(id) {
		remove(b, s, c.ID)
	}
	return took
}

// timedStart times POST /start of a fresh game and returns its id.
func timedStart(b *testing.B, s *harness.Service) (string, time.Duration) {
	id := s.GameID("bench")
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/internal/runtimes/"+id+"/start",
		strings.NewReader(`{"image_ref":"`+image+`"}`))
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	resp, err := s.HTTP.Do(req)
	took := time.Since(t0)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("start: %d", resp.StatusCode)
	}
	return id, took
}
