package lifecycle

import (
	"errors"
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
	"github.com/galaxy/rtmanager/ports/mocks"
)

// The transition rule is the domain's, applied by core: a status change
// outside the table never reaches the store (the strict mock expects no call).
func TestSetStatusRefusesATransitionOutsideTheTableBeforeTheStore(t *testing.T) {
	s := New(Config{}, Deps{Records: mocks.NewMockRuntimeStore(gomock.NewController(t))})
	for _, pair := range [][2]domain.Status{
		{domain.StatusRemoved, domain.StatusRunning},
		{domain.StatusRunning, domain.StatusRunning},
		{domain.StatusRemoved, domain.StatusStopped},
	} {
		_, err := s.setStatus(t.Context(), ports.StatusUpdate{GameID: "g-1", From: pair[0], To: pair[1]})
		if !errors.Is(err, domain.ErrInvalidTransition) {
			t.Errorf("%s → %s: err = %v, want ErrInvalidTransition", pair[0], pair[1], err)
		}
	}
}
