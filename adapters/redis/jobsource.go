package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/core/domain"
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
	// MaxLen trims the results stream (MAXLEN ~); zero means DefaultStreamMaxLen.
	MaxLen int64
}

// JobSource implements ports.JobSource on the two Lobby job streams.
type JobSource struct {
	rdb goredis.UniversalClient
	// pipe carries the answers: many jobs end at once.
	pipe      *pipe
	names     StreamNames
	streams   []jobStream
	group     string
	consumer  string
	claimIdle time.Duration
	maxLen    int64
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
	if cfg.MaxLen <= 0 {
		cfg.MaxLen = DefaultStreamMaxLen
	}
	return &JobSource{
		rdb:   rdb,
		pipe:  pipeOf(rdb),
		names: names,
		streams: []jobStream{
			{name: names.StartJobs, kind: ports.JobStart},
			{name: names.StopJobs, kind: ports.JobStop},
		},
		group:     cfg.Group,
		consumer:  cfg.Consumer,
		claimIdle: cfg.ClaimIdle,
		maxLen:    cfg.MaxLen,
	}, nil
}

// Read returns up to count jobs per stream: first the entries it reclaims
// (those another consumer, or this one before a restart, left pending for
// longer than ClaimIdle), then new ones, each stream's in entry id order.
// The order across the two streams is not defined; the core orders jobs
// itself (domain.JobPosition). Read blocks up to block for new entries only
// when nothing was reclaimed; block <= 0 does not block. A blocked read
// ignores ctx cancellation (go-redis only honours deadlines on the socket),
// so callers should keep block short enough for shutdown. When ctx ends the
// error is ctx's, not ports.ErrUnavailable.
func (s *JobSource) Read(ctx context.Context, count int, block time.Duration) (ports.Batch, error) {
	if count <= 0 {
		count = 1
	}
	var b ports.Batch
	err := s.withGroup(ctx, func() error {
		b = ports.Batch{}
		var err error
		if b.Jobs, err = s.reclaim(ctx, b.Jobs, count); err != nil {
			return err
		}
		if len(b.Jobs) >= count {
			return nil
		}
		wait := block
		if len(b.Jobs) > 0 || block <= 0 {
			wait = -1 // go-redis: no BLOCK argument (BLOCK 0 would wait forever)
		}
		// Redis's clock before the read: what was appended before it, the
		// read sees (see ports.Batch.Complete).
		now, err := s.rdb.Time(ctx).Result()
		if err != nil {
			return wrapErr("time", err)
		}
		b.Complete = now.UnixMilli()
		b.Jobs, err = s.readNew(ctx, b.Jobs, count-len(b.Jobs), wait)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return ports.Batch{}, fmt.Errorf("read jobs: %w", ctx.Err())
		}
		return ports.Batch{}, err
	}
	return b, nil
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
			j := toJob(st.kind, m)
			j.Reclaimed = true
			jobs = append(jobs, j)
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

// answerScript appends a job's result and acknowledges its entry, atomically:
// a failed XADD ends the script before the XACK, and nothing runs between
// the two. KEYS: results stream, job stream. ARGV: MAXLEN, group, entry id,
// then the result's field/value pairs. A missing group (the streams were
// deleted under us) acknowledges nothing, which is not an error: nothing is
// pending there.
var answerScript = goredis.NewScript(`
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, 4))
local acked = redis.pcall('XACK', KEYS[2], ARGV[2], ARGV[3])
if type(acked) == 'table' and acked.err then
  if string.find(acked.err, 'NOGROUP', 1, true) then return 0 end
  return acked
end
return acked`)

// Answer appends the job's result to the results stream (contract §6.3) and
// acknowledges its entry in one script. Every field is written, empty when
// not applicable; a failure without a code would break the contract Lobby
// relies on, so it is written as internal_error.
func (s *JobSource) Answer(ctx context.Context, job ports.Job, r ports.JobResult) error {
	stream, err := s.names.jobStream(job.Kind)
	if err != nil {
		return fmt.Errorf("answer %s: %w", job.ID, err)
	}
	code := r.ErrorCode
	if r.Outcome == domain.OutcomeFailure && code == domain.CodeNone {
		code = domain.CodeInternalError
	}
	args := []any{s.maxLen, s.group, job.ID,
		"game_id", r.GameID,
		"job_id", r.JobID,
		"job_kind", string(r.JobKind),
		"outcome", string(r.Outcome),
		"container_id", r.ContainerID,
		"engine_endpoint", r.EngineEndpoint,
		"error_code", string(code),
		"error_message", r.ErrorMessage,
		"finished_at_ms", unixMs(r.FinishedAt),
	}
	_, err = s.pipe.Do(ctx, func(ctx context.Context, p goredis.Pipeliner) goredis.Cmder {
		return answerScript.Eval(ctx, p, []string{s.names.JobResults, stream}, args...)
	})
	return wrapErr("answer "+job.ID+" on "+s.names.JobResults, err)
}

// Ack acknowledges an entry that gets no result, on its own stream. A group
// that vanished has no pending entries left to acknowledge, so that is not
// an error.
func (s *JobSource) Ack(ctx context.Context, job ports.Job) error {
	stream, err := s.names.jobStream(job.Kind)
	if err != nil {
		return fmt.Errorf("ack %s: %w", job.ID, err)
	}
	_, err = s.pipe.Do(ctx, func(ctx context.Context, p goredis.Pipeliner) goredis.Cmder {
		return p.XAck(ctx, stream, s.group, job.ID)
	})
	if isNoGroup(err) {
		return nil
	}
	return wrapErr("xack "+stream, err)
}

// claimOwnScript re-claims, for the consumer that already holds them, the
// given entries of one stream and sets their idle time, in one atomic step:
// an entry is XCLAIMed only after XPENDING names this consumer as its owner,
// so an entry another consumer reclaimed meanwhile is never taken back.
// XCLAIM with JUSTID leaves the delivery count alone, and skips (and drops
// from the pending list) an entry trimmed from the stream. The reply is the
// ids still this consumer's. A missing stream or group has nothing pending:
// the reply is then empty.
//
// KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3] idle time to set
// in milliseconds (0: the heartbeat; the claim idle: the hand-back), ARGV[4..]
// entry ids.
var claimOwnScript = goredis.NewScript(`
local kept = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local p = redis.pcall('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if type(p) == 'table' and p.err then
    if string.sub(p.err, 1, 7) == 'NOGROUP' then return {} end
    return redis.error_reply(p.err)
  end
  if p[1] and p[1][2] == ARGV[2] then
    local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'IDLE', ARGV[3], 'JUSTID')
    if c[1] then kept[#kept + 1] = id end
  end
end
return kept`)

// Touch is the heartbeat: it resets to zero the idle time of every job still
// pending with this consumer, so no other consumer's XAUTOCLAIM takes it
// while it runs. A job that is no longer this consumer's — reclaimed by
// another consumer, acknowledged, or trimmed from its stream — is left
// alone and returned in lost. Each stream is one atomic script call; on an
// error lost is nil and the jobs of a stream already touched stay touched.
// Empty jobs make no Redis call.
func (s *JobSource) Touch(ctx context.Context, jobs []ports.Job) ([]ports.Job, error) {
	kept, err := s.claimOwn(ctx, "touch", jobs, 0)
	if err != nil {
		return nil, err
	}
	var lost []ports.Job
	for _, j := range jobs {
		if !kept[j.Key()] {
			lost = append(lost, j)
		}
	}
	return lost, nil
}

// HandBack marks the jobs still pending with this consumer as idle for
// ClaimIdle, so the next XAUTOCLAIM of any consumer (MinIdle ClaimIdle)
// takes them at once instead of a whole ClaimIdle later. Jobs that are no
// longer this consumer's are left alone. It stops at the first stream whose
// call fails. Empty jobs make no Redis call.
func (s *JobSource) HandBack(ctx context.Context, jobs []ports.Job) error {
	_, err := s.claimOwn(ctx, "hand back", jobs, s.claimIdle)
	return err
}

// claimOwn runs claimOwnScript once per stream over the jobs of that stream,
// setting their idle time to idle, and returns the jobs still this consumer's.
// A job of an unknown kind is a caller's bug: nothing is sent then.
func (s *JobSource) claimOwn(ctx context.Context, op string, jobs []ports.Job, idle time.Duration) (map[ports.JobKey]bool, error) {
	ids := make(map[ports.JobKind][]string, len(s.streams))
	for _, j := range jobs {
		if _, err := s.names.jobStream(j.Kind); err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, j.ID, err)
		}
		ids[j.Kind] = append(ids[j.Kind], j.ID)
	}
	kept := make(map[ports.JobKey]bool, len(jobs))
	for _, st := range s.streams {
		if len(ids[st.kind]) == 0 {
			continue
		}
		args := make([]any, 0, 3+len(ids[st.kind]))
		args = append(args, s.group, s.consumer, idle.Milliseconds())
		for _, id := range ids[st.kind] {
			args = append(args, id)
		}
		res, err := claimOwnScript.Run(ctx, s.rdb, []string{st.name}, args...).StringSlice()
		if err != nil {
			return nil, wrapErr(op+" "+st.name, err)
		}
		for _, id := range res {
			kept[ports.JobKey{Kind: st.kind, ID: id}] = true
		}
	}
	return kept, nil
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
