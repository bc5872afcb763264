package redis

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/adapters/randid"
	"github.com/galaxy/rtmanager/ports"
)

// DefaultLeaseTTL is RTMANAGER_GAME_LEASE_TTL_SECONDS' default.
const DefaultLeaseTTL = 60 * time.Second

const leaseKeyPrefix = "rtmanager:game_lease:"

// LeaseKey is the Redis key of a game's lease. The game id is base64url-encoded
// so that no id can collide with another key or inject a separator.
func LeaseKey(gameID string) string {
	return leaseKeyPrefix + base64.RawURLEncoding.EncodeToString([]byte(gameID))
}

var (
	// acquireScript is SET NX PX made idempotent: go-redis retries a command
	// whose reply was lost, and a plain SET NX retried after it had succeeded
	// would answer "taken" about our own key and strand it for a whole TTL.
	acquireScript = goredis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`)
	// renewScript extends the lease only while it still holds our token.
	renewScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)
	// releaseScript deletes the lease only while it still holds our token, so a
	// holder whose lease expired never frees the next holder's.
	releaseScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)
)

// LeaseConfig configures Leases.
type LeaseConfig struct {
	// TTL is how long a lease outlives its holder's last renewal
	// (RTMANAGER_GAME_LEASE_TTL_SECONDS); zero means DefaultLeaseTTL.
	// Renewal runs every TTL/3.
	TTL time.Duration
	// Logger receives renewal and release failures; nil means slog.Default().
	Logger *slog.Logger
}

// Leases implements ports.Leases on Redis.
type Leases struct {
	rdb goredis.UniversalClient
	// pipe carries acquisitions and releases: many games' leases are taken
	// and freed at once when many jobs run.
	pipe *pipe
	ttl  time.Duration
	log  *slog.Logger
}

var _ ports.Leases = (*Leases)(nil)

// NewLeases returns the per-game lease manager.
func NewLeases(rdb goredis.UniversalClient, cfg LeaseConfig) *Leases {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultLeaseTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Leases{rdb: rdb, pipe: pipeOf(rdb), ttl: cfg.TTL, log: cfg.Logger}
}

// Acquire takes the game's lease or returns ports.ErrLeaseBusy; a Redis
// failure wraps ports.ErrUnavailable. The lease is renewed until Release.
func (l *Leases) Acquire(ctx context.Context, gameID string) (ports.Lease, error) {
	token := randid.New()
	key := LeaseKey(gameID)
	cmd, err := l.pipe.Do(ctx, func(ctx context.Context, p goredis.Pipeliner) goredis.Cmder {
		return acquireScript.Eval(ctx, p, []string{key}, token, l.ttl.Milliseconds())
	})
	var ok bool
	if err == nil {
		ok, err = cmd.(*goredis.Cmd).Bool()
	}
	if err != nil {
		return nil, wrapErr("acquire lease "+gameID, err)
	}
	if !ok {
		return nil, fmt.Errorf("game %s: %w", gameID, ports.ErrLeaseBusy)
	}
	lease := &lease{
		leases: l,
		gameID: gameID,
		key:    key,
		token:  token,
		lost:   make(chan struct{}),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		// The key expires at the latest one TTL after this reply.
		lastRenewed: time.Now(),
	}
	go lease.renew()
	return lease, nil
}

// Held reports whether anyone holds the game's lease.
func (l *Leases) Held(ctx context.Context, gameID string) (bool, error) {
	n, err := l.rdb.Exists(ctx, LeaseKey(gameID)).Result()
	if err != nil {
		return false, wrapErr("lease exists "+gameID, err)
	}
	return n > 0, nil
}

// lease is one held lease and its renewal goroutine.
type lease struct {
	leases *Leases
	gameID string
	key    string
	token  string

	lost        chan struct{} // closed when the lease is known or bound to be gone
	stop        chan struct{} // closed by Release to end renewal
	done        chan struct{} // closed when renewal has ended
	releaseOnce sync.Once

	// lastRenewed is when the last successful SET/PEXPIRE reply arrived; only
	// the renewal goroutine touches it after Acquire.
	lastRenewed time.Time
}

func (s *lease) Lost() <-chan struct{} { return s.lost }

// Release stops renewal, waits for it, then deletes the key if it still
// holds our token — on a context of its own, so a cancelled operation still
// frees its game. It is safe to call more than once.
func (s *lease) Release() {
	s.releaseOnce.Do(func() {
		close(s.stop)
		<-s.done
		_, err := s.leases.pipe.Do(context.Background(), func(ctx context.Context, p goredis.Pipeliner) goredis.Cmder {
			return releaseScript.Eval(ctx, p, []string{s.key}, s.token)
		})
		if err != nil {
			// Nothing to return to: the key simply expires after its TTL.
			s.leases.log.Warn("lease release failed; it will expire", "game_id", s.gameID, "error", wrapErr("release lease", err))
		}
	})
}

// renew extends the lease every TTL/3. A reply saying the key is gone or not
// ours ends the lease at once. A failed call (Redis unreachable, timeout) is
// retried on the next tick, because the key is still ours for the rest of its
// TTL; Lost closes only once a full TTL has passed since the last successful
// reply, when the key has certainly expired.
func (s *lease) renew() {
	defer close(s.done)
	ttl := s.leases.ttl
	interval := max(ttl/3, time.Millisecond)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
		}
		ok, err := s.renewOnce(interval)
		switch {
		case err == nil && ok:
			s.lastRenewed = time.Now()
		case err == nil:
			s.leases.log.Warn("lease lost: taken or expired", "game_id", s.gameID)
			close(s.lost)
			return
		case time.Since(s.lastRenewed) >= ttl:
			s.leases.log.Warn("lease lost: not renewed within its TTL", "game_id", s.gameID, "error", err)
			close(s.lost)
			return
		default:
			s.leases.log.Warn("lease renewal failed; retrying", "game_id", s.gameID, "error", err)
		}
	}
}

// renewOnce bounds one renewal by the tick interval so a hung call cannot
// delay the next attempt, and so a Release never waits longer than that.
func (s *lease) renewOnce(timeout time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ok, err := renewScript.Run(ctx, s.leases.rdb, []string{s.key}, s.token, s.leases.ttl.Milliseconds()).Bool()
	if err != nil {
		return false, wrapErr("renew lease", err)
	}
	return ok, nil
}
