package health_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/health"
	"github.com/galaxy/rtmanager/ports/mocks"
)

func TestEmitChangedPublishesOnlyWhatItStored(t *testing.T) {
	snap := domain.HealthSnapshot{GameID: "g", ContainerID: "c1", Status: domain.HealthProbeFailed,
		Source: domain.HealthSourceProbe, LastEventType: domain.EventProbeFailed,
		Details: map[string]any{"last_error": "refused"}, ObservedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	tests := []struct {
		name      string
		stored    bool
		storeErr  error
		published bool
	}{
		{"a change it stored is published", true, nil, true},
		{"a change the store already holds (another instance's) is not", false, nil, false},
		{"when the store fails the event is still published: a duplicate beats a loss", false, errors.New("down"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctrl := gomock.NewController(t)
			store, pub, metrics := mocks.NewMockHealthStore(ctrl), mocks.NewMockHealthPublisher(ctrl), mocks.NewMockMetrics(ctrl)
			store.EXPECT().UpsertChanged(gomock.Any(), snap, "last_error").Return(tc.stored, tc.storeErr)
			if tc.published {
				pub.EXPECT().PublishHealth(gomock.Any(), domain.HealthEvent{GameID: "g", ContainerID: "c1",
					Type: domain.EventProbeFailed, OccurredAt: snap.ObservedAt, Details: snap.Details})
				metrics.EXPECT().HealthEventPublished(domain.EventProbeFailed)
			}
			e := health.NewEmitter(store, pub, metrics)
			// The mocks fail the test on a publish not expected, or one missing.
			e.EmitChanged(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), snap, "last_error")
		})
	}
}
