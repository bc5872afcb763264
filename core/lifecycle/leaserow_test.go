package lifecycle_test

import (
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
)

// Contract §4: an operation appends its row (and publishes what it owns)
// before it releases the game's lease. The next holder of the lease — another
// instance running the game's next job, say — then finds the game's history
// complete: the rows of one game are in the order the operations took
// effect, and a redelivered stream job finds its first answer.
func TestEveryOperationWritesItsRowBeforeItReleasesTheLease(t *testing.T) {
	for _, op := range operations() {
		t.Run(op.name, func(t *testing.T) {
			f := newFixture(t)
			f.leases.EXPECT().Acquire(gomock.Any(), game).Return(f.lease, nil)
			f.lease.EXPECT().Lost().Return(nil).AnyTimes()
			rowsAtRelease := -1
			f.lease.EXPECT().Release().Do(func() {
				f.mu.Lock()
				defer f.mu.Unlock()
				rowsAtRelease = len(f.rows)
			})
			f.records.EXPECT().Get(gomock.Any(), game).Return(domain.Record{}, errStoreDown)

			wantResult(t, op.call(f), domain.CodeServiceUnavailable)
			if rowsAtRelease != 1 {
				t.Errorf("the lease was released with %d rows written, want the operation's row written first", rowsAtRelease)
			}
		})
	}
}
