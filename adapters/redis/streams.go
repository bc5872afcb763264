package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
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
	// DeadLetters keeps malformed job entries (RTMANAGER_STREAM_DEAD_LETTERS,
	// contract §12.3); it is not one of §6's streams.
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
	// pipe carries the XADDs: many jobs publish their results at once.
	pipe   *pipe
	names  StreamNames
	maxLen int64
}

var (
	_ ports.HealthPublisher       = (*Publisher)(nil)
	_ ports.NotificationPublisher = (*Publisher)(nil)
	_ ports.DeadLetters           = (*Publisher)(nil)
)

// NewPublisher returns the publisher of every outgoing stream. Each XADD
// trims its stream with MAXLEN ~ maxLen; maxLen <= 0 means DefaultStreamMaxLen,
// because an untrimmed stream grows without bound.
func NewPublisher(rdb goredis.UniversalClient, names StreamNames, maxLen int64) *Publisher {
	if maxLen <= 0 {
		maxLen = DefaultStreamMaxLen
	}
	return &Publisher{pipe: pipeOf(rdb), names: names.withDefaults(), maxLen: maxLen}
}

// xadd appends one entry of field/value pairs, kept in the given order so the
// entries read naturally in redis-cli.
func (p *Publisher) xadd(ctx context.Context, stream string, pairs []string) error {
	_, err := p.pipe.Do(ctx, func(ctx context.Context, pl goredis.Pipeliner) goredis.Cmder {
		return pl.XAdd(ctx, &goredis.XAddArgs{
			Stream: stream,
			MaxLen: p.maxLen,
			Approx: true,
			Values: pairs,
		})
	})
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

// Dead-letter metadata fields (contract §12.3). An original field named like
// one of them (a stop job's own `reason`) is kept as original_<name>.
const (
	deadLetterSource = "source_stream"
	deadLetterID     = "entry_id"
	deadLetterReason = "reason"
	deadLetterCut    = "cut"
)

// Bounds of a dead letter. A malformed entry may be hostile and as large as
// Redis takes; its copy must not be. Each bound that bites is said in the
// letter's `cut` field.
const (
	// deadLetterMaxFields is how many of the entry's own fields are kept:
	// the first by name, in byte order.
	deadLetterMaxFields = 64
	// deadLetterMaxBytes bounds each kept field's name and value, and the
	// reason; longer ones keep their first deadLetterMaxBytes bytes.
	deadLetterMaxBytes = 1024
	// cutNoteMaxNames and cutNoteNameBytes bound the names the `cut` field
	// lists: at most that many per list, each shortened to that many bytes.
	cutNoteMaxNames  = 8
	cutNoteNameBytes = 32
)

// renamePrefix is prepended to an original field's name while it is a
// metadata field's or another kept field's.
const renamePrefix = "original_"

// DeadLetter copies a malformed job entry, with where it came from and why,
// to the dead letters stream, bounded: at most deadLetterMaxFields fields,
// each name, value and the reason cut to deadLetterMaxBytes bytes (on a byte
// boundary: the stream is binary-safe), and a `cut` field saying what was cut
// or dropped when anything was.
func (p *Publisher) DeadLetter(ctx context.Context, job ports.Job, reason string) error {
	source, err := p.names.jobStream(job.Kind)
	if err != nil {
		// Still keep the entry: losing it is worse than an odd source name.
		source = string(job.Kind)
	}
	var note cutNote
	reason, note.reason = cutBytes(reason, deadLetterMaxBytes)

	keys := make([]string, 0, len(job.Fields))
	for k := range job.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > deadLetterMaxFields {
		note.dropped = len(keys) - deadLetterMaxFields
		keys = keys[:deadLetterMaxFields]
	}

	type field struct {
		name, value       string
		nameCut, valueCut bool
	}
	reserved := func(name string) bool {
		return name == deadLetterSource || name == deadLetterID || name == deadLetterReason || name == deadLetterCut
	}
	fields := make([]field, len(keys))
	taken := make(map[string]bool, len(keys))
	var rename []int
	for i, k := range keys {
		f := &fields[i]
		f.name, f.nameCut = cutBytes(k, deadLetterMaxBytes)
		f.value, f.valueCut = cutBytes(job.Fields[k], deadLetterMaxBytes)
		// A field keeps its (cut) name unless it is reserved or an earlier
		// field's; those are renamed below, so no name is written twice.
		if reserved(f.name) || taken[f.name] {
			rename = append(rename, i)
			continue
		}
		taken[f.name] = true
	}
	for _, i := range rename {
		name := fields[i].name
		for reserved(name) || taken[name] {
			name = renamePrefix + name
		}
		fields[i].name = name
		taken[name] = true
	}

	pairs := []string{deadLetterSource, source, deadLetterID, job.ID, deadLetterReason, reason}
	for _, f := range fields {
		if f.nameCut {
			note.names = append(note.names, f.name)
		}
		if f.valueCut {
			note.values = append(note.values, f.name)
		}
	}
	if s := note.String(); s != "" {
		pairs = append(pairs, deadLetterCut, s)
	}
	for _, f := range fields {
		pairs = append(pairs, f.name, f.value)
	}
	return p.xadd(ctx, p.names.DeadLetters, pairs)
}

// cutBytes returns s's first n bytes, and whether that is less than s.
func cutBytes(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	return s[:n], true
}

// cutNote is what a dead letter lost to its bounds.
type cutNote struct {
	reason  bool     // the reason was cut
	names   []string // fields whose name was cut (as stored)
	values  []string // fields whose value was cut (as stored)
	dropped int      // fields dropped beyond deadLetterMaxFields
}

// String is the `cut` field's value, "" when nothing was lost, e.g.
// "values of image_ref, x cut to 1024 bytes; 3 fields dropped". It stays
// well under deadLetterMaxBytes: lists and the names in them are bounded.
func (n cutNote) String() string {
	var parts []string
	if n.reason {
		parts = append(parts, fmt.Sprintf("reason cut to %d bytes", deadLetterMaxBytes))
	}
	if len(n.names) > 0 {
		parts = append(parts, fmt.Sprintf("names of %s cut to %d bytes", noteList(n.names), deadLetterMaxBytes))
	}
	if len(n.values) > 0 {
		parts = append(parts, fmt.Sprintf("values of %s cut to %d bytes", noteList(n.values), deadLetterMaxBytes))
	}
	switch {
	case n.dropped == 1:
		parts = append(parts, "1 field dropped")
	case n.dropped > 1:
		parts = append(parts, fmt.Sprintf("%d fields dropped", n.dropped))
	}
	return strings.Join(parts, "; ")
}

// noteList joins up to cutNoteMaxNames names, each shortened to
// cutNoteNameBytes bytes (marked with "…"), and counts the rest.
func noteList(names []string) string {
	shown := names[:min(len(names), cutNoteMaxNames)]
	out := make([]string, 0, len(shown)+1)
	for _, name := range shown {
		if short, cut := cutBytes(name, cutNoteNameBytes); cut {
			name = short + "…"
		}
		out = append(out, name)
	}
	if rest := len(names) - len(shown); rest > 0 {
		out = append(out, fmt.Sprintf("and %d more", rest))
	}
	return strings.Join(out, ", ")
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
