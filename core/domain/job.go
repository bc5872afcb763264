package domain

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// JobPosition places a Lobby job in the one order of a game's jobs across
// both job streams (contract §6). Entry ids of one Redis server share its
// clock, so their milliseconds compare across streams; their sequence numbers
// count within one stream only. Jobs of the same millisecond on different
// streams are therefore ordered by stream — every start job of that
// millisecond before every stop job — and within one stream by sequence. A
// start and a stop written in the same millisecond thus leave the game
// stopped, the safe way to read an order the ids cannot tell.
type JobPosition struct {
	Ms   int64 // the entry id's milliseconds
	Rank int8  // the stream's rank in a tie of one millisecond: JobRankStart, JobRankStop
	Seq  int64 // the entry id's sequence number within its stream
}

// The ranks of the two job streams.
const (
	JobRankStart int8 = 0
	JobRankStop  int8 = 1
)

// ParseJobPosition reads a stream entry id ("<ms>-<seq>") of the stream with
// the given rank. Ids beyond int64 (possible only for ids a producer chose
// itself) are refused: they cannot be stored, and no clock reaches them.
func ParseJobPosition(entryID string, rank int8) (JobPosition, error) {
	ms, seq, ok := strings.Cut(entryID, "-")
	if !ok {
		return JobPosition{}, fmt.Errorf("entry id %q is not <ms>-<seq>", entryID)
	}
	m, err1 := strconv.ParseInt(ms, 10, 64)
	s, err2 := strconv.ParseInt(seq, 10, 64)
	if err1 != nil || err2 != nil || m < 0 || s < 0 || strings.HasPrefix(ms, "+") || strings.HasPrefix(seq, "+") {
		return JobPosition{}, fmt.Errorf("entry id %q is not two decimal numbers within int64", entryID)
	}
	if rank != JobRankStart && rank != JobRankStop {
		return JobPosition{}, fmt.Errorf("job stream rank %d is neither start (0) nor stop (1)", rank)
	}
	return JobPosition{Ms: m, Rank: rank, Seq: s}, nil
}

// Compare orders p and q: by millisecond, then stream rank, then sequence.
func (p JobPosition) Compare(q JobPosition) int {
	if c := cmp.Compare(p.Ms, q.Ms); c != 0 {
		return c
	}
	if c := cmp.Compare(p.Rank, q.Rank); c != 0 {
		return c
	}
	return cmp.Compare(p.Seq, q.Seq)
}

// String names the position as its entry id and stream.
func (p JobPosition) String() string {
	stream := "start_jobs"
	if p.Rank == JobRankStop {
		stream = "stop_jobs"
	}
	return fmt.Sprintf("%d-%d on %s", p.Ms, p.Seq, stream)
}
