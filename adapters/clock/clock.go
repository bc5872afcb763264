// Package clock is the wall clock behind ports.Clock.
package clock

import "time"

// System reads the real time, in UTC.
type System struct{}

// Now implements ports.Clock.
func (System) Now() time.Time { return time.Now().UTC() }
