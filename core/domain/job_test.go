package domain_test

import (
	"testing"

	"github.com/galaxy/rtmanager/core/domain"
)

func TestParseJobPosition(t *testing.T) {
	for _, tc := range []struct {
		id   string
		rank int8
		want domain.JobPosition
		ok   bool
	}{
		{"1700000000000-0", domain.JobRankStart, domain.JobPosition{Ms: 1700000000000, Seq: 0}, true},
		{"5-17", domain.JobRankStop, domain.JobPosition{Ms: 5, Rank: domain.JobRankStop, Seq: 17}, true},
		{"9223372036854775807-9223372036854775807", domain.JobRankStart, domain.JobPosition{Ms: 1<<63 - 1, Seq: 1<<63 - 1}, true},
		{"18446744073709551615-0", domain.JobRankStart, domain.JobPosition{}, false}, // a uint64 id no clock reaches
		{"5", domain.JobRankStart, domain.JobPosition{}, false},
		{"5--1", domain.JobRankStart, domain.JobPosition{}, false},
		{"+5-1", domain.JobRankStart, domain.JobPosition{}, false},
		{"a-1", domain.JobRankStart, domain.JobPosition{}, false},
		{"5-1", 2, domain.JobPosition{}, false},
	} {
		got, err := domain.ParseJobPosition(tc.id, tc.rank)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseJobPosition(%q, %d) = %+v, %v; want %+v, ok=%v", tc.id, tc.rank, got, err, tc.want, tc.ok)
		}
	}
}

func TestJobPositionsOrderByTimeThenStreamThenSequence(t *testing.T) {
	pos := func(id string, rank int8) domain.JobPosition {
		p, err := domain.ParseJobPosition(id, rank)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	start, stop := domain.JobRankStart, domain.JobRankStop
	// Each position is before the next.
	ordered := []domain.JobPosition{
		pos("10-5", stop),  // an earlier millisecond wins whatever the stream
		pos("11-0", start), // in one millisecond every start job ...
		pos("11-9", start),
		pos("11-0", stop), // ... comes before every stop job, so start-then-stop leaves a game stopped
		pos("11-1", stop),
		pos("12-0", start),
	}
	for i := range ordered {
		for j := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := ordered[i].Compare(ordered[j]); got != want {
				t.Errorf("%s vs %s = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}
