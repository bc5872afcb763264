package docker

import (
	"context"
	"io"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/galaxy/rtmanager/ports"
)

// ImageInspect returns the ID and labels of a local image, or ports.ErrNotFound.
func (c *Client) ImageInspect(ctx context.Context, ref string) (ports.ImageInfo, error) {
	var info ports.ImageInfo
	err := c.run(ctx, "inspect image "+ref, 0, func(ctx context.Context) error {
		r, err := c.api.ImageInspect(ctx, ref)
		if err != nil {
			return err
		}
		info.ID = r.ID
		if r.Config != nil {
			info.Labels = r.Config.Labels
		}
		return nil
	})
	return info, err
}

// PullImage pulls ref from its registry. It is bounded only by ctx: a large
// image on a slow registry may legitimately take longer than any call timeout.
func (c *Client) PullImage(ctx context.Context, ref string) error {
	op := "pull image " + ref
	// A pull may legitimately take minutes, so it is not under the call
	// timeout; its own bound keeps a stalled registry from holding the
	// game's lease forever.
	ctx, cancel := context.WithTimeout(ctx, c.pullTimeout)
	defer cancel()
	rc, err := c.api.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return translate(ctx, op, err)
	}
	defer rc.Close()
	// The daemon answers 200 as soon as the pull starts and reports a failure
	// (unknown tag, registry unreachable, …) inside the progress stream, so
	// the stream must be read to the end to know the outcome.
	return translate(ctx, op, jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil))
}
