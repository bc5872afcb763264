package domain_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/galaxy/rtmanager/core/domain"
)

func TestTransitionAllowsExactlyTheFourContractChanges(t *testing.T) {
	allowed := map[[2]domain.Status]bool{
		{domain.StatusRunning, domain.StatusStopped}: true,
		{domain.StatusRunning, domain.StatusRemoved}: true,
		{domain.StatusStopped, domain.StatusRunning}: true,
		{domain.StatusStopped, domain.StatusRemoved}: true,
	}
	// Every pair over the known statuses plus values that are not statuses.
	all := append([]domain.Status{"", "bogus", "RUNNING"}, domain.AllStatuses...)
	seen := 0
	for _, from := range all {
		for _, to := range all {
			t.Run(fmt.Sprintf("%q→%q", from, to), func(t *testing.T) {
				err := domain.Transition(from, to)
				if allowed[[2]domain.Status{from, to}] {
					seen++
					if err != nil {
						t.Fatalf("Transition = %v, want nil", err)
					}
					return
				}
				if err == nil {
					t.Fatal("Transition = nil, want a domain error")
				}
				if !errors.Is(err, domain.ErrInvalidTransition) {
					t.Errorf("error %v does not wrap ErrInvalidTransition", err)
				}
			})
		}
	}
	if seen != len(allowed) {
		t.Errorf("visited %d allowed pairs, want %d", seen, len(allowed))
	}
}

func TestTransitionToSameStatusIsRefused(t *testing.T) {
	for _, s := range domain.AllStatuses {
		if err := domain.Transition(s, s); err == nil {
			t.Errorf("Transition(%s, %s) = nil: a no-op change must go through the replay rules, not a CAS", s, s)
		}
	}
}

func TestTransitionOutOfRemovedIsRefused(t *testing.T) {
	// A new lifetime over a removed record is an upsert, never a status change.
	for _, to := range domain.AllStatuses {
		if err := domain.Transition(domain.StatusRemoved, to); err == nil {
			t.Errorf("Transition(removed, %s) = nil", to)
		}
	}
}
