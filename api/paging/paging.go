// Package paging holds the page sizes of the REST contract's list endpoints
// (the `limit` query parameter of api/openapi.yaml): the server applies the
// default, rtmctl refuses a --limit beyond the maximum before calling, and a
// test in package api keeps the document in step with both.
//
// It is a package of its own, without imports, so that rtmctl can use it
// without linking the OpenAPI parser that package api needs.
package paging

const (
	// DefaultSize is the page size when a request names none.
	DefaultSize = 100
	// MaxSize is the largest page size a request may ask for.
	MaxSize = 500
)
