package lifecycle

import (
	"io/fs"
	"os"
	"syscall"
)

// chownIfNeeded gives the state directory its configured owner, touching it
// only when the owner differs (so an unprivileged RTM works with defaults
// matching its own uid).
func chownIfNeeded(st fs.FileInfo, path string, uid, gid int) error {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) == uid && int(sys.Gid) == gid {
		return nil
	}
	return os.Chown(path, uid, gid)
}
