package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/test/harness"
)

// BenchmarkStartOnSwarmVsDocker runs two services in one process, one on
// each runtime, against the same daemon (made a single-node swarm), and
// alternates a REST start on each so drift of the daemon affects both
// alike; it reports both medians and the ratio swarm/docker. A swarm start
// is a service create, the scheduler placing its task, the task's container
// starting and the engine answering at its gwbridge address.
// Run with -benchtime 1x: one run takes max(b.N, 10) samples of each.
func BenchmarkStartOnSwarmVsDocker(b *testing.B) {
	env := testenv.Swarm(b)
	onDocker := harness.Start(b, harness.Options{NoContract: true})
	onSwarm := harness.Start(b, harness.Options{NoContract: true, Env: map[string]string{
		"RUNTIME": "swarm", "DOCKER_NETWORK": env.Network,
	}})
	msw, md, n := alternate(b, max(b.N, 10),
		"swarm", func() time.Duration { return swarmStart(b, onSwarm) },
		"docker", func() time.Duration { return restStart(b, onDocker) })
	fmt.Printf("\nREST start on swarm median %.1f ms | on docker median %.1f ms | ratio %.2f (n=%d each)\n",
		ms(msw), ms(md), float64(msw)/float64(md), n)
}

// swarmStart is restStart on swarm: the game's service and state volume
// are removed after the measurement.
func swarmStart(b *testing.B, s *harness.Service) time.Duration {
	id, took := timedStart(b, s)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := testenv.RemoveSwarmGame(ctx, s.Docker, id); err != nil {
		b.Fatal(err)
	}
	return took
}
