package lifecycle

import (
	"time"

	"github.com/galaxy/rtmanager/core/domain"
)

// Meta says who asked for an operation; it is copied into the operation log.
type Meta struct {
	Source    domain.OpSource
	SourceRef string // X-Request-Id or stream entry id
	// CorrelationID ties inner rows to their outer operation; generated when empty.
	CorrelationID string
	// Job is set when the operation carries out a Lobby stream job (contract
	// §6). Such an operation waits for a busy lease instead of refusing —
	// until the caller's context ends — and is fenced: a job placed before
	// one already applied to the game does not act (fence.go).
	Job *domain.JobPosition
}

// StartInput asks to run a game's engine from image_ref.
type StartInput struct {
	GameID   string
	ImageRef string
	Meta
}

// StopInput asks to stop a game's engine.
type StopInput struct {
	GameID string
	Reason string // one of domain.AllStopReasons
	Meta
}

// RestartInput asks to replace a game's container with a fresh one on the same image.
type RestartInput struct {
	GameID string
	Meta
}

// PatchInput asks to replace a game's container with one on a patch-level newer image.
type PatchInput struct {
	GameID   string
	ImageRef string
	Meta
}

// CleanupInput asks to remove a stopped game's container.
type CleanupInput struct {
	GameID string
	// LastOpBefore, when set, is the retention cutoff the caller chose the
	// game by (contract §7: last_op_at older than the retention): a game
	// whose last operation is at or after it under the lease (started and
	// stopped again since it was listed) is a replay_no_op, its new
	// container kept.
	LastOpBefore time.Time
	Meta
}
