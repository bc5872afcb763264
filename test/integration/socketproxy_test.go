package integration

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// socketProxy stands between a service and the Docker socket, so a test can
// break the connections (the events stream among them) and refuse new ones,
// as a daemon restart or a network fault would.
type socketProxy struct {
	t        *testing.T
	ln       net.Listener
	upstream string

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	cut     bool // refusing: every new connection is closed at once
	serving sync.WaitGroup
}

// newSocketProxy listens on a fresh unix socket in front of the local Docker
// socket; DOCKER_HOST of a service pointed at Host goes through it. It stops
// when the test ends.
func newSocketProxy(t *testing.T) *socketProxy {
	t.Helper()
	upstream := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		if !strings.HasPrefix(h, "unix://") {
			t.Fatalf("socket proxy: DOCKER_HOST %q is not a unix socket", h)
		}
		upstream = strings.TrimPrefix(h, "unix://")
	}
	// A short path: unix socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "rtmproxy")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	p := &socketProxy{t: t, ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	p.serving.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.breakAll(false)
		p.serving.Wait()
		_ = os.RemoveAll(dir)
	})
	return p
}

// Host is the DOCKER_HOST value that reaches Docker through the proxy.
func (p *socketProxy) Host() string { return "unix://" + p.ln.Addr().String() }

// Cut closes every connection through the proxy and refuses new ones until Mend.
func (p *socketProxy) Cut() { p.breakAll(true) }

// Mend lets connections through again.
func (p *socketProxy) Mend() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

func (p *socketProxy) breakAll(refuse bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = refuse
	for c := range p.conns {
		_ = c.Close()
	}
}

func (p *socketProxy) accept() {
	defer p.serving.Done()
	for {
		down, err := p.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			p.t.Errorf("socket proxy: accept: %v", err)
			return
		}
		p.serving.Add(1)
		go p.relay(down)
	}
}

// relay copies both ways between a client's connection and a new one to
// the daemon, until either side ends or the proxy breaks them.
func (p *socketProxy) relay(down net.Conn) {
	defer p.serving.Done()
	p.mu.Lock()
	refused := p.cut
	p.mu.Unlock()
	if refused {
		_ = down.Close()
		return
	}
	up, err := net.Dial("unix", p.upstream)
	if err != nil {
		p.t.Errorf("socket proxy: dial %s: %v", p.upstream, err)
		_ = down.Close()
		return
	}
	p.mu.Lock()
	p.conns[down], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var done sync.WaitGroup
	done.Add(2)
	pipe := func(dst, src net.Conn) {
		defer done.Done()
		_, _ = io.Copy(dst, src)
		_ = dst.Close() // one side ended: end the other
		_ = src.Close()
	}
	go pipe(up, down)
	go pipe(down, up)
	done.Wait()
	p.mu.Lock()
	delete(p.conns, down)
	delete(p.conns, up)
	p.mu.Unlock()
}
