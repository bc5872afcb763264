// Package randid makes the service's random identifiers: correlation ids and
// lease tokens. One generator, so every id has the same shape and strength.
package randid

import "crypto/rand"

// New returns 26 characters of base32 from 128 random bits. crypto/rand
// never fails on the platforms Go supports (it crashes the program instead).
func New() string { return rand.Text() }

// Source implements ports.IDs.
type Source struct{}

// NewID returns a fresh random id.
func (Source) NewID() string { return New() }
