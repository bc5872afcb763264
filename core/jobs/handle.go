package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

// handle carries one job from decoding to acknowledgement: run it (or refuse
// it and dead-letter the entry), then answer it — publish its result and
// acknowledge its entry in one step — or, for an entry naming no usable game,
// just acknowledge it. Each step that needs Redis or PostgreSQL is retried
// while they are away; when the consumer is cut off first, the entry stays
// pending, unacknowledged, and is answered by whoever reclaims it.
func (c *Consumer) handle(ctx context.Context, j job) {
	var res domain.Result
	answered := j.gameID != ""
	if j.refusal == "" {
		var ok bool
		if res, ok = c.run(ctx, j); !ok {
			return
		}
	} else {
		if answered {
			res = c.d.Runner.Refuse(ctx, opKind(j.raw.Kind), j.gameID, c.meta(j, nil), j.refusal)
		}
		c.log(j).Warn("malformed job entry refused", "reason", j.refusal)
		if !c.retry(ctx, j, "dead-letter the entry", func(ctx context.Context) error {
			return c.d.Dead.DeadLetter(ctx, j.raw, j.refusal)
		}) {
			return
		}
		c.d.Metrics.JobDeadLettered(j.raw.Kind)
	}
	if !c.retry(ctx, j, "answer the job", func(ctx context.Context) error {
		if !answered {
			return c.d.Source.Ack(ctx, j.raw)
		}
		return c.d.Source.Answer(ctx, j.raw, c.answer(j, res))
	}) {
		return
	}
	outcome, code := res.Outcome, res.ErrorCode
	if !answered {
		outcome, code = domain.OutcomeFailure, domain.CodeInvalidRequest
	}
	c.d.Metrics.JobDone(j.raw.Kind, outcome, code, c.age(j))
}

// run hands the job to the lifecycle service. service_unavailable means this
// service's own stores did not answer — no answer Lobby could act on — so
// the job is run again once they are back, for as long as the consumer runs.
// It reports false when the consumer was cut off before the job ran.
func (c *Consumer) run(ctx context.Context, j job) (domain.Result, bool) {
	for attempt := 1; ; attempt++ {
		var res domain.Result
		m := c.meta(j, &j.pos)
		switch j.raw.Kind {
		case ports.JobStart:
			res = c.d.Runner.Start(ctx, lifecycle.StartInput{GameID: j.gameID, ImageRef: j.imageRef, Meta: m})
		default:
			res = c.d.Runner.Stop(ctx, lifecycle.StopInput{GameID: j.gameID, Reason: j.reason, Meta: m})
		}
		if res.ErrorCode != domain.CodeServiceUnavailable {
			return res, true
		}
		c.log(j).Warn("job met an outage; running it again", "attempt", attempt, "err", res.ErrorMessage)
		if !sleep(ctx, backoff(attempt)) {
			return res, false
		}
	}
}

// retry runs step until it succeeds or ctx ends; it reports success.
func (c *Consumer) retry(ctx context.Context, j job, what string, step func(context.Context) error) bool {
	for attempt := 1; ; attempt++ {
		err := step(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		c.log(j).Warn(what+" failed; retrying", "err", err, "attempt", attempt)
		if !sleep(ctx, backoff(attempt)) {
			return false
		}
	}
}

// log is the logger of lines about one job. It is built only when a line is
// written: a job that goes well logs nothing here (its operation logs its own
// line), and the hot path pays nothing for it.
func (c *Consumer) log(j job) *slog.Logger {
	return c.d.Logger.With("job_id", j.raw.ID, "job_kind", j.raw.Kind, "game_id", j.gameID)
}

func (c *Consumer) meta(j job, pos *domain.JobPosition) lifecycle.Meta {
	return lifecycle.Meta{Source: domain.SourceLobbyStream, SourceRef: j.raw.ID, Job: pos}
}

// answer is the results-stream entry of a job (contract §6.3).
func (c *Consumer) answer(j job, res domain.Result) ports.JobResult {
	return ports.JobResult{
		GameID: j.gameID, JobID: j.raw.ID, JobKind: j.raw.Kind, Outcome: res.Outcome,
		ContainerID: res.ContainerID, EngineEndpoint: res.EngineEndpoint,
		ErrorCode: res.ErrorCode, ErrorMessage: res.ErrorMessage, FinishedAt: c.d.Clock.Now(),
	}
}

// age is how long ago the job was appended, by its entry id's clock.
func (c *Consumer) age(j job) time.Duration {
	if j.pos.Ms == 0 {
		return 0
	}
	return max(c.d.Clock.Now().Sub(time.UnixMilli(j.pos.Ms)), 0)
}

func opKind(k ports.JobKind) domain.OpKind {
	if k == ports.JobStop {
		return domain.OpStop
	}
	return domain.OpStart
}
