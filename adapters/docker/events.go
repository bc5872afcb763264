package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/events"

	"github.com/galaxy/rtmanager/ports"
)

// Events streams the events of this deployment's containers from since (zero:
// from now). It is not bounded by the call timeout. When the stream ends the
// error channel receives why — ctx.Err() on cancellation, an
// ports.ErrUnavailable-wrapped error when the daemon went away — and then
// both channels close.
//
// The daemon replays past events from a small in-memory buffer only (256 in
// Docker 20.10), and since is inclusive: a resuming caller may see the event
// at since again and must still reconcile after a long break.
func (c *Client) Events(ctx context.Context, since time.Time) (<-chan ports.ContainerEvent, <-chan error) {
	// Label filters are ANDed by the daemon, as in a listing.
	f := c.owned.Clone()
	f.Add("type", string(events.ContainerEventType))
	opts := events.ListOptions{Filters: f}
	if !since.IsZero() {
		// seconds.nanoseconds: the daemon's finest since precision.
		opts.Since = strconv.FormatInt(since.Unix(), 10) + "." + fmt.Sprintf("%09d", since.Nanosecond())
	}
	msgs, sdkErrs := c.api.Events(ctx, opts)
	out := make(chan ports.ContainerEvent)
	errs := make(chan error, 1)
	go func() {
		defer close(out)
		defer close(errs)
		// The error is buffered before out closes, so a caller that ranges
		// over out finds it waiting.
		fail := func(err error) { errs <- streamError(ctx, err) }
		for {
			select {
			case m := <-msgs:
				select {
				case out <- containerEvent(m):
				case <-ctx.Done():
					fail(ctx.Err())
					return
				}
			case err := <-sdkErrs:
				fail(err)
				return
			}
		}
	}()
	return out, errs
}

// streamError explains why the event stream ended.
func streamError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// The daemon closing the stream (restart, shutdown) ends the body.
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("docker events: %w: stream closed by the daemon: %w", ports.ErrUnavailable, err)
	}
	return translate(ctx, "events", err)
}

func containerEvent(m events.Message) ports.ContainerEvent {
	ev := ports.ContainerEvent{
		Action:      string(m.Action),
		ContainerID: m.Actor.ID,
		GameID:      m.Actor.Attributes[ports.LabelGameID],
		ExitCode:    m.Actor.Attributes["exitCode"],
		TimeNano:    m.TimeNano,
		Time:        time.Unix(0, m.TimeNano),
	}
	if m.TimeNano == 0 { // daemons before API 1.22 sent seconds only
		ev.TimeNano = m.Time * int64(time.Second)
		ev.Time = time.Unix(m.Time, 0)
	}
	return ev
}
