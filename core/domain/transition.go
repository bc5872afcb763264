package domain

import "fmt"

// allowedTransitions are the only status changes the contract permits (contract §2.2).
var allowedTransitions = map[Status][]Status{
	StatusRunning: {StatusStopped, StatusRemoved},
	StatusStopped: {StatusRunning, StatusRemoved},
}

// ErrInvalidTransition is wrapped by Transition for every pair outside the table.
var ErrInvalidTransition = fmt.Errorf("invalid status transition")

// Transition validates a status change and returns nil when it is one of the four
// allowed ones.
func Transition(from, to Status) error {
	if isOneOf(to, allowedTransitions[from]) {
		return nil
	}
	return fmt.Errorf("%w: %s → %s", ErrInvalidTransition, from, to)
}
