// Package sqlassets carries the goose migrations inside the binary, so the
// service migrates its schema at boot without any file next to it.
package sqlassets

import "embed"

// Migrations holds migrations/*.sql; the files sit under "migrations".
//
//go:embed migrations/*.sql
var Migrations embed.FS
