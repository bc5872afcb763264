package postgres_test

import (
	"testing"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
)

// BenchmarkUpsertAndAppend measures the store work of one lifecycle operation:
// upsert the record, then append its operation log row.
func BenchmarkUpsertAndAppend(b *testing.B) {
	s, _ := newStore(b)
	rec := runningRecord("bench-game")
	op := operation("bench-game")
	op.Outcome, op.ErrorCode = domain.OutcomeSuccess, domain.CodeNone
	var i time.Duration
	for b.Loop() {
		i++
		rec.LastOpAt = at(i * time.Millisecond)
		if _, err := s.Runtimes().Upsert(b.Context(), rec); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Operations().Append(b.Context(), op); err != nil {
			b.Fatal(err)
		}
	}
}
