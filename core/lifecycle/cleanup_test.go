package lifecycle_test

import (
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/ports"
)

func cleanup(f *fixture) domain.Result {
	return f.svc().Cleanup(ctx, lifecycle.CleanupInput{GameID: game, Meta: meta})
}

func TestCleanupRefusesABadGameIDBeforeTakingTheLease(t *testing.T) {
	f := newFixture(t)

	res := f.svc().Cleanup(ctx, lifecycle.CleanupInput{GameID: "..", Meta: meta})

	wantResult(t, res, domain.CodeInvalidRequest)
	f.wantRows("..", row{kind: domain.OpCleanupContainer, code: domain.CodeInvalidRequest})
}

func TestCleanupOfAGameThatIsNotStopped(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status domain.Status // "" for no record
		code   domain.ErrorCode
	}{
		{"no record is not found", "", domain.CodeNotFound},
		{"running is a conflict and touches nothing", domain.StatusRunning, domain.CodeConflict},
		{"removed is a replay", domain.StatusRemoved, domain.CodeReplayNoOp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			want := row{kind: domain.OpCleanupContainer, code: tc.code}
			var prev *domain.Record
			if tc.status != "" {
				prev = ptr(f.rec(tc.status, ref100, oldCID))
				want.image, want.container = ref100, oldCID
			}
			f.expectRecord(prev) // and no Docker call

			wantResult(t, cleanup(f), tc.code)
			f.wantRows(game, want)
		})
	}
}

func TestCleanupRemovesTheContainerAndKeepsTheState(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rmErr error
	}{
		{"container removed", nil},
		{"container already gone is still removed", errNoContainer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			prev := f.rec(domain.StatusStopped, ref100, oldCID)
			f.expectLease()
			gomock.InOrder(
				f.expectRecord(&prev),
				f.docker.EXPECT().RemoveContainer(gomock.Any(), oldCID).Return(tc.rmErr),
				f.expectCAS(prev, casUpdate(domain.StatusStopped, domain.StatusRemoved, oldCID, "", ""), nil),
			)

			res := cleanup(f)

			wantResult(t, res, domain.CodeNone)
			wantRecord(t, "result record", res.Record, domain.StatusRemoved, ref100, oldCID)
			f.wantRows(game, row{kind: domain.OpCleanupContainer, image: ref100, container: oldCID})
			f.wantIntents()
			if ensured, dropped := f.stateDirCalls(); ensured != 0 || len(dropped) != 0 {
				t.Errorf("cleanup touched the state directory (ensured %d, taken back %v); it must never", ensured, dropped)
			}
		})
	}
}

// The retention worker chose the game by a cutoff on last_op_at; under the
// lease the game turns out to have been started and stopped again since: its
// new container stays (replay_no_op); one untouched since the cutoff goes.
func TestCleanupWithACutoffSparesAGameOperatedSinceIt(t *testing.T) {
	lastOp := t0.Add(-time.Hour) // f.rec's
	for _, tc := range []struct {
		name   string
		cutoff time.Time
		code   domain.ErrorCode
	}{
		{"last operated after the cutoff is a replay that touches nothing", lastOp.Add(-time.Minute), domain.CodeReplayNoOp},
		{"last operated at the cutoff is a replay too", lastOp, domain.CodeReplayNoOp},
		{"last operated before the cutoff is removed", lastOp.Add(time.Minute), domain.CodeNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			prev := f.rec(domain.StatusStopped, ref100, oldCID)
			f.expectLease()
			f.expectRecord(&prev)
			if tc.code == domain.CodeNone {
				f.docker.EXPECT().RemoveContainer(gomock.Any(), oldCID).Return(nil)
				f.expectCAS(prev, casUpdate(domain.StatusStopped, domain.StatusRemoved, oldCID, "", ""), nil)
			}

			res := f.svc().Cleanup(ctx, lifecycle.CleanupInput{GameID: game, LastOpBefore: tc.cutoff,
				Meta: lifecycle.Meta{Source: domain.SourceAutoTTL}})

			wantResult(t, res, tc.code)
		})
	}
}

func TestCleanupWithoutAContainerIDFallsBackToTheName(t *testing.T) {
	for _, tc := range []struct {
		name    string
		byName  func(f *fixture) *gomock.Call // the last Docker call
		removed bool
	}{
		{"owned container with the game's name is removed", func(f *fixture) *gomock.Call {
			return f.expectLeftoverRemoved("c-named")
		}, true},
		{"no container with the game's name", func(f *fixture) *gomock.Call {
			return f.expectNoLeftover()
		}, true},
		{"container without the owner label is refused", func(f *fixture) *gomock.Call {
			return f.expectLeftover(ports.ContainerInfo{ID: "c-foreign", Name: ctrName})
		}, false},
		{"container of another deployment is refused", func(f *fixture) *gomock.Call {
			c := ownedContainer("c-foreign")
			c.Labels[ports.LabelDeployment] = "us-green"
			return f.expectLeftover(c)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			prev := f.rec(domain.StatusStopped, ref100, "")
			f.expectLease()
			f.expectRecord(&prev)
			last := tc.byName(f)
			code := domain.CodeConflict
			if tc.removed {
				code = domain.CodeNone
				f.expectCAS(prev, casUpdate(domain.StatusStopped, domain.StatusRemoved, "", "", ""), nil).After(last)
			}

			wantResult(t, cleanup(f), code)
			f.wantRows(game, row{kind: domain.OpCleanupContainer, code: code, image: ref100})
		})
	}
}

func TestCleanupFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rmErr  error
		casErr error // compare-and-swap attempted only when rmErr is nil
		code   domain.ErrorCode
	}{
		{"removal error keeps the record stopped", errBoom, nil, domain.CodeInternalError},
		{"docker daemon down", errDockerDown, nil, domain.CodeDockerUnavailable},
		{"record changed concurrently", nil, errCAS, domain.CodeConflict},
		{"store down while recording the removal", nil, errStoreDown, domain.CodeServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			prev := f.rec(domain.StatusStopped, ref100, oldCID)
			f.expectLease()
			f.expectRecord(&prev)
			rm := f.docker.EXPECT().RemoveContainer(gomock.Any(), oldCID).Return(tc.rmErr)
			if tc.rmErr == nil {
				f.expectCAS(prev, casUpdate(domain.StatusStopped, domain.StatusRemoved, oldCID, "", ""), tc.casErr).After(rm)
			}

			wantResult(t, cleanup(f), tc.code)
			f.wantRows(game, row{kind: domain.OpCleanupContainer, code: tc.code, image: ref100, container: oldCID})
		})
	}
}
