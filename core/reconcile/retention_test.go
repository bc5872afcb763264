package reconcile_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/core/reconcile"
	"github.com/galaxy/rtmanager/ports/mocks"
)

const retention = 30 * 24 * time.Hour

// cleanups answers each cleanup as told by its game's result, success by
// default, and records the games asked for.
type cleanups struct {
	asked   []string
	results map[string]domain.Result
	sources []domain.OpSource
	cutoffs []time.Time
}

func (c *cleanups) Cleanup(_ context.Context, in lifecycle.CleanupInput) domain.Result {
	c.asked = append(c.asked, in.GameID)
	c.sources = append(c.sources, in.Source)
	c.cutoffs = append(c.cutoffs, in.LastOpBefore)
	if r, ok := c.results[in.GameID]; ok {
		return r
	}
	return domain.Success(domain.Record{GameID: in.GameID, Status: domain.StatusRemoved}, domain.CodeNone)
}

func stoppedRecs(ids ...string) []domain.Record {
	var rs []domain.Record
	for _, id := range ids {
		rs = append(rs, rec(id, domain.StatusStopped, "c"+id))
	}
	return rs
}

func newRetention(t *testing.T) (*mocks.MockRuntimeStore, *cleanups, *reconcile.Retention) {
	ctrl := gomock.NewController(t)
	clock := mocks.NewMockClock(ctrl)
	clock.EXPECT().Now().Return(t0).AnyTimes()
	records, c := mocks.NewMockRuntimeStore(ctrl), &cleanups{results: map[string]domain.Result{}}
	w := reconcile.NewRetention(reconcile.RetentionConfig{Retention: retention, Interval: time.Hour},
		reconcile.RetentionDeps{Records: records, Cleanups: c, Clock: clock, Logger: slog.New(slog.DiscardHandler)})
	return records, c, w
}

// Every game stopped before the cutoff is cleaned up once, with source
// auto_ttl; a failure does not stop the pass.
func TestARetentionPassCleansEachOldStoppedGameOnceAndSurvivesAFailure(t *testing.T) {
	records, c, w := newRetention(t)
	c.results["g1"] = domain.Failure(domain.CodeInternalError, "remove container: boom")
	c.results["g3"] = domain.Failure(domain.CodeConflict, "another operation on this game is in progress")
	cutoff := t0.Add(-retention)
	// A short batch is the whole list: one listing.
	records.EXPECT().ListStoppedBefore(gomock.Any(), cutoff, 100).Return(stoppedRecs("g1", "g2", "g3"), nil)

	rep, err := w.Pass(t.Context())

	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.asked, []string{"g1", "g2", "g3"}) || rep.Removed != 1 || rep.Failed != 2 {
		t.Errorf("asked %v, report %+v: want g1, g2, g3 each once, one removed, two failed", c.asked, rep)
	}
	for i, s := range c.sources {
		if s != domain.SourceAutoTTL || !c.cutoffs[i].Equal(cutoff) {
			t.Errorf("cleanup source %s, last op before %v: want auto_ttl and the pass's cutoff %v", s, c.cutoffs[i], cutoff)
		}
	}
}

// A full batch means more may wait: the next listing asks for as many more
// as were tried, so failures at the head of the list (still stopped, so
// listed again) never hide the rest, and are not tried twice in one pass.
func TestARetentionPassReachesPastAFullBatchOfFailures(t *testing.T) {
	records, c, w := newRetention(t)
	var head []string
	for i := range 100 {
		id := "f" + string(rune('a'+i/26)) + string(rune('a'+i%26))
		head = append(head, id)
		c.results[id] = domain.Failure(domain.CodeInternalError, "boom")
	}
	cutoff := t0.Add(-retention)
	gomock.InOrder(
		records.EXPECT().ListStoppedBefore(gomock.Any(), cutoff, 100).Return(stoppedRecs(head...), nil),
		records.EXPECT().ListStoppedBefore(gomock.Any(), cutoff, 200).Return(stoppedRecs(append(slices.Clone(head), "z1")...), nil),
	)

	rep, err := w.Pass(t.Context())

	if err != nil {
		t.Fatal(err)
	}
	if len(c.asked) != 101 || c.asked[100] != "z1" || rep.Removed != 1 || rep.Failed != 100 {
		t.Errorf("asked %d games (last %s), report %+v: want 101, z1 last, 1 removed", len(c.asked), c.asked[len(c.asked)-1], rep)
	}
}

// A game cleaned up meanwhile (replay_no_op) is neither removed by this
// pass nor a failure.
func TestARetentionPassCountsAnAlreadyRemovedGameAsNeither(t *testing.T) {
	records, c, w := newRetention(t)
	c.results["g1"] = domain.Success(domain.Record{GameID: "g1", Status: domain.StatusRemoved}, domain.CodeReplayNoOp)
	records.EXPECT().ListStoppedBefore(gomock.Any(), t0.Add(-retention), 100).Return(stoppedRecs("g1"), nil)

	rep, err := w.Pass(t.Context())

	if err != nil || rep != (reconcile.RetentionReport{}) {
		t.Errorf("Pass = %+v, %v; want nothing removed or failed", rep, err)
	}
}

// Run passes at once, without waiting for the interval (an hour here): a
// service restarted more often than that still cleans up. It returns when
// its context ends.
func TestRetentionRunPassesAtOnceAndStopsWithItsContext(t *testing.T) {
	records, _, w := newRetention(t)
	listed := make(chan struct{})
	records.EXPECT().ListStoppedBefore(gomock.Any(), gomock.Any(), 100).DoAndReturn(
		func(context.Context, time.Time, int) ([]domain.Record, error) {
			close(listed)
			return nil, nil
		})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()

	<-listed
	cancel()
	<-done
}
