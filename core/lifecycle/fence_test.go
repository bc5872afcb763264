package lifecycle_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

var (
	jobAt   = domain.JobPosition{Ms: 1000, Rank: domain.JobRankStop, Seq: 0}
	laterAt = domain.JobPosition{Ms: 1001, Rank: domain.JobRankStart, Seq: 0}
)

func jobMeta(pos domain.JobPosition) lifecycle.Meta {
	return lifecycle.Meta{Source: domain.SourceLobbyStream, SourceRef: "1000-0", Job: &pos}
}

func stopJob(f *fixture, c context.Context) domain.Result {
	return f.svc().Stop(c, lifecycle.StopInput{GameID: game, Reason: "finished", Meta: jobMeta(jobAt)})
}

// jobRows checks the rows of a stream job: source lobby_stream and the entry id.
func (f *fixture) jobRows(want ...domain.ErrorCode) []domain.Operation {
	f.t.Helper()
	got := f.snapshotRows()
	if len(got) != len(want) {
		f.t.Fatalf("appended %d rows, want %d:\n%s", len(got), len(want), dumpRows(got))
	}
	for i, code := range want {
		if got[i].ErrorCode != code || got[i].Source != domain.SourceLobbyStream || got[i].SourceRef != "1000-0" {
			f.t.Errorf("row %d = %s source %s/%q, want code %q from lobby_stream/1000-0", i, dumpRows(got[i:i+1]),
				got[i].Source, got[i].SourceRef, code)
		}
	}
	return got
}

func TestStreamJobWaitsForABusyLeaseInsteadOfRefusing(t *testing.T) {
	f := newFixture(t)
	prev := f.rec(domain.StatusStopped, ref100, oldCID)
	busy := fmt.Errorf("held: %w", ports.ErrLeaseBusy)
	gomock.InOrder(
		f.leases.EXPECT().Acquire(gomock.Any(), game).Return(nil, busy).Times(3),
		f.leases.EXPECT().Acquire(gomock.Any(), game).Return(f.lease, nil),
	)
	f.lease.EXPECT().Release()
	f.lease.EXPECT().Lost().Return(nil).AnyTimes()
	f.fences.EXPECT().Advance(gomock.Any(), game, jobAt).Return(jobAt, nil)
	f.expectRecord(&prev)
	// and no LeaseConflict: waiting is not refusing

	wantResult(t, stopJob(f, ctx), domain.CodeReplayNoOp)
	f.jobRows(domain.CodeReplayNoOp)
}

func TestStreamJobStopsWaitingWhenItsCallerGivesUp(t *testing.T) {
	f := newFixture(t)
	f.leases.EXPECT().Acquire(gomock.Any(), game).Return(nil, ports.ErrLeaseBusy).MinTimes(1)
	c, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()

	res := stopJob(f, c)

	wantResult(t, res, domain.CodeServiceUnavailable)
	if !strings.Contains(res.ErrorMessage, "lease") {
		t.Errorf("message %q does not say what it waited for", res.ErrorMessage)
	}
	f.jobRows(domain.CodeServiceUnavailable) // and no fence, record or Docker call
}

func TestRestCallStillRefusesABusyLease(t *testing.T) {
	f := newFixture(t)
	f.leases.EXPECT().Acquire(gomock.Any(), game).Return(nil, ports.ErrLeaseBusy)
	f.metrics.EXPECT().LeaseConflict()

	wantResult(t, stop(f, "finished"), domain.CodeConflict)
}

func TestStreamJobAtTheFenceRunsUnderTheReplayRules(t *testing.T) {
	f := newFixture(t)
	prev := f.rec(domain.StatusRunning, ref100, oldCID)
	f.expectLease()
	gomock.InOrder(
		f.fences.EXPECT().Advance(gomock.Any(), game, jobAt).Return(jobAt, nil),
		f.expectRecord(&prev),
		f.docker.EXPECT().StopContainer(gomock.Any(), oldCID, f.cfg.StopTimeout).Return(nil),
		f.expectCAS(prev, casUpdate(domain.StatusRunning, domain.StatusStopped, oldCID, "", ""), nil),
	)

	wantResult(t, stopJob(f, ctx), domain.CodeNone)
	f.jobRows(domain.CodeNone)
}

func TestOvertakenStreamJob(t *testing.T) {
	stopped := domain.Operation{Kind: domain.OpStop, Outcome: domain.OutcomeSuccess, ContainerID: oldCID, ImageRef: ref100}
	for _, tc := range []struct {
		name     string
		earlier  []domain.Operation
		want     domain.ErrorCode
		readsRec bool
	}{
		{"that never ran does not act", nil, domain.CodeConflict, false},
		{"that ran before repeats its success as a replay", []domain.Operation{stopped}, domain.CodeReplayNoOp, true},
		{"that failed before repeats its failure",
			[]domain.Operation{{Kind: domain.OpStop, Outcome: domain.OutcomeFailure, ErrorCode: domain.CodeInternalError, ErrorMessage: "stop container: boom"}},
			domain.CodeInternalError, false},
		{"skips answers that were only outages",
			[]domain.Operation{{Kind: domain.OpStop, Outcome: domain.OutcomeFailure, ErrorCode: domain.CodeServiceUnavailable, ErrorMessage: "down"}, stopped},
			domain.CodeReplayNoOp, true},
		{"ignores rows of the other stream's job with the same id",
			[]domain.Operation{{Kind: domain.OpStart, Outcome: domain.OutcomeSuccess}}, domain.CodeConflict, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			f.fences.EXPECT().Advance(gomock.Any(), game, jobAt).Return(laterAt, nil)
			f.ops.EXPECT().BySourceRef(gomock.Any(), game, domain.SourceLobbyStream, "1000-0", gomock.Any()).Return(tc.earlier, nil)
			if tc.readsRec {
				rec := f.rec(domain.StatusStopped, ref100, oldCID)
				f.expectRecord(&rec)
			}
			// and no Docker call: an overtaken job never acts

			res := stopJob(f, ctx)

			wantResult(t, res, tc.want)
			if tc.want == domain.CodeConflict && !strings.Contains(res.ErrorMessage, laterAt.String()) {
				t.Errorf("message %q does not name the later job %s", res.ErrorMessage, laterAt)
			}
			f.jobRows(tc.want)
		})
	}
}

func TestOvertakenStartJobPublishesNothingAgain(t *testing.T) {
	f := newFixture(t)
	f.expectLease()
	start := laterAt
	start.Ms--
	f.fences.EXPECT().Advance(gomock.Any(), game, start).Return(laterAt, nil)
	f.ops.EXPECT().BySourceRef(gomock.Any(), game, domain.SourceLobbyStream, "1000-0", gomock.Any()).Return([]domain.Operation{
		{Kind: domain.OpStart, Outcome: domain.OutcomeFailure, ErrorCode: domain.CodeImagePullFailed, ErrorMessage: "pull: denied", ImageRef: ref100},
	}, nil)

	res := f.svc().Start(ctx, lifecycle.StartInput{GameID: game, ImageRef: ref100, Meta: jobMeta(start)})

	wantResult(t, res, domain.CodeImagePullFailed)
	f.jobRows(domain.CodeImagePullFailed)
	f.wantIntents() // the first answer published the intent already
}

func TestStreamJobWhenTheFenceCannotBeRead(t *testing.T) {
	f := newFixture(t)
	f.expectLease()
	f.fences.EXPECT().Advance(gomock.Any(), game, jobAt).Return(domain.JobPosition{}, errStoreDown)

	wantResult(t, stopJob(f, ctx), domain.CodeServiceUnavailable)
	f.jobRows(domain.CodeServiceUnavailable)
}
