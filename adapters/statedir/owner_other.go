//go:build !unix

package statedir

import "io/fs"

// ownedBy cannot read an owner off this platform's file info; Ensure then
// asks os.Chown, which reports what the platform supports.
func ownedBy(fs.FileInfo, int, int) bool { return false }
