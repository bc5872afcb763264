package lifecycle_test

import (
	"reflect"
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
)

func stop(f *fixture, reason string) domain.Result {
	return f.svc().Stop(ctx, lifecycle.StopInput{GameID: game, Reason: reason, Meta: meta})
}

func TestStopRefusesBadInputBeforeTakingTheLease(t *testing.T) {
	for _, tc := range []struct{ name, id, reason string }{
		{"unknown reason", game, "bored"},
		{"empty reason", game, ""},
		{"reason in the wrong case", game, "ADMIN_REQUEST"},
		{"bad game id", "../x", "finished"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)

			res := f.svc().Stop(ctx, lifecycle.StopInput{GameID: tc.id, Reason: tc.reason, Meta: meta})

			wantResult(t, res, domain.CodeInvalidRequest)
			f.wantRows(tc.id, row{kind: domain.OpStop, code: domain.CodeInvalidRequest})
		})
	}
}

func TestStopRunningGameStopsTheContainerAndKeepsIt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stopErr error
	}{
		{"container answers", nil},
		{"container already gone still records the stop", errNoContainer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			prev := f.rec(domain.StatusRunning, ref100, oldCID)
			f.expectLease()
			gomock.InOrder(
				f.expectRecord(&prev),
				f.docker.EXPECT().StopContainer(gomock.Any(), oldCID, f.cfg.StopTimeout).Return(tc.stopErr),
				f.expectCAS(prev, casUpdate(domain.StatusRunning, domain.StatusStopped, oldCID, "", ""), nil),
			) // and no RemoveContainer: the container is kept until cleanup

			res := stop(f, "finished")

			wantResult(t, res, domain.CodeNone)
			wantRecord(t, "result record", res.Record, domain.StatusStopped, ref100, oldCID)
			f.wantRows(game, row{kind: domain.OpStop, image: ref100, container: oldCID, details: details("reason", "finished")})
			f.wantIntents()
		})
	}
}

func TestStopAcceptsEveryContractReason(t *testing.T) {
	for _, reason := range domain.AllStopReasons {
		t.Run(string(reason), func(t *testing.T) {
			f := newFixture(t)
			prev := f.rec(domain.StatusStopped, ref100, oldCID)
			f.expectLease()
			f.expectRecord(&prev)

			wantResult(t, stop(f, string(reason)), domain.CodeReplayNoOp)
			f.wantRows(game, row{kind: domain.OpStop, code: domain.CodeReplayNoOp, image: ref100, container: oldCID,
				details: details("reason", string(reason))})
		})
	}
}

func TestStopOfAGameThatIsNotRunning(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status domain.Status // "" for no record
		code   domain.ErrorCode
	}{
		{"no record is not found", "", domain.CodeNotFound},
		{"stopped is a replay", domain.StatusStopped, domain.CodeReplayNoOp},
		{"removed is a replay", domain.StatusRemoved, domain.CodeReplayNoOp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			var prev *domain.Record
			want := row{kind: domain.OpStop, code: tc.code, details: details("reason", "cancelled")}
			if tc.status != "" {
				prev = ptr(f.rec(tc.status, ref100, oldCID))
				want.image, want.container = ref100, oldCID
			}
			f.expectRecord(prev) // and no Docker call at all

			res := stop(f, "cancelled")

			wantResult(t, res, tc.code)
			if prev != nil && (res.Record == nil || !reflect.DeepEqual(*res.Record, *prev)) {
				t.Errorf("replay record = %+v, want the stored one unchanged", res.Record)
			}
			f.wantRows(game, want)
		})
	}
}

func TestStopFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stopErr error
		casErr  error // compare-and-swap attempted only when stopErr is nil
		code    domain.ErrorCode
	}{
		{"docker stop error leaves the record running", errBoom, nil, domain.CodeInternalError},
		{"docker daemon down", errDockerDown, nil, domain.CodeDockerUnavailable},
		{"record changed concurrently", nil, errCAS, domain.CodeConflict},
		{"store down while recording the stop", nil, errStoreDown, domain.CodeServiceUnavailable},
		{"store error while recording the stop", nil, errBoom, domain.CodeInternalError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			prev := f.rec(domain.StatusRunning, ref100, oldCID)
			f.expectLease()
			f.expectRecord(&prev)
			stopCall := f.docker.EXPECT().StopContainer(gomock.Any(), oldCID, f.cfg.StopTimeout).Return(tc.stopErr)
			if tc.stopErr == nil {
				f.expectCAS(prev, casUpdate(domain.StatusRunning, domain.StatusStopped, oldCID, "", ""), tc.casErr).After(stopCall)
			}

			res := stop(f, "admin_request")

			wantResult(t, res, tc.code)
			f.wantRows(game, row{kind: domain.OpStop, code: tc.code, image: ref100, container: oldCID,
				details: details("reason", "admin_request")})
			f.wantIntents()
		})
	}
}
