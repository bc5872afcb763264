package redis

import (
	"context"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/adapters/internal/coalesce"
)

// pipeTimeout bounds one pipeline of coalesced commands. A queued command is
// never abandoned (a lease taken for a caller that left would be stranded for
// its TTL), so its callers wait for this at most, beside the socket timeouts.
const pipeTimeout = 5 * time.Second

// pipeBatch bounds the commands of one pipeline.
const pipeBatch = 64

// command queues one command on a pipeline and returns it.
type command func(ctx context.Context, p goredis.Pipeliner) goredis.Cmder

// pipes holds the pipe of each client, so the leases, the publishers and the
// job source of one process share their round trips. Processes make one
// client; tests a few dozen at most, so entries are never dropped.
var pipes sync.Map // goredis.UniversalClient → *pipe

// pipeOf returns the client's pipe.
func pipeOf(rdb goredis.UniversalClient) *pipe {
	if p, ok := pipes.Load(rdb); ok {
		return p.(*pipe)
	}
	p, _ := pipes.LoadOrStore(rdb, newPipe(rdb))
	return p.(*pipe)
}

// newPipe returns the group that sends the commands its callers make at the
// same time in one pipeline: one write and one read for the lot (package
// coalesce). The hot commands of a job — take and release the game's lease,
// publish the result, acknowledge the entry — go through one; each still
// gets its own reply or error.
func newPipe(rdb goredis.UniversalClient) *pipe {
	return coalesce.New(pipeBatch, func(calls []*callOf) { runPipe(rdb, calls) })
}

// pipe is a group of coalesced Redis commands; callOf is one of its calls.
type (
	pipe   = coalesce.Group[command, goredis.Cmder]
	callOf = coalesce.Call[command, goredis.Cmder]
)

// runPipe sends calls as one pipeline and sets each one's reply and error.
func runPipe(rdb goredis.UniversalClient, calls []*callOf) {
	ctx, cancel := context.WithTimeout(context.Background(), pipeTimeout)
	defer cancel()
	// Each command carries its own error; Pipelined's is the first of them.
	_, _ = rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, c := range calls {
			c.Out = c.In(ctx, p)
		}
		return nil
	})
	for _, c := range calls {
		c.Err = c.Out.Err()
	}
}
