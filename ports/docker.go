package ports

import (
	"context"
	"time"
)

//go:generate go tool -modfile=../tools/go.mod mockgen -destination=mocks/docker_mock.go -package=mocks . Docker

// Labels RTM sets on every engine container (contract §3).
const (
	LabelOwner = "com.galaxy.owner"
	// LabelDeployment carries RTMANAGER_DEPLOYMENT: with the owner label it
	// says which containers are ours.
	LabelDeployment  = "com.galaxy.deployment"
	LabelKind        = "com.galaxy.kind"
	LabelGameID      = "com.galaxy.game_id"
	LabelImageRef    = "com.galaxy.engine_image_ref"
	LabelStartedAtMs = "com.galaxy.started_at_ms"
	OwnerValue       = "rtmanager"
	KindValue        = "game-engine"
)

// Docker is everything RTM asks of the Docker daemon. Implementations bound
// every call by a timeout (pulls excepted) and translate SDK errors into
// ErrNotFound, ErrConflict and ErrUnavailable.
type Docker interface {
	Ping(ctx context.Context) error
	// NetworkExists reports whether the user-defined network exists.
	NetworkExists(ctx context.Context, name string) (bool, error)
	// ImageInspect returns the labels of a local image, or ErrNotFound.
	ImageInspect(ctx context.Context, ref string) (ImageInfo, error)
	// PullImage pulls an image; it is not bounded by the call timeout.
	PullImage(ctx context.Context, ref string) error
	// CreateContainer creates (does not start) a container; ErrConflict when the name is taken.
	CreateContainer(ctx context.Context, spec ContainerSpec) (string, error)
	StartContainer(ctx context.Context, id string) error
	// StopContainer stops gracefully within timeout, then kills. ErrNotFound when gone.
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	// RemoveContainer force-removes a container. ErrNotFound when gone.
	RemoveContainer(ctx context.Context, id string) error
	// InspectContainer inspects by id or name, or ErrNotFound.
	InspectContainer(ctx context.Context, idOrName string) (ContainerInfo, error)
	// ListOwned lists every container (any state) of this deployment: the
	// owner label and the adapter's deployment label both match.
	ListOwned(ctx context.Context) ([]ContainerInfo, error)
	// Events streams events of this deployment's containers (as ListOwned
	// selects them) since the given time.
	// The event channel closes when the stream ends; the error channel then
	// carries why (ctx.Err() on cancellation).
	Events(ctx context.Context, since time.Time) (<-chan ContainerEvent, <-chan error)
}

// ImageInfo is what RTM reads from a local image.
type ImageInfo struct {
	ID     string
	Labels map[string]string
}

// ContainerSpec is the full model of an engine container (contract §3).
type ContainerSpec struct {
	Name        string // also the hostname
	Image       string
	Network     string
	Labels      map[string]string
	Env         []string // KEY=value
	NanoCPUs    int64
	MemoryBytes int64
	PidsLimit   int64
	// The game's state: the host directory bind-mounted (docker) or the
	// named volume mounted (swarm) at StateMountPath.
	HostStatePath  string
	StateMountPath string
	LogDriver      string
	LogOptions     map[string]string
	// Node pins the engine to a node (swarm); "" on docker.
	Node string
}

// ContainerInfo is what RTM reads from an inspected or listed container.
type ContainerInfo struct {
	ID           string
	Name         string // without the leading slash
	Image        string // image the container was created from, as given
	Labels       map[string]string
	State        string // created, running, exited, …
	Running      bool
	ExitCode     int
	OOMKilled    bool
	RestartCount int
	Health       string // healthy, unhealthy, starting or "" without a healthcheck
	// NetworkIPs maps network name to the IPv4 address at which this host
	// reaches the container through it: its address on that network (docker),
	// or its docker_gwbridge address on this node for the overlay (swarm: the
	// host cannot route overlay addresses).
	NetworkIPs map[string]string
	// Mounts maps each mount's path in the container to its host source
	// (the game's state directory is one; on swarm its volume's name).
	Mounts map[string]string
	// Node is the node the engine is pinned to (swarm); "" on docker.
	Node       string
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
}

// OwnedBy reports whether the container is ours in the given deployment
// (contract §3): it carries RTM's owner label and that deployment label. A
// container of another deployment, or one without a deployment label, is
// foreign. An empty deployment owns nothing, so a missing setting can never
// make every owner-labelled container ours.
func (c ContainerInfo) OwnedBy(deployment string) bool {
	return deployment != "" && c.Labels[LabelOwner] == OwnerValue && c.Labels[LabelDeployment] == deployment
}

// The Docker event actions the events listener acts on (contract §7); it
// ignores every other.
const (
	ActionDie     = "die"
	ActionOOM     = "oom"
	ActionDestroy = "destroy"
)

// ContainerEvent is one Docker event of a container of this deployment.
type ContainerEvent struct {
	Action      string // start, die, oom, destroy, …
	ContainerID string
	GameID      string // from the game_id label
	ExitCode    string // attribute exitCode on die
	Time        time.Time
	TimeNano    int64
}
