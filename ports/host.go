package ports

import "context"

//go:generate go tool -modfile=../tools/go.mod mockgen -destination=mocks/host_mock.go -package=mocks . StateDirs,IDs

// StateDirs prepares the host directories that hold games' state
// (<RTMANAGER_GAME_STATE_ROOT>/<game_id>). Nothing behind this port ever
// deletes a directory that holds anything (invariant 2).
type StateDirs interface {
	// Ensure makes the game's directory exist with the configured mode and
	// owner and proves it writable. Created says this call made it.
	Ensure(ctx context.Context, gameID string) (StateDir, error)
	// RemoveIfEmpty removes a directory that a failed start created, when it
	// is still empty; a directory holding anything is left as it is.
	RemoveIfEmpty(ctx context.Context, path string) error
}

// StateDir is a game's host state directory.
type StateDir struct {
	Path    string
	Created bool
}

// IDs makes unique random identifiers (the correlation ids of operations).
type IDs interface {
	NewID() string
}
