package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/di"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/internal/testenv/dockertest"
	"github.com/galaxy/rtmanager/test/harness"
)

// reconcileGames is the size of the reconcile benchmark: records and
// labelled containers alike (issue 8, target: one pass < 1 s).
const reconcileGames = 1000

// BenchmarkReconcilePass times one reconcile pass over 1,000 records and
// the 1,000 labelled containers (created, not started) they name: the
// steady state, where a pass lists everything and repairs nothing. It
// reports the median and the slowest of five passes after one warm-up pass.
// Making and removing the containers takes a minute or two, untimed.
func BenchmarkReconcilePass(b *testing.B) {
	s := harness.Start(b, harness.Options{NoContract: true, Env: map[string]string{"RECONCILE_GRACE": "0s"}})
	ids := makeStoppedGames(b, s, reconcileGames)

	const passes = 5
	var took []time.Duration
	for i := range passes + 1 {
		t0 := time.Now()
		rep, err := s.App.Reconciler.Pass(context.Background())
		d := time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Repaired)+rep.Busy+rep.Failed+rep.Young != 0 {
			b.Fatalf("a pass over agreeing records did something: %+v", rep)
		}
		if i > 0 {
			took = append(took, d)
		}
	}
	mid := median(took)
	worst := took[0]
	for _, d := range took {
		worst = max(worst, d)
	}
	b.ReportMetric(ms(mid), "pass-median-ms")
	b.ReportMetric(ms(worst), "pass-max-ms")
	fmt.Printf("\nreconcile pass over %d records and %d containers: median %.0f ms, slowest %.0f ms (n=%d, target < 1000 ms)\n",
		len(ids), len(ids), ms(mid), ms(worst), len(took))
}

// makeStoppedGames creates n labelled containers of s's deployment (not
// started) and a stopped record naming each, and removes the containers
// when the benchmark ends.
func makeStoppedGames(b *testing.B, s *harness.Service, n int) []string {
	d, closeD, err := di.ProvideDocker(s.Config)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(closeD)
	state := b.TempDir()
	prefix := testenv.UniqueName("rec")
	games, cids := make([]string, n), make([]string, n)
	b.Cleanup(func() { removeAll(b, s, cids) }) // registered before any exists: all go, also on failure
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	errs := make(chan error, n)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				games[i] = fmt.Sprintf("%s-%04d", prefix, i)
				id, err := d.CreateContainer(context.Background(), dockertest.EngineSpec(games[i], image, state))
				if err != nil {
					errs <- err
					return
				}
				cids[i] = id
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	_, err = s.DB.Exec(context.Background(), `INSERT INTO runtime_records
		(game_id, status, current_container_id, current_image_ref, engine_endpoint, state_path, docker_network,
		 stopped_at, last_op_at, created_at)
		SELECT g, 'stopped', c, $3, 'http://galaxy-game-' || g || ':8080', $4, $5, now(), now(), now()
		FROM unnest($1::text[], $2::text[]) AS t(g, c)`, games, cids, image, state, s.Config.DockerNetwork)
	if err != nil {
		b.Fatal(err)
	}
	return games
}
