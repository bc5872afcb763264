package testenv

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

// StreamEnv names every stream Runtime Manager reads or writes under prefix,
// as RTMANAGER_* settings (names without "RTMANAGER_"), so one test's
// streams and consumer group are its own.
func StreamEnv(prefix string) map[string]string {
	return map[string]string{
		"STREAM_START_JOBS":           prefix + "start_jobs",
		"STREAM_STOP_JOBS":            prefix + "stop_jobs",
		"STREAM_JOB_RESULTS":          prefix + "job_results",
		"STREAM_HEALTH_EVENTS":        prefix + "health_events",
		"STREAM_NOTIFICATION_INTENTS": prefix + "notification_intents",
		"STREAM_DEAD_LETTERS":         prefix + "dead_letters",
	}
}

// DeleteKeysAtEnd removes every key under prefix when the test ends.
func DeleteKeysAtEnd(t testing.TB, rdb *redis.Client, prefix string) {
	t.Cleanup(func() {
		ctx, cancel := setupCtx()
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
}
