package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestServeReturnsWhenTheListenerFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = ln.Close()
	errc := make(chan error, 1)
	go func() { errc <- Serve(t.Context(), ln, http.NotFoundHandler(), time.Second, quiet) }()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("a failed listener must be an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve hung after its listener failed")
	}
}

// A request still running when the shutdown timeout passes is cut off, and
// the shutdown still ends normally.
func TestServeShutsDownWithinTheTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		time.Sleep(10 * time.Second)
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, ln, slow, 200*time.Millisecond, quiet) }()
	go func() { _, _ = http.Get("http://" + ln.Addr().String()) }()
	<-entered
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("shutdown past the timeout: %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return within the shutdown timeout")
	}
}

// A request in flight when the shutdown begins finishes and is answered.
func TestServeLetsInFlightRequestsFinish(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		w.WriteHeader(http.StatusNoContent)
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, ln, h, 10*time.Second, quiet) }()
	status := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	<-entered
	cancel()
	time.Sleep(100 * time.Millisecond) // the shutdown has begun
	close(release)
	if got := <-status; got != http.StatusNoContent {
		t.Errorf("in-flight request answered %d, want 204", got)
	}
	if err := <-errc; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
