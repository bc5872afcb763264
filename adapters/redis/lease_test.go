package redis

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/ports"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestLeaseKeyIsBase64URL(t *testing.T) {
	r := newSharedRedis(t)
	leases := NewLeases(r, LeaseConfig{Logger: quiet})
	for _, suffix := range []string{"a/b+c", "ü?=", "x:y z"} {
		id := r.uniqueGame("odd") + suffix
		r.cleanup(LeaseKey(id))
		want := "rtmanager:game_lease:" + base64.RawURLEncoding.EncodeToString([]byte(id))
		if got := LeaseKey(id); got != want {
			t.Fatalf("LeaseKey(%q) = %q, want %q", id, got, want)
		}
		l, err := leases.Acquire(ctxT(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if n := r.Exists(ctxT(t), want).Val(); n != 1 {
			t.Fatalf("key %s not set", want)
		}
		if held, err := leases.Held(ctxT(t), id); err != nil || !held {
			t.Fatalf("Held = %v, %v; want true", held, err)
		}
		l.Release()
		if held, err := leases.Held(ctxT(t), id); err != nil || held {
			t.Fatalf("Held after release = %v, %v; want false", held, err)
		}
	}
}

func TestLeaseBusyForSecondCaller(t *testing.T) {
	r := newSharedRedis(t)
	leases := NewLeases(r, LeaseConfig{Logger: quiet})
	id := r.uniqueGame("busy")
	first, err := leases.Acquire(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leases.Acquire(ctxT(t), id); !errors.Is(err, ports.ErrLeaseBusy) {
		t.Fatalf("second Acquire: %v, want ErrLeaseBusy", err)
	}
	first.Release()
	first.Release() // idempotent
	again, err := leases.Acquire(ctxT(t), id)
	if err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	again.Release()
}

func TestLeaseReleaseDeletesOnlyOwnToken(t *testing.T) {
	r := newSharedRedis(t)
	leases := NewLeases(r, LeaseConfig{Logger: quiet})
	id := r.uniqueGame("own")
	first, err := leases.Acquire(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	// The first holder's lease expires and someone else takes the game.
	r.Del(ctxT(t), LeaseKey(id))
	second, err := leases.Acquire(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	secondToken := r.Get(ctxT(t), LeaseKey(id)).Val()
	first.Release()
	if got := r.Get(ctxT(t), LeaseKey(id)).Val(); got != secondToken {
		t.Fatalf("first Release touched the second holder's lease: value %q, want %q", got, secondToken)
	}
	second.Release()
	if n := r.Exists(ctxT(t), LeaseKey(id)).Val(); n != 0 {
		t.Fatal("second Release did not delete its lease")
	}
}

func TestLeaseReleaseAfterCallerContextCancelled(t *testing.T) {
	r := newSharedRedis(t)
	leases := NewLeases(r, LeaseConfig{Logger: quiet})
	id := r.uniqueGame("cancel")
	ctx, cancel := context.WithCancel(context.Background())
	l, err := leases.Acquire(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	l.Release()
	if held, err := leases.Held(ctxT(t), id); err != nil || held {
		t.Fatalf("Held = %v, %v after Release on a cancelled context; want false", held, err)
	}
}

func TestLeaseRenewedWhileHeld(t *testing.T) {
	r := newSharedRedis(t)
	// Renewal every 300ms, each bounded by 300ms: wide enough that a loaded
	// machine's pause does not let the lease lapse (what the test is not about).
	const ttl = 900 * time.Millisecond
	holder := NewLeases(r, LeaseConfig{TTL: ttl, Logger: quiet})
	rival := NewLeases(r, LeaseConfig{TTL: ttl, Logger: quiet})
	id := r.uniqueGame("renew")
	l, err := holder.Acquire(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}

	// A rival polls throughout 3×TTL of work and must never get in.
	var stolen atomic.Int32
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			got, err := rival.Acquire(context.Background(), id)
			switch {
			case err == nil:
				stolen.Add(1)
				got.Release()
			case !errors.Is(err, ports.ErrLeaseBusy):
				t.Errorf("rival Acquire: %v", err)
			}
		}
	}()
	time.Sleep(3 * ttl)
	close(stop)
	<-done

	if n := stolen.Load(); n != 0 {
		t.Fatalf("rival acquired a held lease %d times", n)
	}
	if isClosed(l.Lost()) {
		t.Fatal("Lost closed while the lease was renewed")
	}
	if pttl := r.PTTL(ctxT(t), LeaseKey(id)).Val(); pttl <= 0 || pttl > ttl {
		t.Fatalf("PTTL = %v, want within (0, %v]", pttl, ttl)
	}
	l.Release()
}

func TestLeaseLostWhenTakenOrDeleted(t *testing.T) {
	r := newSharedRedis(t)
	const ttl = 300 * time.Millisecond
	leases := NewLeases(r, LeaseConfig{TTL: ttl, Logger: quiet})
	for name, steal := range map[string]func(key string){
		"deleted": func(key string) { r.Del(ctxT(t), key) },
		"taken":   func(key string) { r.Set(ctxT(t), key, "someone-else", time.Minute) },
	} {
		t.Run(name, func(t *testing.T) {
			id := r.uniqueGame("lost")
			l, err := leases.Acquire(ctxT(t), id)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Release()
			steal(LeaseKey(id))
			select {
			case <-l.Lost():
			case <-time.After(3 * ttl):
				t.Fatal("Lost not closed after the lease was " + name)
			}
			if name == "taken" {
				l.Release()
				if got := r.Get(ctxT(t), LeaseKey(id)).Val(); got != "someone-else" {
					t.Fatalf("Release of a lost lease deleted the new holder's key (value %q)", got)
				}
			}
		})
	}
}

func TestLeaseSurvivesTransientRenewalFailure(t *testing.T) {
	p := testenv.StartPrivateRedis(t)
	rdb, err := Open(ctxT(t), Options{Addr: p.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	const ttl = 900 * time.Millisecond // renewal every 300ms, each bounded by 300ms
	leases := NewLeases(rdb, LeaseConfig{TTL: ttl, Logger: quiet})
	l, err := leases.Acquire(ctxT(t), "g1")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	// Redis stops answering for longer than one renewal interval but less
	// than the TTL: at least one renewal times out and is retried.
	if err := rdb.Do(ctxT(t), "CLIENT", "PAUSE", 500, "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * ttl)
	if isClosed(l.Lost()) {
		t.Fatal("Lost closed after a transient outage shorter than the TTL")
	}
	if got := rdb.Exists(ctxT(t), LeaseKey("g1")).Val(); got != 1 {
		t.Fatal("lease key gone after a transient outage")
	}
}

func TestLeaseLostOnlyAfterTTLWithoutRenewal(t *testing.T) {
	p := testenv.StartPrivateRedis(t)
	rdb, err := Open(ctxT(t), Options{Addr: p.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	const ttl = 300 * time.Millisecond
	leases := NewLeases(rdb, LeaseConfig{TTL: ttl, Logger: quiet})
	l, err := leases.Acquire(ctxT(t), "g1")
	if err != nil {
		t.Fatal(err)
	}
	acquired := time.Now()
	p.Stop()
	select {
	case <-l.Lost():
		if since := time.Since(acquired); since < ttl {
			t.Fatalf("Lost closed after %v, before the TTL could have passed", since)
		}
	case <-time.After(10 * ttl):
		t.Fatal("Lost not closed although Redis is gone for longer than the TTL")
	}
	start := time.Now()
	l.Release() // must not hang on the dead server
	if d := time.Since(start); d > 2*pipeTimeout+time.Second {
		t.Fatalf("Release took %v", d)
	}
}
