package engine_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/adapters/docker"
	"github.com/galaxy/rtmanager/adapters/engine"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/internal/testenv/dockertest"
)

func TestMain(m *testing.M) { os.Exit(dockertest.Main(m)) }

func probe(p *engine.Prober, baseURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.Healthz(ctx, baseURL)
}

// startEngine runs a sample engine container and returns its base URL on the
// container IP (RTMANAGER_ENGINE_ADDRESS=container_ip, as in tests and make run).
func startEngine(t *testing.T, image string) string {
	t.Helper()
	testenv.Docker(t)
	d, err := docker.New(docker.Config{Host: os.Getenv("DOCKER_HOST"), Deployment: testenv.Deployment()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	_, baseURL := dockertest.StartEngine(t, d, dockertest.EngineSpec(testenv.UniqueName("g"), image, t.TempDir()))
	return baseURL
}

func TestHealthzOfTheSampleEngine(t *testing.T) {
	t.Parallel()
	baseURL := startEngine(t, dockertest.Image100)
	p := engine.NewProber(engine.Config{})
	defer p.Close()

	if err := probe(p, baseURL); err != nil {
		t.Fatalf("running engine: %v", err)
	}
	post := func(path string) {
		t.Helper()
		if code, body, err := dockertest.Call(http.MethodPost, baseURL, path); err != nil || code != http.StatusOK {
			t.Fatalf("POST %s: %d %s %v", path, code, body, err)
		}
	}
	post("/control/fail-probe")
	if err := probe(p, baseURL); err == nil || !strings.Contains(err.Error(), "status 503") {
		t.Errorf("failing engine: %v, want status 503", err)
	}
	post("/control/recover-probe")
	if err := probe(p, baseURL+"/"); err != nil { // a trailing slash is tolerated
		t.Errorf("recovered engine: %v", err)
	}
}

func TestHealthzOfTheNeverReadyEngine(t *testing.T) {
	t.Parallel()
	baseURL := startEngine(t, dockertest.ImageNeverReady)
	p := engine.NewProber(engine.Config{})
	defer p.Close()

	// StartEngine waited until the engine answers; every answer is a failure.
	for range 3 {
		if err := probe(p, baseURL); err == nil || !strings.Contains(err.Error(), "status 503") {
			t.Fatalf("never-ready engine: %v, want status 503", err)
		}
	}
}

func TestHealthzAnswers(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok/healthz", func(w http.ResponseWriter, _ *http.Request) {
		// More than the prober drains: the connection is dropped, the answer still counts.
		_, _ = w.Write(make([]byte, 1<<20))
	})
	mux.HandleFunc("/broken/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	mux.HandleFunc("/moved/healthz", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok/healthz", http.StatusFound)
	})
	mux.HandleFunc("/slow/healthz", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	p := engine.NewProber(engine.Config{Timeout: 200 * time.Millisecond})
	defer p.Close()

	if err := probe(p, srv.URL+"/ok"); err != nil {
		t.Errorf("200: %v", err)
	}
	for _, path := range []string{"/broken", "/moved"} {
		if err := probe(p, srv.URL+path); err == nil {
			t.Errorf("%s: accepted", path)
		}
	}
	start := time.Now()
	if err := probe(p, srv.URL+"/slow"); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("slow engine: %v after %s, want a timeout near 200ms", err, time.Since(start))
	}

	// Nothing listening: refused at once, not after the probe timeout.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	if err := probe(p, closed); err == nil {
		t.Error("closed port: accepted")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Healthz(ctx, srv.URL+"/ok"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v", err)
	}
}
