package di

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/internal/config"
)

func testApp(h http.Handler, shutdown time.Duration) *App {
	return &App{
		Config:        config.Config{ShutdownTimeout: shutdown},
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Handler:       h,
		CountRuntimes: func(context.Context) error { return nil },
	}
}

func TestServeReturnsWhenTheListenerFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = ln.Close()
	errc := make(chan error, 1)
	go func() { errc <- testApp(http.NotFoundHandler(), time.Second).Serve(t.Context(), ln) }()
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
	go func() { errc <- testApp(slow, 200*time.Millisecond).Serve(ctx, ln) }()
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
