// Package api holds Runtime Manager's REST contract, api/openapi.yaml, the
// oapi-codegen configs that generate the server (adapters/httpapi) and the Go
// client (api/client) from it, and the embedded document itself, so that the
// server's request validation and the contract tests check against exactly the
// file the code was generated from.
package api

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed openapi.yaml
var openAPI []byte

// Load parses the embedded OpenAPI document, resolves its references and
// validates it. Every call returns a fresh document, so callers never share
// mutable state.
func Load() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPI)
	if err != nil {
		return nil, fmt.Errorf("api: load openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("api: openapi.yaml is invalid: %w", err)
	}
	return doc, nil
}
