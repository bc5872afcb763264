package ports

import (
	"time"

	"github.com/galaxy/rtmanager/core/domain"
)

//go:generate go tool -modfile=../tools/go.mod mockgen -destination=mocks/reconcile_mock.go -package=mocks . ReconcileMetrics

// ReconcileMetrics receives what the reconciler observes (contract §10:
// reconcile drifts by kind, and when the last pass ran).
type ReconcileMetrics interface {
	// ReconcileDrift counts one drift repaired, by the repair's op kind
	// (reconcile_adopt, reconcile_dispose, reconcile_observe_exit).
	ReconcileDrift(kind domain.OpKind)
	// ReconcilePassed records a finished pass: when it ended and how long it took.
	ReconcilePassed(at time.Time, took time.Duration)
}
