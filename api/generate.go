package api

// The Go client for Game Lobby and rtmctl; the server side is generated in
// adapters/httpapi. The pinned generator lives in the tools module.
//go:generate go tool -modfile=../tools/go.mod oapi-codegen -config client.cfg.yaml -o client/client.gen.go openapi.yaml
