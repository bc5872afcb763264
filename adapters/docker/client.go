// Package docker implements ports.Docker on the Docker Engine SDK. It is the
// only place in RTM that talks to the daemon: every call is bounded by a
// timeout, and SDK errors are
// translated into ports.ErrNotFound, ports.ErrConflict and
// ports.ErrUnavailable so core decides on errors.Is alone. (The per-host cap
// on create/start calls in flight lives in core's lifecycle service.)
package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/galaxy/rtmanager/ports"
)

// Defaults of Config (contract §9).
const (
	DefaultHost        = "unix:///var/run/docker.sock"
	DefaultCallTimeout = 30 * time.Second
	DefaultPullTimeout = 10 * time.Minute
)

// Config configures the adapter.
type Config struct {
	// Host is the daemon address in DOCKER_HOST form (unix:///path or
	// tcp://host:port); empty means DefaultHost (RTMANAGER_DOCKER_HOST).
	Host string
	// CallTimeout bounds every call except PullImage and the Events stream;
	// zero means DefaultCallTimeout (RTMANAGER_DOCKER_CALL_TIMEOUT).
	CallTimeout time.Duration
	// PullTimeout bounds one image pull; zero means DefaultPullTimeout
	// (RTMANAGER_IMAGE_PULL_TIMEOUT).
	PullTimeout time.Duration
	// Deployment is the com.galaxy.deployment value of our containers
	// (RTMANAGER_DEPLOYMENT); required. ListOwned and Events see only
	// containers carrying it beside the owner label (contract §3).
	Deployment string
}

// Client is the ports.Docker adapter. It is safe for concurrent use.
type Client struct {
	api         *client.Client
	timeout     time.Duration
	pullTimeout time.Duration
	owned       filters.Args // our owner and deployment labels
}

var _ ports.Docker = (*Client)(nil)

// New builds a client for cfg.Host. It does not contact the daemon; call Ping
// to check it. The API version is negotiated on first use, so an older daemon
// (20.10, API 1.41) is spoken to in its own version.
func New(cfg Config) (*Client, error) {
	if cfg.Host == "" {
		cfg.Host = DefaultHost
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.PullTimeout == 0 {
		cfg.PullTimeout = DefaultPullTimeout
	}
	if cfg.CallTimeout < 0 || cfg.PullTimeout < 0 {
		return nil, fmt.Errorf("docker: timeouts must be positive, got call %s, pull %s", cfg.CallTimeout, cfg.PullTimeout)
	}
	// Without a deployment the filters would select every owner-labelled
	// container on the host, other deployments' included.
	if cfg.Deployment == "" {
		return nil, errors.New("docker: a deployment is required")
	}
	api, err := client.NewClientWithOpts(client.WithHost(cfg.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker: host %q: %w", cfg.Host, err)
	}
	owned := filters.NewArgs(
		filters.Arg("label", ports.LabelOwner+"="+ports.OwnerValue),
		filters.Arg("label", ports.LabelDeployment+"="+cfg.Deployment),
	)
	return &Client{api: api, timeout: cfg.CallTimeout, pullTimeout: cfg.PullTimeout, owned: owned}, nil
}

// Close releases the client's idle connections.
func (c *Client) Close() error { return c.api.Close() }

// run calls fn under the call timeout, stretched by extra for calls that
// legitimately wait on the daemon (a graceful stop), and translates its error.
func (c *Client) run(ctx context.Context, op string, extra time.Duration, fn func(context.Context) error) error {
	callCtx, cancel := context.WithTimeout(ctx, c.timeout+extra)
	defer cancel()
	return translate(ctx, op, fn(callCtx))
}

// translate maps an SDK error to the port's sentinels, keeping the daemon's
// message. parent is the caller's context: a deadline of the caller is the
// caller's business, while the adapter's own call timeout means the daemon
// did not answer.
func translate(parent context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case cerrdefs.IsNotFound(err) || swarmNotFound(err):
		return fmt.Errorf("docker %s: %w: %w", op, ports.ErrNotFound, err)
	case cerrdefs.IsConflict(err):
		return fmt.Errorf("docker %s: %w: %w", op, ports.ErrConflict, err)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		if parent.Err() != nil {
			return fmt.Errorf("docker %s: %w", op, err)
		}
		return fmt.Errorf("docker %s: %w: no answer within the call timeout: %w", op, ports.ErrUnavailable, err)
	case client.IsErrConnectionFailed(err):
		return fmt.Errorf("docker %s: %w: %w", op, ports.ErrUnavailable, err)
	default:
		return fmt.Errorf("docker %s: %w", op, err)
	}
}

// swarmNotFound recognises a swarm-mode daemon's not-found: on a swarm
// manager, starting a container on a network that does not exist answers 500
// "Could not attach to network X: rpc error: code = NotFound desc = …" —
// the swarm store's gRPC status, carried only in the message.
func swarmNotFound(err error) bool {
	return strings.Contains(err.Error(), "rpc error: code = NotFound desc =")
}

// Ping checks that the daemon answers.
func (c *Client) Ping(ctx context.Context) error {
	return c.run(ctx, "ping", 0, func(ctx context.Context) error {
		_, err := c.api.Ping(ctx)
		return err
	})
}

// NetworkExists reports whether the network exists; RTM never creates it.
func (c *Client) NetworkExists(ctx context.Context, name string) (bool, error) {
	err := c.run(ctx, "inspect network "+name, 0, func(ctx context.Context) error {
		_, err := c.api.NetworkInspect(ctx, name, network.InspectOptions{})
		return err
	})
	if errors.Is(err, ports.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
