// Command engine is the sample Galaxy game engine. It honours the engine
// contract (listen on :8080, GET /healthz, state only under GAME_STATE_PATH)
// and adds control endpoints so that every lifecycle and health path of
// Runtime Manager can be exercised against a real container:
//
//	GET  /healthz                 200 {"status":"ok"}, 503 while failing
//	GET  /counter                 {"counter":N,"boots":M}
//	POST /counter                 increments the counter, answers like GET
//	POST /control/fail-probe      /healthz answers 503 from now on
//	POST /control/recover-probe   /healthz answers 200 again
//	POST /control/exit?code=N     exits with code N (default 1)
//	POST /control/oom?max_mb=N    allocates until the memory limit kills it
//
// ENGINE_NEVER_READY=1 makes /healthz never answer 200, for readiness-gate
// tests.
//
// `engine probe URL` is a client instead: one GET of URL, printing what
// happened; exit 0 on 200, 1 on any other answer or none, 2 on bad usage.
// The images hold nothing but this binary (no shell, no curl), so it is how a
// test proves that another container on the network reaches an engine by
// its name.
//
// It is built as a static binary (stdlib only) for a FROM scratch image.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	listenAddr = ":8080"
	stateFile  = "counter.json"
	// defaultOOMMaxMB bounds /control/oom when the container has no memory
	// limit (or a larger one), so a mistaken call cannot eat the whole host.
	defaultOOMMaxMB = 1024
)

// state is what the engine persists under GAME_STATE_PATH.
type state struct {
	Counter int64 `json:"counter"`
	Boots   int64 `json:"boots"`
}

// store serialises access to the persisted state.
type store struct {
	mu   sync.Mutex
	path string
	cur  state
}

// openStore loads the state file (absent means a fresh game) and counts this boot.
func openStore(dir string) (*store, error) {
	s := &store{path: filepath.Join(dir, stateFile)}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		// A corrupt file is refused rather than reset: silently starting a
		// game from zero would hide exactly the bug the state mount guards against.
		if err := json.Unmarshal(b, &s.cur); err != nil {
			return nil, fmt.Errorf("%s: %w", s.path, err)
		}
	}
	s.cur.Boots++
	s.cur.Counter++
	if err := s.writeLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *store) get() state {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *store) increment() (state, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.Counter++
	if err := s.writeLocked(); err != nil {
		s.cur.Counter-- // memory stays at the last value known to be on disk
		return s.cur, err
	}
	return s.cur, nil
}

// writeLocked replaces the state file atomically (temp file, fsync, rename,
// fsync of the directory), so a kill at any moment leaves either the old or
// the new state, never a torn file.
func (s *store) writeLocked() error {
	b, err := json.Marshal(s.cur)
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, stateFile+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	// CreateTemp makes 0600; let the state dir's group (RTM's mode 0750) read it.
	if err := tmp.Chmod(0o640); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

type engine struct {
	store      *store
	neverReady bool
	failProbe  atomic.Bool
	// exit receives the code requested by /control/exit; main shuts the
	// server down (letting the response reach the caller) and exits with it.
	exit chan int
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (e *engine) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if e.neverReady || e.failProbe.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "failing"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /counter", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, e.store.get())
	})
	mux.HandleFunc("POST /counter", func(w http.ResponseWriter, _ *http.Request) {
		st, err := e.store.increment()
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("POST /control/fail-probe", func(w http.ResponseWriter, _ *http.Request) {
		e.failProbe.Store(true)
		writeJSON(w, http.StatusOK, map[string]bool{"fail_probe": true})
	})
	mux.HandleFunc("POST /control/recover-probe", func(w http.ResponseWriter, _ *http.Request) {
		e.failProbe.Store(false)
		writeJSON(w, http.StatusOK, map[string]bool{"fail_probe": false})
	})
	mux.HandleFunc("POST /control/exit", func(w http.ResponseWriter, r *http.Request) {
		code, err := queryInt(r, "code", 1)
		if err != nil || code < 0 || code > 255 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "code must be 0..255"})
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]int{"exit_code": code})
		select {
		case e.exit <- code:
		default: // an exit is already under way
		}
	})
	mux.HandleFunc("POST /control/oom", func(w http.ResponseWriter, r *http.Request) {
		maxMB, err := queryInt(r, "max_mb", defaultOOMMaxMB)
		if err != nil || maxMB <= 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "max_mb must be positive"})
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]int{"max_mb": maxMB})
		go exhaustMemory(maxMB)
	})
	return mux
}

func queryInt(r *http.Request, key string, def int) (int, error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
}

// exhaustMemory allocates and touches memory in 8 MiB chunks until the
// kernel's OOM killer ends the process. Reaching maxMB alive means there is no
// effective limit; the engine then exits 3 instead of growing further.
func exhaustMemory(maxMB int) {
	const chunk = 8 << 20
	var ballast [][]byte // keeps every chunk reachable so the GC frees nothing
	for total := 0; total < maxMB<<20; total += chunk {
		b := make([]byte, chunk)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1 // touch every page so it is really resident
		}
		ballast = append(ballast, b)
	}
	runtime.KeepAlive(ballast)
	log.Printf("oom: still alive after %d MiB, exiting 3", maxMB)
	os.Exit(3)
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds | log.LUTC)
	if len(os.Args) > 1 && os.Args[1] == "probe" {
		os.Exit(probe(os.Args[2:]))
	}
	os.Exit(run())
}

// probeTimeout bounds the probe's one request: name lookup, connect, answer.
const probeTimeout = 5 * time.Second

// probe GETs args[0] once and returns the exit code. It does not retry: the
// caller asks about an engine that is already up, so an unanswered request
// is the finding, not a reason to wait.
func probe(args []string) int {
	if len(args) != 1 {
		log.Print("usage: engine probe URL")
		return 2
	}
	c := http.Client{Timeout: probeTimeout}
	resp, err := c.Get(args[0])
	if err != nil {
		log.Printf("probe: %v", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	log.Printf("probe: GET %s: %s %s", args[0], resp.Status, bytes.TrimSpace(body))
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}

// run serves until a signal or /control/exit and returns the exit code.
func run() int {
	// First thing: a SIGTERM that arrives before the handler exists makes the
	// Go runtime exit 2 (as PID 1 the default action is ignored), and RTM may
	// well stop an engine that is still booting.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	dir := os.Getenv("GAME_STATE_PATH")
	if dir == "" {
		dir = os.Getenv("STORAGE_PATH") // older RTM versions only set this
	}
	if dir == "" {
		log.Print("GAME_STATE_PATH (or STORAGE_PATH) is not set")
		return 2
	}
	st, err := openStore(dir)
	if err != nil {
		log.Printf("open state: %v", err)
		return 2
	}
	e := &engine{store: st, neverReady: os.Getenv("ENGINE_NEVER_READY") == "1", exit: make(chan int, 1)}
	srv := &http.Server{Addr: listenAddr, Handler: e.routes(), ReadHeaderTimeout: 5 * time.Second}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.ListenAndServe() }()
	cur := st.get()
	log.Printf("engine %s, game %q: listening on %s, counter %d, boot %d, never_ready %v",
		os.Getenv("ENGINE_VERSION"), os.Getenv("GAME_ID"), listenAddr, cur.Counter, cur.Boots, e.neverReady)

	code := 0
	select {
	case err := <-serveErr:
		log.Printf("serve: %v", err)
		return 1
	case <-ctx.Done():
		log.Print("signal received, shutting down")
	case code = <-e.exit:
		log.Printf("exit requested with code %d", code)
	}
	// Shutdown waits for in-flight handlers, so the caller of /control/exit
	// gets its answer; the bound keeps SIGTERM handling well inside Docker's
	// stop timeout.
	shCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shCtx)
	return code
}
