// Package ports declares every interface the core needs from the outside world.
// Adapters implement them and translate driver errors into the sentinels below,
// so core decides on errors.Is alone.
package ports

import "errors"

var (
	// ErrNotFound: the thing asked for does not exist (record, container, image, snapshot).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a compare-and-swap found another state, or a name is taken.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the dependency (PostgreSQL, Redis, Docker daemon) did not answer.
	ErrUnavailable = errors.New("dependency unavailable")
	// ErrNoEngineHost: no node may run the game's engine (its pinned node is
	// gone, down, drained or no longer an engine host, or a new game finds no
	// eligible node).
	ErrNoEngineHost = errors.New("no engine host")
	// ErrLeaseBusy: another holder owns the game's lease.
	ErrLeaseBusy = errors.New("lease busy")
)
