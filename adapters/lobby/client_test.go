package lobby

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/ports"
)

func newClient(t *testing.T, h http.HandlerFunc, timeout time.Duration) ports.LobbyClient {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL + "/", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGetGame(t *testing.T) {
	var gotPath string
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.EscapedPath()
		if r.Method != http.MethodGet {
			t.Errorf("method %s", r.Method)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"game_id":"g 1/x","status":"running","players":3}`))
	}, 0)
	game, err := c.GetGame(context.Background(), "g 1/x")
	if err != nil {
		t.Fatal(err)
	}
	if want := "/api/v1/internal/games/g%201%2Fx"; gotPath != want {
		t.Fatalf("path %q, want %q", gotPath, want)
	}
	want := map[string]any{"game_id": "g 1/x", "status": "running", "players": float64(3)}
	if !reflect.DeepEqual(game, want) {
		t.Fatalf("game = %v, want %v", game, want)
	}
}

func TestGetGameErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		status   int
		body     string
		sentinel error
	}{
		"not found":     {http.StatusNotFound, `{"error":"no such game"}`, ports.ErrNotFound},
		"server error":  {http.StatusBadGateway, "upstream down", ports.ErrUnavailable},
		"client error":  {http.StatusForbidden, "no", nil},
		"not an object": {http.StatusOK, `null`, nil},
		"bad json":      {http.StatusOK, `{"game_id":`, nil},
	} {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}, 0)
			_, err := c.GetGame(context.Background(), "g1")
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range []error{ports.ErrNotFound, ports.ErrUnavailable} {
				if errors.Is(err, s) != (s == tc.sentinel) {
					t.Fatalf("error %v: errors.Is(%v) = %v", err, s, errors.Is(err, s))
				}
			}
		})
	}
}

func TestGetGameTimeout(t *testing.T) {
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}, 100*time.Millisecond)
	start := time.Now()
	_, err := c.GetGame(context.Background(), "g1")
	if !errors.Is(err, ports.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want ErrUnavailable wrapping a deadline", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("GetGame returned after %v with a 100ms timeout", d)
	}
}

func TestNew(t *testing.T) {
	c, err := New(Config{})
	if err != nil || c != nil {
		t.Fatalf("New with no base URL = %v, %v; want a nil client", c, err)
	}
	for _, bad := range []string{"lobby:8095", "ftp://lobby", "http://", "::"} {
		if _, err := New(Config{BaseURL: bad}); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}
