package metrics

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
)

// counter answers CountByStatus with its current answer and counts calls.
type counter struct {
	mu     sync.Mutex
	answer func() (map[domain.Status]int, error)
	calls  int
}

func (c *counter) CountByStatus(context.Context) (map[domain.Status]int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return c.answer()
}

// set replaces the answer and returns the number of calls so far.
func (c *counter) set(answer func() (map[domain.Status]int, error)) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answer = answer
	return c.calls
}

func (c *counter) callCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func running(n int) func() (map[domain.Status]int, error) {
	return func() (map[domain.Status]int, error) { return map[domain.Status]int{domain.StatusRunning: n}, nil }
}

// gauge reads rtmanager_runtimes{status}.
func gauge(t *testing.T, m *Metrics, status domain.Status) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "rtmanager_runtimes" {
			continue
		}
		for _, s := range f.GetMetric() {
			if s.GetLabel()[0].GetValue() == string(status) {
				return s.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("rtmanager_runtimes{status=%q} is not exported", status)
	return 0
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRefreshRuntimesCountsAtOnceAndStopsWithItsContext(t *testing.T) {
	m := New()
	c := &counter{answer: running(2)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.RefreshRuntimes(ctx, c, time.Hour, slog.New(slog.DiscardHandler))
	}()
	eventually(t, "the first count, before any period passed", func() bool { return gauge(t, m, domain.StatusRunning) == 2 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RefreshRuntimes did not return when its context ended")
	}
}

func TestRefreshRuntimesKeepsTheLastValuesWhileCountsFail(t *testing.T) {
	m := New()
	c := &counter{answer: running(2)}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.RefreshRuntimes(ctx, c, 10*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
	eventually(t, "the first count", func() bool { return gauge(t, m, domain.StatusRunning) == 2 })

	calls := c.set(func() (map[domain.Status]int, error) { return nil, errors.New("postgres is down") })
	eventually(t, "three failed counts", func() bool { return c.callCount() >= calls+3 })
	if got := gauge(t, m, domain.StatusRunning); got != 2 {
		t.Errorf("after failed counts the gauge is %v, want the last value 2", got)
	}
	if got := logs.String(); !strings.Contains(got, "postgres is down") || !strings.Contains(got, "level=WARN") {
		t.Errorf("a failed count was not logged as a warning:\n%s", got)
	}

	c.set(running(5))
	eventually(t, "the next good count", func() bool { return gauge(t, m, domain.StatusRunning) == 5 })
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
