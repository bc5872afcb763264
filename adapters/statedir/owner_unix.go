//go:build unix

package statedir

import (
	"io/fs"
	"syscall"
)

// ownedBy reports whether the directory already has the owner, so an
// unprivileged RTM works with defaults matching its own uid.
func ownedBy(st fs.FileInfo, uid, gid int) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == uid && int(sys.Gid) == gid
}
