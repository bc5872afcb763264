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

var errLeaseBusy = fmt.Errorf("redis: %w", ports.ErrLeaseBusy)

// operation is one public lifecycle entry point called on the fixture's game,
// with the row it logs before doing any work.
type operation struct {
	name  string
	call  func(f *fixture) domain.Result
	first row // code filled in by each test
}

func operations() []operation {
	return []operation{
		{"start", func(f *fixture) domain.Result { return start(f, ref100) },
			row{kind: domain.OpStart, image: ref100}},
		{"stop", func(f *fixture) domain.Result { return stop(f, "finished") },
			row{kind: domain.OpStop, details: details("reason", "finished")}},
		{"restart", restart, row{kind: domain.OpRestart}},
		{"patch", func(f *fixture) domain.Result { return patch(f, ref101) },
			row{kind: domain.OpPatch, image: ref101}},
		{"cleanup", cleanup, row{kind: domain.OpCleanupContainer}},
	}
}

func TestEveryOperationWithABusyLeaseIsAConflict(t *testing.T) {
	for _, op := range operations() {
		t.Run(op.name, func(t *testing.T) {
			f := newFixture(t)
			f.leases.EXPECT().Acquire(gomock.Any(), game).Return(nil, errLeaseBusy)
			f.metrics.EXPECT().LeaseConflict().Times(1) // and no record read, no Docker call

			wantResult(t, op.call(f), domain.CodeConflict)
			want := op.first
			want.code = domain.CodeConflict
			f.wantRows(game, want)
			f.wantIntents()
		})
	}
}

func TestEveryOperationWithAnUnreachableStoreIsServiceUnavailable(t *testing.T) {
	for _, where := range []struct {
		name  string
		setup func(f *fixture)
	}{
		{"lease store down", func(f *fixture) {
			f.leases.EXPECT().Acquire(gomock.Any(), game).Return(nil, errStoreDown)
		}},
		{"record store down", func(f *fixture) {
			f.expectLease()
			f.records.EXPECT().Get(gomock.Any(), game).Return(domain.Record{}, errStoreDown)
		}},
	} {
		for _, op := range operations() {
			t.Run(where.name+"/"+op.name, func(t *testing.T) {
				f := newFixture(t)
				where.setup(f)

				wantResult(t, op.call(f), domain.CodeServiceUnavailable)
				want := op.first
				want.code = domain.CodeServiceUnavailable
				f.wantRows(game, want)
				f.wantIntents()
			})
		}
	}
}

func TestEveryOperationReleasesTheLeaseEvenWhenItPanics(t *testing.T) {
	for _, op := range operations() {
		t.Run(op.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease() // Release exactly once
			f.records.EXPECT().Get(gomock.Any(), game).DoAndReturn(func(context.Context, string) (domain.Record, error) {
				panic("store adapter bug")
			})

			func() {
				defer func() {
					if recover() == nil {
						t.Error("the panic was swallowed")
					}
				}()
				op.call(f)
			}()
		})
	}
}

func TestOperationsDetachFromTheCallersCancellation(t *testing.T) {
	// An HTTP client hanging up must not leave a container half stopped or
	// half made: the ports see a context that is never cancelled.
	f := newFixture(t)
	prev := f.rec(domain.StatusRunning, ref100, oldCID)
	live := func(c context.Context) {
		if c.Err() != nil {
			t.Errorf("port called with a cancelled context: %v", c.Err())
		}
	}
	f.leases.EXPECT().Acquire(gomock.Any(), game).DoAndReturn(func(c context.Context, _ string) (ports.Lease, error) {
		live(c)
		return f.lease, nil
	})
	f.lease.EXPECT().Release()
	f.lease.EXPECT().Lost().Return(nil).AnyTimes()
	f.expectRecord(&prev)
	f.docker.EXPECT().StopContainer(gomock.Any(), oldCID, f.cfg.StopTimeout).DoAndReturn(
		func(c context.Context, _ string, _ time.Duration) error { live(c); return nil })
	f.records.EXPECT().UpdateStatus(gomock.Any(), gomock.Any()).DoAndReturn(
		func(c context.Context, _ ports.StatusUpdate) (domain.Record, error) {
			live(c)
			return stopped(prev), nil
		})
	cancelled, cancel := context.WithCancel(ctx)
	cancel()

	res := f.svc().Stop(cancelled, lifecycle.StopInput{GameID: game, Reason: "timeout", Meta: meta})

	wantResult(t, res, domain.CodeNone)
}

// Not found reads the same whichever operation answers it, and names the game.
func TestEveryOperationOnAGameWithoutARecordSaysSoInOneWording(t *testing.T) {
	for _, op := range operations() {
		if op.name == "start" {
			continue // a start installs the record
		}
		t.Run(op.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			f.records.EXPECT().Get(gomock.Any(), game).Return(domain.Record{}, errNoContainer)

			res := op.call(f)

			wantResult(t, res, domain.CodeNotFound)
			if res.ErrorMessage != domain.NoRuntimeMessage(game) || !strings.Contains(res.ErrorMessage, game) {
				t.Errorf("message %q, want %q", res.ErrorMessage, domain.NoRuntimeMessage(game))
			}
		})
	}
}
