package harness

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
)

// StartMain boots a service where there is no *testing.T — the TestMain of a
// package whose runnable examples need a live service. A failure while
// booting panics (the run fails); stop, called after m.Run, removes what the
// service made, like a test's cleanup.
func StartMain(opts Options) (s *Service, stop func()) {
	tb := &mainTB{name: "TestMain"}
	s = Start(tb, opts)
	return s, tb.cleanup
}

// mainTB is the part of testing.TB the harness and internal/testenv use. The
// embedded interface is nil: any other method panics, which a change to the
// harness would show at once in the examples' run.
type mainTB struct {
	testing.TB
	name string

	mu       sync.Mutex
	cleanups []func()
	dirs     []string
}

func (m *mainTB) Helper()      {}
func (m *mainTB) Name() string { return m.name }

func (m *mainTB) Cleanup(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cleanups = append(m.cleanups, f)
}

func (m *mainTB) TempDir() string {
	d, err := os.MkdirTemp("", "rtmanager-main-")
	if err != nil {
		panic(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dirs = append(m.dirs, d)
	return d
}

func (m *mainTB) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "harness: "+format+"\n", args...)
}

func (m *mainTB) Fatal(args ...any) { panic(fmt.Sprint(args...)) }

func (m *mainTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (m *mainTB) FailNow() { panic("harness: FailNow outside a test") }

// cleanup runs the cleanups last-registered first, as testing does.
func (m *mainTB) cleanup() {
	m.mu.Lock()
	fs := slices.Clone(m.cleanups)
	dirs := slices.Clone(m.dirs)
	m.mu.Unlock()
	slices.Reverse(fs)
	for _, f := range fs {
		f()
	}
	for _, d := range dirs {
		_ = os.RemoveAll(d)
	}
}
