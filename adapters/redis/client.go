// Package redis is Runtime Manager's Redis adapter: the per-game lease, the
// publishers of every outgoing stream and the consumer-group reader of Lobby's
// job streams. Every error that means "Redis did not answer" wraps
// ports.ErrUnavailable so core can map it to service_unavailable.
package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/ports"
)

// Options locates the Redis master (RTMANAGER_REDIS_MASTER_ADDR, _PASSWORD, _DB).
type Options struct {
	Addr     string
	Password string
	DB       int
}

// Timeouts of the client Open builds. They are short because every caller
// is an operation, a worker tick or a readiness probe that must fail fast
// and report service_unavailable rather than hang behind a dead Redis.
const (
	dialTimeout  = 3 * time.Second
	readTimeout  = 3 * time.Second
	writeTimeout = 3 * time.Second
	poolTimeout  = 4 * time.Second
)

// Open connects to Redis and pings it once, so a wrong address stops the
// process at boot rather than at the first job.
func Open(ctx context.Context, o Options) (*goredis.Client, error) {
	c := goredis.NewClient(&goredis.Options{
		Addr:         o.Addr,
		Password:     o.Password,
		DB:           o.DB,
		DialTimeout:  dialTimeout,
		ReadTimeout:  readTimeout,
		WriteTimeout: writeTimeout,
		PoolTimeout:  poolTimeout,
		// Honour callers' deadlines on the socket too: the lease release and
		// renewal bound each call by their own short context.
		ContextTimeoutEnabled: true,
	})
	if err := Ping(ctx, c); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis %s: %w", o.Addr, err)
	}
	return c, nil
}

// Ping is the readiness check: nil when Redis answers PING.
func Ping(ctx context.Context, c goredis.UniversalClient) error {
	return wrapErr("ping", c.Ping(ctx).Err())
}

// wrapErr names the failed command and classifies err: a transport failure,
// a timeout or a server that cannot serve now wraps ports.ErrUnavailable;
// any other server reply (a real error of ours) stays unwrapped. A cancelled
// caller context is the caller's decision, not an outage, and stays as is.
func wrapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("redis %s: %w", op, err)
	case isUnavailable(err):
		return fmt.Errorf("redis %s: %w: %w", op, ports.ErrUnavailable, err)
	default:
		return fmt.Errorf("redis %s: %w", op, err)
	}
}

func isUnavailable(err error) bool {
	var serverErr goredis.Error
	if !errors.As(err, &serverErr) {
		// Not a reply from Redis: dial/read/write failure, timeout, closed pool.
		return true
	}
	return goredis.IsLoadingError(err) || goredis.IsReadOnlyError(err) ||
		goredis.IsMasterDownError(err) || goredis.IsClusterDownError(err) ||
		goredis.IsTryAgainError(err) || goredis.IsMaxClientsError(err) ||
		goredis.HasErrorPrefix(err, "BUSY ")
}
