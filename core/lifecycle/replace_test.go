package lifecycle_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

const rbCID = "c-rollback"

func restart(f *fixture) domain.Result {
	return f.svc().Restart(ctx, lifecycle.RestartInput{GameID: game, Meta: meta})
}

func patch(f *fixture, ref string) domain.Result {
	return f.svc().Patch(ctx, lifecycle.PatchInput{GameID: game, ImageRef: ref, Meta: meta})
}

// stopped is prev as the inner stop leaves it.
func stopped(prev domain.Record) domain.Record {
	prev.Status, prev.LastOpAt, prev.StoppedAt = domain.StatusStopped, t0, &t0
	return prev
}

// expectInnerStop scripts the inner stop and the removal of the old
// container that every replace does, after the pre-flight of ref; it returns
// the last call.
func (f *fixture) expectInnerStop(prev domain.Record, ref string) *gomock.Call {
	calls := []any{f.expectNetwork(), f.expectImage(ref, nil)} // pre-flight before touching the old engine
	if prev.Status == domain.StatusRunning {
		calls = append(calls,
			f.docker.EXPECT().StopContainer(gomock.Any(), prev.CurrentContainerID, f.cfg.StopTimeout).Return(nil),
			f.expectCAS(prev, casUpdate(domain.StatusRunning, domain.StatusStopped, prev.CurrentContainerID, "", ""), nil))
	}
	rm := f.docker.EXPECT().RemoveContainer(gomock.Any(), prev.CurrentContainerID).Return(nil)
	gomock.InOrder(append(calls, rm)...)
	return rm
}

// expectInnerStart scripts a successful inner launch of ref as id after the
// old container was removed, installed by CAS over the stopped record.
func (f *fixture) expectInnerStart(after *gomock.Call, prev domain.Record, ref, id string) {
	gomock.InOrder(after, f.expectCreate(id, nil, nil), f.expectStartContainer(id, nil),
		f.expectReady(endpoint),
		f.expectCAS(stopped(prev), casUpdate(domain.StatusStopped, domain.StatusRunning, prev.CurrentContainerID, id, ref), nil))
	f.expectStarted(id, ref)
}

func TestRestartReplacesTheContainerUnderOneCorrelationID(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   domain.Status
		stopCode domain.ErrorCode
	}{
		{"running game: inner stop, removal, inner start", domain.StatusRunning, domain.CodeNone},
		{"stopped game: the inner stop is a replay", domain.StatusStopped, domain.CodeReplayNoOp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			prev := f.rec(tc.status, ref100, oldCID)
			f.expectLease()
			f.expectRecord(&prev)
			f.expectInnerStart(f.expectInnerStop(prev, ref100), prev, ref100, newCID)

			res := restart(f)

			wantResult(t, res, domain.CodeNone)
			wantRecord(t, "result record", res.Record, domain.StatusRunning, ref100, newCID)
			f.wantRows(game,
				row{kind: domain.OpStop, code: tc.stopCode, image: ref100, container: oldCID},
				row{kind: domain.OpStart, image: ref100, container: newCID},
				row{kind: domain.OpRestart, image: ref100, container: newCID},
			)
			f.wantIntents()
		})
	}
}

func TestRestartKeepsTheCallersCorrelationID(t *testing.T) {
	f := newFixture(t)
	prev := f.rec(domain.StatusRunning, ref100, oldCID)
	f.expectLease()
	f.expectRecord(&prev)
	f.expectInnerStart(f.expectInnerStop(prev, ref100), prev, ref100, newCID)
	m := meta
	m.CorrelationID = "corr-42"

	wantResult(t, f.svc().Restart(ctx, lifecycle.RestartInput{GameID: game, Meta: m}), domain.CodeNone)

	for _, r := range f.wantRows(game,
		row{kind: domain.OpStop, image: ref100, container: oldCID},
		row{kind: domain.OpStart, image: ref100, container: newCID},
		row{kind: domain.OpRestart, image: ref100, container: newCID}) {
		if r.CorrelationID != "corr-42" {
			t.Errorf("%s row correlation id %q, want the caller's", r.Kind, r.CorrelationID)
		}
	}
}

func TestRestartRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		prev func(f *fixture) *domain.Record
		code domain.ErrorCode
	}{
		{"no record is not found", func(*fixture) *domain.Record { return nil }, domain.CodeNotFound},
		{"removed runtime is a conflict", func(f *fixture) *domain.Record {
			return ptr(f.rec(domain.StatusRemoved, ref100, oldCID))
		}, domain.CodeConflict},
		{"record without an image is a conflict", func(f *fixture) *domain.Record {
			return ptr(f.rec(domain.StatusStopped, "", ""))
		}, domain.CodeConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			f.expectRecord(tc.prev(f)) // and no Docker call

			wantResult(t, restart(f), tc.code)
			f.wantRows(game, row{kind: domain.OpRestart, code: tc.code})
		})
	}
}

func TestRestartRefusesABadGameIDBeforeTakingTheLease(t *testing.T) {
	f := newFixture(t)

	wantResult(t, f.svc().Restart(ctx, lifecycle.RestartInput{GameID: "a/b", Meta: meta}), domain.CodeInvalidRequest)
	f.wantRows("a/b", row{kind: domain.OpRestart, code: domain.CodeInvalidRequest})
}

func TestRestartPreflightFailureLeavesTheRunningEngineAlone(t *testing.T) {
	f := newFixture(t)
	prev := f.rec(domain.StatusRunning, ref100, oldCID)
	f.expectLease()
	f.expectRecord(&prev)
	f.docker.EXPECT().NetworkExists(gomock.Any(), network).Return(false, nil) // and no StopContainer

	wantResult(t, restart(f), domain.CodeStartConfigInvalid)
	f.wantRows(game, row{kind: domain.OpRestart, code: domain.CodeStartConfigInvalid, image: ref100, container: oldCID})
	f.wantIntents()
}

func TestRestartInnerStopFailureRemovesNothing(t *testing.T) {
	f := newFixture(t)
	prev := f.rec(domain.StatusRunning, ref100, oldCID)
	f.expectLease()
	f.expectRecord(&prev)
	f.expectPreflight(ref100)
	f.docker.EXPECT().StopContainer(gomock.Any(), oldCID, f.cfg.StopTimeout).Return(errBoom)

	wantResult(t, restart(f), domain.CodeInternalError)
	f.wantRows(game,
		row{kind: domain.OpStop, code: domain.CodeInternalError, image: ref100, container: oldCID},
		row{kind: domain.OpRestart, code: domain.CodeInternalError, image: ref100, container: oldCID})
}

func TestRestartRemovalFailureAfterTheStopLeavesTheGameStopped(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rmErr error
		code  domain.ErrorCode
	}{
		{"removal error", errBoom, domain.CodeContainerStartFailed},
		{"daemon down during removal", errDockerDown, domain.CodeDockerUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			prev := f.rec(domain.StatusRunning, ref100, oldCID)
			f.expectLease()
			f.expectRecord(&prev)
			gomock.InOrder(
				f.expectNetwork(), f.expectImage(ref100, nil),
				f.docker.EXPECT().StopContainer(gomock.Any(), oldCID, f.cfg.StopTimeout).Return(nil),
				f.expectCAS(prev, casUpdate(domain.StatusRunning, domain.StatusStopped, oldCID, "", ""), nil),
				f.docker.EXPECT().RemoveContainer(gomock.Any(), oldCID).Return(tc.rmErr),
			) // and no further record write nor container creation: the record stays stopped

			res := restart(f)

			wantResult(t, res, tc.code)
			f.wantRows(game,
				row{kind: domain.OpStop, image: ref100, container: oldCID},
				row{kind: domain.OpRestart, code: tc.code, image: ref100, container: oldCID})
			f.wantIntents()
		})
	}
}

func TestRestartInnerStartNotReadyParksTheGameStopped(t *testing.T) {
	f := newFixture(t)
	prev := f.rec(domain.StatusRunning, ref100, oldCID)
	f.expectLease()
	f.expectRecord(&prev)
	gomock.InOrder(f.expectInnerStop(prev, ref100), f.expectCreate(newCID, nil, nil),
		f.expectStartContainer(newCID, nil))
	_, _, parked := f.expectNeverReady(newCID)

	res := restart(f)

	wantResult(t, res, domain.CodeContainerStartFailed)
	wantRecord(t, "parked record", parked, domain.StatusStopped, ref100, newCID)
	f.wantRows(game,
		row{kind: domain.OpStop, image: ref100, container: oldCID},
		row{kind: domain.OpStart, code: domain.CodeContainerStartFailed, image: ref100, container: newCID},
		row{kind: domain.OpRestart, code: domain.CodeContainerStartFailed, image: ref100, container: newCID})
	// The failed inner start notifies like any failed start.
	f.wantIntents(intentAt{1, domain.NotifyContainerStartFailed})
}

func TestPatchRefusesBadInputBeforeTakingTheLease(t *testing.T) {
	for _, tc := range []struct {
		name, id, ref string
		code          domain.ErrorCode
	}{
		{"bad game id", "", ref101, domain.CodeInvalidRequest},
		{"empty image ref", game, "", domain.CodeInvalidRequest},
		{"malformed image ref", game, "Galaxy/Game:1.0.1", domain.CodeStartConfigInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)

			res := f.svc().Patch(ctx, lifecycle.PatchInput{GameID: tc.id, ImageRef: tc.ref, Meta: meta})

			wantResult(t, res, tc.code)
			f.wantRows(tc.id, row{kind: domain.OpPatch, code: tc.code, image: tc.ref})
			f.wantIntents()
		})
	}
}

func TestPatchRefusalsBeforeAnyDockerWork(t *testing.T) {
	const digestRef = "galaxy/game@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name      string
		status    domain.Status // "" for no record
		current   string
		next      string
		code      domain.ErrorCode
		container string
	}{
		{"no record is not found", "", "", ref101, domain.CodeNotFound, ""},
		{"removed runtime is a conflict", domain.StatusRemoved, ref100, ref101, domain.CodeConflict, ""},
		{"current tag not semver", domain.StatusRunning, "galaxy/game:latest", ref101, domain.CodeImageRefNotSemver, oldCID},
		{"new tag not semver", domain.StatusRunning, ref100, "galaxy/game:latest", domain.CodeImageRefNotSemver, oldCID},
		{"new reference by digest only", domain.StatusRunning, ref100, digestRef, domain.CodeImageRefNotSemver, oldCID},
		{"minor change", domain.StatusRunning, ref100, ref110, domain.CodeSemverPatchOnly, oldCID},
		{"major change", domain.StatusRunning, ref100, ref200, domain.CodeSemverPatchOnly, oldCID},
		{"another repository", domain.StatusRunning, ref100, "other/game:1.0.1", domain.CodeSemverPatchOnly, oldCID},
		{"minor change of a stopped game", domain.StatusStopped, ref100, ref110, domain.CodeSemverPatchOnly, oldCID},
		{"same image is a replay", domain.StatusRunning, ref100, ref100, domain.CodeReplayNoOp, oldCID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			var prev *domain.Record
			if tc.status != "" {
				prev = ptr(f.rec(tc.status, tc.current, oldCID))
			}
			f.expectRecord(prev) // and no Docker call

			res := patch(f, tc.next)

			wantResult(t, res, tc.code)
			if tc.code == domain.CodeReplayNoOp {
				wantRecord(t, "replay record", res.Record, domain.StatusRunning, ref100, oldCID)
			}
			f.wantRows(game, row{kind: domain.OpPatch, code: tc.code, image: tc.next, container: tc.container})
		})
	}
}

func TestPatchUpgradesThePatchLevel(t *testing.T) {
	f := newFixture(t)
	prev := f.rec(domain.StatusRunning, ref100, oldCID)
	f.expectLease()
	f.expectRecord(&prev)
	f.expectInnerStart(f.expectInnerStop(prev, ref101), prev, ref101, newCID)

	res := patch(f, ref101)

	wantResult(t, res, domain.CodeNone)
	wantRecord(t, "result record", res.Record, domain.StatusRunning, ref101, newCID)
	f.wantRows(game,
		row{kind: domain.OpStop, image: ref100, container: oldCID},
		row{kind: domain.OpStart, image: ref101, container: newCID},
		row{kind: domain.OpPatch, image: ref101, container: newCID,
			details: details("from_image_ref", ref100, "to_image_ref", ref101, "rolled_back", false)})
	f.wantIntents()
}

func TestPatchWithAnAbsentNewImageFailsBeforeStoppingTheOldEngine(t *testing.T) {
	f := newFixture(t)
	f.cfg.PullPolicy = domain.PullNever
	prev := f.rec(domain.StatusRunning, ref100, oldCID)
	f.expectLease()
	f.expectRecord(&prev)
	gomock.InOrder(f.expectNetwork(),
		f.docker.EXPECT().ImageInspect(gomock.Any(), ref101).Return(ports.ImageInfo{}, errNoContainer),
	) // and no StopContainer

	wantResult(t, patch(f, ref101), domain.CodeImagePullFailed)
	f.wantRows(game, row{kind: domain.OpPatch, code: domain.CodeImagePullFailed, image: ref101, container: oldCID,
		details: details("from_image_ref", ref100, "to_image_ref", ref101, "rolled_back", false)})
	f.wantIntents()
}

// expectFailedPatchLaunch scripts a patch of a running ref100 game to ref101
// whose new engine is parked after the readiness gate (the caller scripts the
// probe); it returns the upsert of the parked record (the last call) and that
// record.
func (f *fixture) expectFailedPatchLaunch() (*gomock.Call, domain.Record) {
	prev := f.rec(domain.StatusRunning, ref100, oldCID)
	f.expectLease()
	f.expectRecord(&prev)
	gomock.InOrder(f.expectInnerStop(prev, ref101), f.expectCreate(newCID, nil, nil),
		f.expectStartContainer(newCID, nil))
	stop, upsert, _ := f.expectParked(newCID)
	upsert.After(stop)
	return upsert, f.rec(domain.StatusStopped, ref101, newCID)
}

func TestPatchRollsBackToThePreviousImageWhenTheNewEngineIsNotReady(t *testing.T) {
	f := newFixture(t)
	var rollbackUp atomic.Bool
	f.prober.EXPECT().Healthz(gomock.Any(), endpoint).DoAndReturn(func(context.Context, string) error {
		if rollbackUp.Load() {
			return nil
		}
		return errNotReady
	}).MinTimes(1)
	parkedCall, parked := f.expectFailedPatchLaunch()
	gomock.InOrder(parkedCall,
		f.records.EXPECT().Get(gomock.Any(), game).Return(parked, nil),
		f.expectNetwork(), f.expectImage(ref100, nil),
		f.expectNameTaken(),
		f.expectLeftoverRemoved(newCID), // the failed new container goes; its state stays
		f.expectCreate(rbCID, nil, nil),
		f.docker.EXPECT().StartContainer(gomock.Any(), rbCID).DoAndReturn(func(context.Context, string) error {
			rollbackUp.Store(true)
			return nil
		}),
		f.expectCAS(parked, casUpdate(domain.StatusStopped, domain.StatusRunning, newCID, rbCID, ref100), nil),
	)
	f.expectStarted(rbCID, ref100)

	res := patch(f, ref101)

	wantResult(t, res, domain.CodeContainerStartFailed)
	if !strings.Contains(res.ErrorMessage, "rolled back to "+ref100) {
		t.Errorf("message %q does not say it rolled back", res.ErrorMessage)
	}
	wantRecord(t, "result record", res.Record, domain.StatusRunning, ref100, rbCID)
	if res.ContainerID != rbCID {
		t.Errorf("result container = %q, want the rolled-back one", res.ContainerID)
	}
	f.wantRows(game,
		row{kind: domain.OpStop, image: ref100, container: oldCID},
		row{kind: domain.OpStart, code: domain.CodeContainerStartFailed, image: ref101, container: newCID},
		row{kind: domain.OpStart, image: ref100, container: rbCID},
		row{kind: domain.OpPatch, code: domain.CodeContainerStartFailed, image: ref101, container: rbCID,
			details: details("from_image_ref", ref100, "to_image_ref", ref101, "rolled_back", true)})
	f.wantIntents(intentAt{1, domain.NotifyContainerStartFailed})
}

func TestPatchRollbackThatAlsoFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		// rollback scripts what follows the parked upsert; it returns whether
		// the rollback got as far as its own start row.
		rollback func(f *fixture, after *gomock.Call, parked domain.Record) bool
		errLike  string
	}{
		{"previous engine cannot be created", func(f *fixture, after *gomock.Call, parked domain.Record) bool {
			gomock.InOrder(after,
				f.records.EXPECT().Get(gomock.Any(), game).Return(parked, nil),
				f.expectNetwork(), f.expectImage(ref100, nil),
				f.expectNameTaken(),
				f.expectLeftoverRemoved(newCID),
				f.expectCreate("", errBoom, nil),
				f.records.EXPECT().Get(gomock.Any(), game).Return(parked, nil),
				f.expectPreviousRefKept(parked))
			return true
		}, "create container"},
		{"previous image no longer present", func(f *fixture, after *gomock.Call, parked domain.Record) bool {
			f.cfg.PullPolicy = domain.PullNever
			gomock.InOrder(after,
				f.records.EXPECT().Get(gomock.Any(), game).Return(parked, nil),
				f.expectNetwork(),
				f.docker.EXPECT().ImageInspect(gomock.Any(), ref100).Return(ports.ImageInfo{}, errNoContainer),
				f.records.EXPECT().Get(gomock.Any(), game).Return(parked, nil),
				f.expectPreviousRefKept(parked))
			return false
		}, "not present"},
		{"record unreadable", func(f *fixture, after *gomock.Call, _ domain.Record) bool {
			f.records.EXPECT().Get(gomock.Any(), game).Return(domain.Record{}, errStoreDown).After(after)
			return false
		}, "record unreadable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.prober.EXPECT().Healthz(gomock.Any(), endpoint).Return(errNotReady).MinTimes(1)
			parkedCall, parked := f.expectFailedPatchLaunch()
			startRow := tc.rollback(f, parkedCall, parked)

			res := patch(f, ref101)

			wantResult(t, res, domain.CodeContainerStartFailed)
			if res.Record != nil || res.ContainerID != newCID {
				t.Errorf("result record/container = %v/%q, want none and the failed new container", res.Record, res.ContainerID)
			}
			rows := f.snapshotRows()
			last := rows[len(rows)-1]
			msg, _ := last.Details["rollback_error"].(string)
			if !strings.Contains(msg, tc.errLike) {
				t.Errorf("rollback_error = %q, want it to mention %q", msg, tc.errLike)
			}
			want := []row{
				{kind: domain.OpStop, image: ref100, container: oldCID},
				{kind: domain.OpStart, code: domain.CodeContainerStartFailed, image: ref101, container: newCID},
			}
			intents := []intentAt{{1, domain.NotifyContainerStartFailed}}
			if startRow {
				want = append(want, row{kind: domain.OpStart, code: domain.CodeContainerStartFailed, image: ref100})
				intents = append(intents, intentAt{2, domain.NotifyContainerStartFailed})
			}
			want = append(want, row{kind: domain.OpPatch, code: domain.CodeContainerStartFailed, image: ref101, container: newCID,
				details: details("from_image_ref", ref100, "to_image_ref", ref101, "rolled_back", false, "rollback_error", msg)})
			f.wantRows(game, want...)
			f.wantIntents(intents...)
		})
	}
}

// expectPreviousRefKept: after a patch and its rollback both failed, the
// stopped record is rewritten to name the previous image again — only while
// it is still the parked record.
func (f *fixture) expectPreviousRefKept(parked domain.Record) *gomock.Call {
	return f.records.EXPECT().UpsertIf(gomock.Any(), gomock.Cond(func(r domain.Record) bool {
		return r.Status == domain.StatusStopped && r.CurrentImageRef == ref100 && r.CurrentContainerID == parked.CurrentContainerID
	}), ports.RecordCondition{Status: domain.StatusStopped, ContainerID: parked.CurrentContainerID}).Return(parked, nil)
}
