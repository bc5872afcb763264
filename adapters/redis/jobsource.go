package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/ports"
)

// Defaults of RTMANAGER_STREAM_GROUP and RTMANAGER_STREAM_CLAIM_IDLE.
const (
	DefaultGroup     = "rtmanager"
	DefaultClaimIdle = time.Minute
)

// JobSourceConfig configures JobSource.
type JobSourceConfig struct {
	// Names gives the job streams; only StartJobs and StopJobs are read.
	Names StreamNames
	// Group is the consumer group; empty means DefaultGroup.
	Group string
	// Consumer is this instance's name in the group (the instance id). Required.
	Consumer string
	// ClaimIdle is how long an entry stays pending with a consumer before
	// another may reclaim it; zero means DefaultClaimIdle.
	ClaimIdle time.Duration
}

// JobSource implements ports.JobSource on the two Lobby job streams.
type JobSource struct {
	rdb       goredis.UniversalClient
	names     StreamNames
	streams   []jobStream
	group     string
	consumer  string
	claimIdle time.Duration
}

type jobStream struct {
	name string
	kind ports.JobKind
}

var _ ports.JobSource = (*JobSource)(nil)

// NewJobSource returns the job reader. The consumer group is created (with
// MKSTREAM) the first time Redis reports it missing, so neither the streams
// nor the group need to exist beforehand.
func NewJobSource(rdb goredis.UniversalClient, cfg JobSourceConfig) (*JobSource, error) {
	if cfg.Consumer == "" {
		return nil, errors.New("job source: consumer name (instance id) is required")
	}
	names := cfg.Names.withDefaults()
	if names.StartJobs == names.StopJobs {
		return nil, fmt.Errorf("job source: start and stop jobs share the stream %q", names.StartJobs)
	}
	if cfg.Group == "" {
		cfg.Group = DefaultGroup
	}
	if cfg.ClaimIdle <= 0 {
		cfg.ClaimIdle = DefaultClaimIdle
	}
	return &JobSource{
		rdb:   rdb,
		names: names,
		streams: []jobStream{
			{name: names.StartJobs, kind: ports.JobStart},
			{name: names.StopJobs, kind: ports.JobStop},
		},
		group:     cfg.Group,
		consumer:  cfg.Consumer,
		claimIdle: cfg.ClaimIdle,
	}, nil
}

// Read returns up to count jobs per stream, ordered by entry id across both
// streams: ids are Lobby's append times, so a start and a later stop of one
// game come in order (entries of the same millisecond on different streams
// have no defined order). It first reclaims entries that another consumer (or
// this one, before a restart) left pending for longer than ClaimIdle, then
// reads new entries, blocking up to block only when nothing was reclaimed;
// block <= 0 does not block. A blocked read ignores ctx cancellation (go-redis
// only honours deadlines on the socket), so callers should keep block short
// enough for shutdown. When ctx ends the error is ctx's, not
// ports.ErrUnavailable.
func (s *JobSource) Read(ctx context.Context, count int, block time.Duration) ([]ports.Job, error) {
	if count <= 0 {
		count = 1
	}
	var jobs []ports.Job
	err := s.withGroup(ctx, func() error {
		jobs = jobs[:0]
		var err error
		if jobs, err = s.reclaim(ctx, jobs, count); err != nil {
			return err
		}
		if len(jobs) >= count {
			return nil
		}
		wait := block
		if len(jobs) > 0 || block <= 0 {
			wait = -1 // go-redis: no BLOCK argument (BLOCK 0 would wait forever)
		}
		jobs, err = s.readNew(ctx, jobs, count-len(jobs), wait)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("read jobs: %w", ctx.Err())
		}
		return nil, err
	}
	slices.SortStableFunc(jobs, func(a, b ports.Job) int { return compareIDs(a.ID, b.ID) })
	return jobs, nil
}

// reclaim XAUTOCLAIMs idle pending entries of both streams for this consumer.
// An entry claimed here and then lost to a later error is not lost: it stays
// pending and is reclaimed again after ClaimIdle.
func (s *JobSource) reclaim(ctx context.Context, jobs []ports.Job, count int) ([]ports.Job, error) {
	for _, st := range s.streams {
		if len(jobs) >= count {
			break
		}
		msgs, _, err := s.rdb.XAutoClaim(ctx, &goredis.XAutoClaimArgs{
			Stream:   st.name,
			Group:    s.group,
			Consumer: s.consumer,
			MinIdle:  s.claimIdle,
			Start:    "0-0",
			Count:    int64(count - len(jobs)),
		}).Result()
		if err != nil {
			return nil, wrapErr("xautoclaim "+st.name, err)
		}
		for _, m := range msgs {
			jobs = append(jobs, toJob(st.kind, m))
		}
	}
	return jobs, nil
}

// readNew XREADGROUPs entries never delivered to any consumer.
func (s *JobSource) readNew(ctx context.Context, jobs []ports.Job, count int, block time.Duration) ([]ports.Job, error) {
	keys := make([]string, 0, 2*len(s.streams))
	for _, st := range s.streams {
		keys = append(keys, st.name)
	}
	for range s.streams {
		keys = append(keys, ">")
	}
	res, err := s.rdb.XReadGroup(ctx, &goredis.XReadGroupArgs{
		Group:    s.group,
		Consumer: s.consumer,
		Streams:  keys,
		Count:    int64(count),
		Block:    block,
	}).Result()
	if errors.Is(err, goredis.Nil) {
		return jobs, nil // blocked until timeout, nothing new
	}
	if err != nil {
		return nil, wrapErr("xreadgroup", err)
	}
	for _, xs := range res {
		kind := s.kindOf(xs.Stream)
		for _, m := range xs.Messages {
			jobs = append(jobs, toJob(kind, m))
		}
	}
	return jobs, nil
}

func (s *JobSource) kindOf(stream string) ports.JobKind {
	for _, st := range s.streams {
		if st.name == stream {
			return st.kind
		}
	}
	return ports.JobKind(stream) // unreachable: Redis answers only for the streams asked
}

// Ack acknowledges the job on its own stream. A group that vanished has no
// pending entries left to acknowledge, so that is not an error.
func (s *JobSource) Ack(ctx context.Context, job ports.Job) error {
	stream, err := s.names.jobStream(job.Kind)
	if err != nil {
		return fmt.Errorf("ack %s: %w", job.ID, err)
	}
	err = s.rdb.XAck(ctx, stream, s.group, job.ID).Err()
	if isNoGroup(err) {
		return nil
	}
	return wrapErr("xack "+stream, err)
}

// Pending sums the entries delivered to any consumer of the group and not yet
// acknowledged, over both streams.
func (s *JobSource) Pending(ctx context.Context) (int64, error) {
	var total int64
	err := s.withGroup(ctx, func() error {
		total = 0
		for _, st := range s.streams {
			p, err := s.rdb.XPending(ctx, st.name, s.group).Result()
			if err != nil {
				return wrapErr("xpending "+st.name, err)
			}
			total += p.Count
		}
		return nil
	})
	return total, err
}

// withGroup runs f and, when Redis says the stream or the group is missing
// (first start, or someone deleted the stream under us), creates the group on
// both streams and runs f once more.
func (s *JobSource) withGroup(ctx context.Context, f func() error) error {
	err := f()
	if !isNoGroup(err) {
		return err
	}
	for _, st := range s.streams {
		// "0", not "$": entries Lobby added before the group existed (or
		// after the stream was recreated) are jobs too and must be served.
		err := s.rdb.XGroupCreateMkStream(ctx, st.name, s.group, "0").Err()
		if err != nil && !goredis.HasErrorPrefix(err, "BUSYGROUP") {
			return wrapErr("xgroup create "+st.name, err)
		}
	}
	return f()
}

// isNoGroup reports a missing stream or group. A client blocked in
// XREADGROUP when the stream is deleted gets UNBLOCKED instead.
func isNoGroup(err error) bool {
	return goredis.HasErrorPrefix(err, "NOGROUP") || goredis.HasErrorPrefix(err, "UNBLOCKED")
}

func toJob(kind ports.JobKind, m goredis.XMessage) ports.Job {
	fields := make(map[string]string, len(m.Values))
	for k, v := range m.Values {
		if s, ok := v.(string); ok {
			fields[k] = s
		} else {
			fields[k] = fmt.Sprint(v)
		}
	}
	return ports.Job{Kind: kind, ID: m.ID, Fields: fields}
}

// compareIDs orders stream entry ids ("<ms>-<seq>") numerically.
func compareIDs(a, b string) int {
	am, as := splitID(a)
	bm, bs := splitID(b)
	if c := cmp.Compare(am, bm); c != 0 {
		return c
	}
	return cmp.Compare(as, bs)
}

func splitID(id string) (ms, seq uint64) {
	m, s, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(s, 10, 64)
	return ms, seq
}
