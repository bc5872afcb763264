package ports

import "context"

//go:generate go tool -modfile=../tools/go.mod mockgen -destination=mocks/host_mock.go -package=mocks . StateDirs,IDs

// StateDirs prepares where games' state lives: on docker the host
// directories <RTMANAGER_GAME_STATE_ROOT>/<game_id>, on swarm a named volume
// on the game's node. Nothing behind this port ever deletes state that holds
// anything (invariant 2).
type StateDirs interface {
	// Ensure makes the game's state usable: on docker its directory exists
	// with the configured mode and owner and is proved writable (Created says
	// this call made it). On a runtime with nodes it also settles where the
	// game runs, as its state lives there: on pinned, the node the game's
	// record names, or — for a game without one — on the node the runtime
	// picks. A node that cannot take the game is ErrNoEngineHost.
	Ensure(ctx context.Context, gameID, pinned string) (StateDir, error)
	// RemoveIfEmpty removes a directory that a failed start created, when it
	// is still empty; a directory holding anything is left as it is.
	RemoveIfEmpty(ctx context.Context, path string) error
}

// StateDir is where a game's state lives.
type StateDir struct {
	// Path is the host directory (docker) or the volume name (swarm).
	Path    string
	Created bool
	// Node is the node the game is pinned to; "" on docker.
	Node string
}

// IDs makes unique random identifiers (the correlation ids of operations).
type IDs interface {
	NewID() string
}
