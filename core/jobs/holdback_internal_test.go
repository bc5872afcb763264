package jobs

import (
	"fmt"
	"slices"
	"testing"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// at is a decoded job for holdBack: "s" or "p" (start or stop), its entry
// id's milliseconds, and whether it was reclaimed.
func at(stream string, ms int64, reclaimed bool) job {
	kind, rank := ports.JobStart, domain.JobRankStart
	if stream == "p" {
		kind, rank = ports.JobStop, domain.JobRankStop
	}
	id := fmt.Sprintf("%d-0", ms)
	return job{raw: ports.Job{Kind: kind, ID: id, Reclaimed: reclaimed}, pos: domain.JobPosition{Ms: ms, Rank: rank}}
}

func s(ms int64) job  { return at("s", ms, false) }
func p(ms int64) job  { return at("p", ms, false) }
func rs(ms int64) job { return at("s", ms, true) }
func rp(ms int64) job { return at("p", ms, true) }

func carried(j job) job { j.carried = true; return j }

func names(js []job) []string {
	out := []string{}
	for _, j := range js {
		out = append(out, string(j.raw.Kind)+"@"+j.raw.ID)
	}
	return out
}

func TestHoldBack(t *testing.T) {
	tests := []struct {
		name      string
		batch     []job // sorted by position, as take hands it over
		newCount  int
		complete  int64 // Redis's millisecond before the read; 0: unknown
		wantReady []job
		wantHeld  []job
	}{
		{name: "a start stream that filled its share holds back later stops",
			batch: []job{s(1), p(2), s(3), p(5), p(7)}, newCount: 2,
			wantReady: []job{s(1), p(2), s(3)}, wantHeld: []job{p(5), p(7)}},
		{name: "a stop stream that filled its share holds back later starts",
			batch: []job{p(1), s(2), p(4), s(6)}, newCount: 2,
			wantReady: []job{p(1), s(2), p(4)}, wantHeld: []job{s(6)}},
		{name: "a stop of the full start stream's last millisecond is held, its start rank being first",
			batch: []job{s(1), s(5), p(5)}, newCount: 2,
			wantReady: []job{s(1), s(5)}, wantHeld: []job{p(5)}},
		{name: "neither stream full: all are ready",
			batch: []job{s(1), p(2), s(3), p(9)}, newCount: 3,
			wantReady: []job{s(1), p(2), s(3), p(9)}},
		{name: "an empty batch is all ready",
			batch: nil, newCount: 4},
		{name: "both streams full: the horizon is the earlier of their last positions",
			batch: []job{s(1), p(2), s(4), p(6), s(7)}, newCount: 2,
			// starts 1,4,7 (full, last 7) and stops 2,6 (full, last 6): horizon 6.
			wantReady: []job{s(1), p(2), s(4), p(6)}, wantHeld: []job{s(7)}},
		{name: "both streams full with the stop stream ending first",
			batch: []job{p(1), s(2), p(3), s(8)}, newCount: 2,
			wantReady: []job{p(1), s(2), p(3)}, wantHeld: []job{s(8)}},
		{name: "reclaimed entries never make a stream full",
			batch: []job{rs(1), rs(2), p(3), s(4), p(5)}, newCount: 2,
			// only one new start: neither stream is full.
			wantReady: []job{rs(1), rs(2), p(3), s(4), p(5)}},
		{name: "reclaimed entries do not move a full stream's horizon",
			batch: []job{s(1), s(2), p(3), rs(4), p(5)}, newCount: 2,
			// starts 1,2 are the share; the reclaimed start 4 is not its last.
			wantReady: []job{s(1), s(2)}, wantHeld: []job{p(3), rs(4), p(5)}},
		{name: "a reclaimed stop beyond the horizon is held too",
			batch: []job{p(1), p(2), rp(3)}, newCount: 1,
			// stop share 1: two new stops, last at 2.
			wantReady: []job{p(1), p(2)}, wantHeld: []job{rp(3)}},
		{name: "nothing new read (newCount 0): all ready",
			batch: []job{s(1), s(2), p(3)}, newCount: 0,
			wantReady: []job{s(1), s(2), p(3)}},
		{name: "a read that was all reclaimed (newCount below 0): all ready",
			batch: []job{rs(1), rp(2), rs(3)}, newCount: -2,
			wantReady: []job{rs(1), rp(2), rs(3)}},
		{name: "a stop of a millisecond the read vouches for runs",
			batch: []job{s(4), p(5)}, newCount: 4, complete: 6,
			wantReady: []job{s(4), p(5)}},
		{name: "a stop of the read's own millisecond is held with what follows: a start may still come in it",
			batch: []job{s(4), p(6), s(7), p(8)}, newCount: 4, complete: 6,
			wantReady: []job{s(4)}, wantHeld: []job{p(6), s(7), p(8)}},
		{name: "starts are never held for the millisecond: a later start of it comes after them",
			batch: []job{s(6), s(7)}, newCount: 4, complete: 6,
			wantReady: []job{s(6), s(7)}},
		{name: "a reclaimed stop of the millisecond runs: it was appended long ago",
			batch: []job{rp(6)}, newCount: 4, complete: 6,
			wantReady: []job{rp(6)}},
		{name: "a stop whose id its writer set far ahead of Redis's clock is not held",
			batch: []job{p(6 + aheadOfClock.Milliseconds() + 1)}, newCount: 4, complete: 6,
			wantReady: []job{p(6 + aheadOfClock.Milliseconds() + 1)}},
		{name: "jobs carried from an earlier read fill no share: a read that brought nothing lets them go",
			batch: []job{carried(s(7)), carried(s(8)), carried(p(9))}, newCount: 2,
			wantReady: []job{carried(s(7)), carried(s(8)), carried(p(9))}},
		{name: "both rules: the earlier cut wins",
			batch: []job{s(1), s(2), p(3), p(9)}, newCount: 2, complete: 3,
			wantReady: []job{s(1), s(2)}, wantHeld: []job{p(3), p(9)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			batch := slices.Clone(tc.batch)
			ready, held := holdBack(batch, tc.newCount, tc.complete)
			if got, want := names(ready), names(tc.wantReady); !slices.Equal(got, want) {
				t.Errorf("ready = %v, want %v", got, want)
			}
			if got, want := names(held), names(tc.wantHeld); !slices.Equal(got, want) {
				t.Errorf("held = %v, want %v", got, want)
			}
			if len(ready)+len(held) != len(tc.batch) {
				t.Errorf("ready %d + held %d jobs, batch had %d", len(ready), len(held), len(tc.batch))
			}
		})
	}
}

// The held jobs are the consumer's to keep; a later append to the ready part
// must not overwrite them.
func TestHoldBackHeldJobsDoNotShareTheReadyArray(t *testing.T) {
	ready, held := holdBack([]job{s(1), s(2), p(3)}, 2, 0)
	if len(held) != 1 {
		t.Fatalf("held = %v, want one stop", names(held))
	}
	_ = append(ready, p(99))
	if held[0].raw.ID != "3-0" {
		t.Errorf("held job became %s after appending to ready", held[0].raw.ID)
	}
}
