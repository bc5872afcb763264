package httpapi

// The strict server interface, its net/http wiring and the models, from the
// contract in api/. The pinned generator lives in the tools module.
//go:generate go tool -modfile=../../tools/go.mod oapi-codegen -config ../../api/server.cfg.yaml -o api.gen.go ../../api/openapi.yaml
