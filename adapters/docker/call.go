package docker

import (
	"context"
	"time"

	"github.com/docker/docker/client"
)

// Call runs fn on the SDK client under the call timeout, stretched by extra,
// and translates its error as every call of this adapter does. The swarm
// adapter drives services and nodes through it, on the same daemon.
func (c *Client) Call(ctx context.Context, op string, extra time.Duration, fn func(context.Context, *client.Client) error) error {
	return c.run(ctx, op, extra, func(ctx context.Context) error { return fn(ctx, c.api) })
}
