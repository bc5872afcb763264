package redis

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/ports"
)

// sharedRedis is the test Redis; every key named by key() is deleted when the
// test ends.
type sharedRedis struct {
	*goredis.Client
	t *testing.T
}

func newSharedRedis(t *testing.T) sharedRedis {
	return sharedRedis{Client: testenv.Redis(t), t: t}
}

// key returns a unique key and deletes it at the end of the test.
func (r sharedRedis) key(prefix string) string {
	k := "rtmtest:" + testenv.UniqueName(prefix)
	r.cleanup(k)
	return k
}

func (r sharedRedis) cleanup(keys ...string) {
	r.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Del(ctx, keys...).Err(); err != nil {
			r.t.Errorf("cleanup %v: %v", keys, err)
		}
	})
}

// uniqueGame returns a game id whose lease key is deleted at the end of the test.
func (r sharedRedis) uniqueGame(prefix string) string {
	id := testenv.UniqueName(prefix)
	r.cleanup(LeaseKey(id))
	return id
}

// testNames returns stream names private to this test.
func (r sharedRedis) testNames() StreamNames {
	return StreamNames{
		StartJobs:           r.key("start"),
		StopJobs:            r.key("stop"),
		JobResults:          r.key("results"),
		HealthEvents:        r.key("health"),
		NotificationIntents: r.key("intents"),
		DeadLetters:         r.key("dead"),
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// readJobs reads through a job source and returns the jobs only.
func readJobs(t *testing.T, s *JobSource, count int, block time.Duration) ([]ports.Job, error) {
	b, err := s.Read(ctxT(t), count, block)
	return b.Jobs, err
}
