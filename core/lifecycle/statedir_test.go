package lifecycle_test

import (
	"slices"
	"strings"
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/limits"
	"github.com/galaxy/rtmanager/ports"
)

// The state directory is the last pre-flight step: a start refused for its
// image never asks for one.
func TestAStartRefusedForItsImageNeverTouchesTheStateDirectory(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script func(f *fixture)
		code   domain.ErrorCode
	}{
		{"pull failure", func(f *fixture) {
			gomock.InOrder(f.expectNetwork(),
				f.docker.EXPECT().ImageInspect(gomock.Any(), ref100).Return(ports.ImageInfo{}, errNoContainer),
				f.docker.EXPECT().PullImage(gomock.Any(), ref100).Return(errBoom))
		}, domain.CodeImagePullFailed},
		{"bad limit labels", func(f *fixture) {
			gomock.InOrder(f.expectNetwork(), f.expectImage(ref100, map[string]string{limits.LabelMemory: "lots"}))
		}, domain.CodeStartConfigInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			f.expectRecord(nil)
			tc.script(f)

			wantResult(t, start(f, ref100), tc.code)

			if ensured, dropped := f.stateDirCalls(); ensured != 0 || len(dropped) != 0 {
				t.Errorf("state directory ensured %d times, taken back %v; want it untouched", ensured, dropped)
			}
		})
	}
}

// A start that fails with no container left to use the state directory takes
// back a directory it created itself; one that existed before, or one a kept
// container still mounts, is never touched.
func TestAFailedLaunchTakesBackOnlyTheStateDirectoryItCreated(t *testing.T) {
	createFails := func(f *fixture) {
		f.expectPreflight(ref100)
		f.expectCreate("", errBoom, nil)
	}
	notReady := func(f *fixture) {
		f.expectPreflight(ref100)
		gomock.InOrder(f.expectCreate(newCID, nil, nil), f.expectStartContainer(newCID, nil))
		f.expectNeverReady(newCID)
	}
	unrecordable := func(f *fixture) {
		f.expectPreflight(ref100)
		f.expectLaunch(newCID)
		f.expectUpsert(errCAS)
		f.docker.EXPECT().RemoveContainer(gomock.Any(), newCID).Return(nil)
	}
	for _, tc := range []struct {
		name    string
		created bool
		script  func(f *fixture)
		dropped bool
	}{
		{"create failure, directory made by this start", true, createFails, true},
		{"create failure, directory there before", false, createFails, false},
		{"engine not ready: the parked container keeps its directory", true, notReady, false},
		{"record cannot be stored: the container goes, so does its new directory", true, unrecordable, true},
		{"record cannot be stored, directory there before", false, unrecordable, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.dirCreated = tc.created
			f.expectLease()
			f.expectRecord(nil)
			tc.script(f)

			wantResult(t, start(f, ref100), domain.CodeContainerStartFailed)

			_, dropped := f.stateDirCalls()
			var want []string
			if tc.dropped {
				want = []string{f.statePath()}
			}
			if !slices.Equal(dropped, want) {
				t.Errorf("state directories taken back = %v, want %v", dropped, want)
			}
		})
	}
}

func TestASuccessfulStartKeepsTheStateDirectoryItCreated(t *testing.T) {
	f := newFixture(t)
	f.dirCreated = true
	f.expectFreshStart(ref100, newCID)
	f.expectUpsert(nil)
	f.expectStarted(newCID, ref100)

	wantResult(t, start(f, ref100), domain.CodeNone)

	if _, dropped := f.stateDirCalls(); len(dropped) != 0 {
		t.Errorf("state directories taken back = %v after a successful start", dropped)
	}
}

// The pull failure says first that the image is not present locally, then
// why no pull brought it.
func TestPullFailureMessagesSayTheImageIsAbsentFirst(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy domain.PullPolicy
		script func(f *fixture)
		want   []string
	}{
		{"if_missing: the pull was tried and failed", domain.PullIfMissing, func(f *fixture) {
			gomock.InOrder(
				f.docker.EXPECT().ImageInspect(gomock.Any(), ref100).Return(ports.ImageInfo{}, errNoContainer),
				f.docker.EXPECT().PullImage(gomock.Any(), ref100).Return(errBoom))
		}, []string{"image " + ref100 + " is not present locally", "pulling it failed: boom"}},
		{"never: the policy forbids pulling", domain.PullNever, func(f *fixture) {
			f.docker.EXPECT().ImageInspect(gomock.Any(), ref100).Return(ports.ImageInfo{}, errNoContainer)
		}, []string{"image " + ref100 + " is not present locally", "pull policy never forbids pulling"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.cfg.PullPolicy = tc.policy
			f.expectLease()
			f.expectRecord(nil)
			f.expectNetwork()
			tc.script(f)

			res := start(f, ref100)

			wantResult(t, res, domain.CodeImagePullFailed)
			at := 0
			for _, part := range tc.want {
				i := strings.Index(res.ErrorMessage[at:], part)
				if i < 0 {
					t.Fatalf("message %q lacks %q after byte %d", res.ErrorMessage, part, at)
				}
				at += i + len(part)
			}
		})
	}
}

// DNS does not tell galaxy-game-Abc from galaxy-game-abc: a new game whose id
// differs from a recorded one only in case is refused before any Docker work.
func TestStartRefusesAGameIDThatDiffersOnlyInCase(t *testing.T) {
	f := newFixture(t)
	f.expectLease()
	gomock.InOrder(
		f.records.EXPECT().Get(gomock.Any(), game).Return(domain.Record{}, errNoContainer),
		f.records.EXPECT().OtherCaseOf(gomock.Any(), game).Return("G-1", nil),
	) // and no Docker call, no state directory

	res := start(f, ref100)

	wantResult(t, res, domain.CodeConflict)
	if !strings.Contains(res.ErrorMessage, "G-1") {
		t.Errorf("message %q does not name the existing game", res.ErrorMessage)
	}
	if ensured, _ := f.stateDirCalls(); ensured != 0 {
		t.Errorf("state directory ensured %d times for a refused start", ensured)
	}
	f.wantRows(game, row{kind: domain.OpStart, code: domain.CodeConflict, image: ref100})
	f.wantIntents()
}

func TestStartWithTheCaseCheckUnreachableIsServiceUnavailable(t *testing.T) {
	f := newFixture(t)
	f.expectLease()
	gomock.InOrder(
		f.records.EXPECT().Get(gomock.Any(), game).Return(domain.Record{}, errNoContainer),
		f.records.EXPECT().OtherCaseOf(gomock.Any(), game).Return("", errStoreDown),
	)

	wantResult(t, start(f, ref100), domain.CodeServiceUnavailable)
}
