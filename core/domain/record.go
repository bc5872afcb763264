package domain

import (
	"strconv"
	"time"
)

// EnginePort is the port every engine listens on inside its container.
const EnginePort = 8080

// ContainerNamePrefix prefixes every engine container's name and hostname.
const ContainerNamePrefix = "galaxy-game-"

// Record is the durable runtime record of one game (table runtime_records).
type Record struct {
	GameID             string
	Status             Status
	CurrentContainerID string // empty when none
	CurrentImageRef    string // empty when none
	EngineEndpoint     string
	StatePath          string
	DockerNetwork      string
	// EngineNode is the node the game is pinned to (swarm); "" on docker.
	EngineNode string
	StartedAt  *time.Time
	StoppedAt  *time.Time
	RemovedAt  *time.Time
	LastOpAt   time.Time
	CreatedAt  time.Time
}

// ContainerName is the Docker name (and hostname) of a game's engine container.
func ContainerName(gameID string) string { return ContainerNamePrefix + gameID }

// EngineEndpoint is the stable engine URL of a game, reachable by Docker DNS on the network.
func EngineEndpoint(gameID string) string {
	return "http://" + ContainerName(gameID) + ":" + strconv.Itoa(EnginePort)
}

// Operation is one row of the operation log.
type Operation struct {
	ID            int64
	GameID        string
	Kind          OpKind
	Source        OpSource
	SourceRef     string
	CorrelationID string
	Outcome       Outcome
	ErrorCode     ErrorCode
	ErrorMessage  string
	ImageRef      string
	ContainerID   string
	// Details is a JSON object; nil is stored as {}.
	Details    map[string]any
	StartedAt  time.Time
	FinishedAt time.Time
}

// HealthSnapshot is the latest health observation of a game (table health_snapshots).
type HealthSnapshot struct {
	GameID        string
	ContainerID   string
	Status        HealthStatus
	Source        HealthSource
	LastEventType HealthEventType
	Details       map[string]any
	ObservedAt    time.Time
}

// HealthEvent is one entry published on runtime:health_events.
type HealthEvent struct {
	GameID      string
	ContainerID string
	Type        HealthEventType
	OccurredAt  time.Time
	Details     map[string]any
}

// NotificationType is the notification_type of an intent on notification:intents.
type NotificationType string

const (
	NotifyImagePullFailed      NotificationType = "runtime.image_pull_failed"
	NotifyContainerStartFailed NotificationType = "runtime.container_start_failed"
	NotifyStartConfigInvalid   NotificationType = "runtime.start_config_invalid"
)

// NotificationIntent asks the Notification service to tell operators about a failure.
type NotificationIntent struct {
	Type         NotificationType
	GameID       string
	OperationID  int64
	ImageRef     string
	ErrorCode    ErrorCode
	ErrorMessage string
	AttemptedAt  time.Time
	OccurredAt   time.Time
}

// IdempotencyKey is runtime_manager:{game_id}:{notification_type}:{operation id}.
func (n NotificationIntent) IdempotencyKey() string {
	return "runtime_manager:" + n.GameID + ":" + string(n.Type) + ":" + itoa(n.OperationID)
}

// NotificationForCode returns the intent type owed for a failed start, if any.
func NotificationForCode(code ErrorCode) (NotificationType, bool) {
	switch code {
	case CodeStartConfigInvalid:
		return NotifyStartConfigInvalid, true
	case CodeImagePullFailed:
		return NotifyImagePullFailed, true
	case CodeContainerStartFailed:
		return NotifyContainerStartFailed, true
	}
	return "", false
}
