package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// DefaultStreamMaxLen is RTMANAGER_STREAM_MAX_LEN's default.
const DefaultStreamMaxLen int64 = 100000

// StreamNames are the stream keys RTM reads and writes (RTMANAGER_STREAM_*).
// An empty name takes its §6 default.
type StreamNames struct {
	StartJobs           string
	StopJobs            string
	JobResults          string
	HealthEvents        string
	NotificationIntents string
	// DeadLetters has no variable of its own in the spec; it is here so tests
	// and staging can isolate it like the others.
	DeadLetters string
}

// DefaultStreamNames returns the stream keys of the spec.
func DefaultStreamNames() StreamNames {
	return StreamNames{
		StartJobs:           "runtime:start_jobs",
		StopJobs:            "runtime:stop_jobs",
		JobResults:          "runtime:job_results",
		HealthEvents:        "runtime:health_events",
		NotificationIntents: "notification:intents",
		DeadLetters:         "rtmanager:dead_letters",
	}
}

func (n StreamNames) withDefaults() StreamNames {
	d := DefaultStreamNames()
	orDefault := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	orDefault(&n.StartJobs, d.StartJobs)
	orDefault(&n.StopJobs, d.StopJobs)
	orDefault(&n.JobResults, d.JobResults)
	orDefault(&n.HealthEvents, d.HealthEvents)
	orDefault(&n.NotificationIntents, d.NotificationIntents)
	orDefault(&n.DeadLetters, d.DeadLetters)
	return n
}

// jobStream is the stream a job of this kind is read from.
func (n StreamNames) jobStream(kind ports.JobKind) (string, error) {
	switch kind {
	case ports.JobStart:
		return n.StartJobs, nil
	case ports.JobStop:
		return n.StopJobs, nil
	}
	return "", fmt.Errorf("unknown job kind %q", kind)
}

// Publisher writes every stream RTM produces. One value implements
// ports.HealthPublisher, ports.NotificationPublisher, ports.JobResultPublisher
// and ports.DeadLetters.
type Publisher struct {
	rdb    goredis.UniversalClient
	names  StreamNames
	maxLen int64
}

var (
	_ ports.HealthPublisher       = (*Publisher)(nil)
	_ ports.NotificationPublisher = (*Publisher)(nil)
	_ ports.JobResultPublisher    = (*Publisher)(nil)
	_ ports.DeadLetters           = (*Publisher)(nil)
)

// NewPublisher returns the publisher of every outgoing stream. Each XADD
// trims its stream with MAXLEN ~ maxLen; maxLen <= 0 means DefaultStreamMaxLen,
// because an untrimmed stream grows without bound.
func NewPublisher(rdb goredis.UniversalClient, names StreamNames, maxLen int64) *Publisher {
	if maxLen <= 0 {
		maxLen = DefaultStreamMaxLen
	}
	return &Publisher{rdb: rdb, names: names.withDefaults(), maxLen: maxLen}
}

// xadd appends one entry of field/value pairs, kept in the given order so the
// entries read naturally in redis-cli.
func (p *Publisher) xadd(ctx context.Context, stream string, pairs []string) error {
	err := p.rdb.XAdd(ctx, &goredis.XAddArgs{
		Stream: stream,
		MaxLen: p.maxLen,
		Approx: true,
		Values: pairs,
	}).Err()
	return wrapErr("xadd "+stream, err)
}

// PublishHealth appends ev to the health events stream (§6.5).
func (p *Publisher) PublishHealth(ctx context.Context, ev domain.HealthEvent) error {
	details := "{}"
	if len(ev.Details) > 0 {
		b, err := json.Marshal(ev.Details)
		if err != nil {
			return fmt.Errorf("health event details: %w", err)
		}
		details = string(b)
	}
	return p.xadd(ctx, p.names.HealthEvents, []string{
		"game_id", ev.GameID,
		"container_id", ev.ContainerID,
		"event_type", string(ev.Type),
		"occurred_at_ms", unixMs(ev.OccurredAt),
		"details", details,
	})
}

// intentPayload is payload_json of §6.4. attempted_at_ms is a JSON number:
// inside JSON a number is the natural type, and milliseconds fit a float64
// exactly.
type intentPayload struct {
	GameID        string `json:"game_id"`
	ImageRef      string `json:"image_ref"`
	ErrorCode     string `json:"error_code"`
	ErrorMessage  string `json:"error_message"`
	AttemptedAtMs int64  `json:"attempted_at_ms"`
}

// NotificationProducer and NotificationAudience are the fixed §6.4 values.
const (
	NotificationProducer = "runtime_manager"
	NotificationAudience = "admin_email"
)

// PublishIntent appends n to the notification intents stream (§6.4).
func (p *Publisher) PublishIntent(ctx context.Context, n domain.NotificationIntent) error {
	payload, err := json.Marshal(intentPayload{
		GameID:        n.GameID,
		ImageRef:      n.ImageRef,
		ErrorCode:     string(n.ErrorCode),
		ErrorMessage:  n.ErrorMessage,
		AttemptedAtMs: msOrNow(n.AttemptedAt),
	})
	if err != nil {
		return fmt.Errorf("notification payload: %w", err)
	}
	return p.xadd(ctx, p.names.NotificationIntents, []string{
		"notification_type", string(n.Type),
		"producer", NotificationProducer,
		"audience_kind", NotificationAudience,
		"idempotency_key", n.IdempotencyKey(),
		"occurred_at_ms", unixMs(n.OccurredAt),
		"payload_json", string(payload),
	})
}

// PublishResult appends r to the job results stream (§6.3). Every field is
// written, empty when not applicable. A failure without a code would break
// the contract Lobby relies on, so it is published as internal_error.
func (p *Publisher) PublishResult(ctx context.Context, r ports.JobResult) error {
	code := r.ErrorCode
	if r.Outcome == domain.OutcomeFailure && code == domain.CodeNone {
		code = domain.CodeInternalError
	}
	return p.xadd(ctx, p.names.JobResults, []string{
		"game_id", r.GameID,
		"job_id", r.JobID,
		"job_kind", string(r.JobKind),
		"outcome", string(r.Outcome),
		"container_id", r.ContainerID,
		"engine_endpoint", r.EngineEndpoint,
		"error_code", string(code),
		"error_message", r.ErrorMessage,
		"finished_at_ms", unixMs(r.FinishedAt),
	})
}

// Dead-letter metadata fields. An original field of the same name (a stop
// job's own `reason`) is kept as original_<name>.
const (
	deadLetterSource = "source_stream"
	deadLetterID     = "entry_id"
	deadLetterReason = "reason"
)

// DeadLetter copies a malformed job entry, with where it came from and why,
// to the dead letters stream.
func (p *Publisher) DeadLetter(ctx context.Context, job ports.Job, reason string) error {
	source, err := p.names.jobStream(job.Kind)
	if err != nil {
		// Still keep the entry: losing it is worse than an odd source name.
		source = string(job.Kind)
	}
	pairs := []string{deadLetterSource, source, deadLetterID, job.ID, deadLetterReason, reason}
	keys := make([]string, 0, len(job.Fields))
	for k := range job.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := k
		if k == deadLetterSource || k == deadLetterID || k == deadLetterReason {
			name = "original_" + k
		}
		pairs = append(pairs, name, job.Fields[k])
	}
	return p.xadd(ctx, p.names.DeadLetters, pairs)
}

// msOrNow is t in Unix milliseconds; an unset time means "now", because a
// zero time on the wire would read as year 1 to every consumer.
func msOrNow(t time.Time) int64 {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UnixMilli()
}

func unixMs(t time.Time) string { return strconv.FormatInt(msOrNow(t), 10) }
