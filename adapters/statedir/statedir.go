// Package statedir keeps games' host state directories
// (<RTMANAGER_GAME_STATE_ROOT>/<game_id>, bind-mounted into each engine): it
// creates them with the configured mode and owner, proves them writable and
// takes back an empty one that a failed start created. It never removes a
// directory that holds anything (invariant 2).
package statedir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/galaxy/rtmanager/ports"
)

// Config is where and how state directories are made.
type Config struct {
	Root     string
	Mode     fs.FileMode
	OwnerUID int
	OwnerGID int
}

// Dirs implements ports.StateDirs on the local filesystem.
type Dirs struct{ cfg Config }

var _ ports.StateDirs = (*Dirs)(nil)

// New returns the state directories under cfg.Root.
func New(cfg Config) *Dirs { return &Dirs{cfg: cfg} }

// Ensure makes <root>/<gameID> exist with the configured mode and owner and
// proves it writable with a probe file. The game id has been validated by
// core (one path segment); the check here keeps the adapter safe on its own.
func (d *Dirs) Ensure(ctx context.Context, gameID, _ string) (ports.StateDir, error) {
	if gameID == "" || gameID != filepath.Base(gameID) || gameID == "." || gameID == ".." {
		return ports.StateDir{}, fmt.Errorf("game id %q is not one path segment", gameID)
	}
	if err := os.MkdirAll(d.cfg.Root, 0o755); err != nil {
		return ports.StateDir{}, err
	}
	path := filepath.Join(d.cfg.Root, gameID)
	created := true
	if err := os.Mkdir(path, d.cfg.Mode.Perm()); errors.Is(err, fs.ErrExist) {
		created = false
	} else if err != nil {
		return ports.StateDir{}, err
	}
	if err := d.settle(path); err != nil {
		if created { // an unusable directory this call made is taken back
			_ = d.RemoveIfEmpty(ctx, path)
		}
		return ports.StateDir{}, err
	}
	return ports.StateDir{Path: path, Created: created}, nil
}

// settle gives the directory its mode and owner and proves it writable.
func (d *Dirs) settle(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s exists and is not a directory", path)
	}
	// Mkdir's mode passed through the umask; the configured mode is exact.
	if st.Mode().Perm() != d.cfg.Mode.Perm() {
		if err := os.Chmod(path, d.cfg.Mode.Perm()); err != nil {
			return err
		}
	}
	if !ownedBy(st, d.cfg.OwnerUID, d.cfg.OwnerGID) {
		if err := os.Chown(path, d.cfg.OwnerUID, d.cfg.OwnerGID); err != nil {
			return err
		}
	}
	f, err := os.CreateTemp(path, ".rtmanager-write-check-*")
	if err != nil {
		return fmt.Errorf("not writable: %w", err)
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(name)
}

// RemoveIfEmpty removes path when it is an empty directory directly under the
// root; a directory holding anything is left as it is, without error.
func (d *Dirs) RemoveIfEmpty(_ context.Context, path string) error {
	if filepath.Dir(filepath.Clean(path)) != filepath.Clean(d.cfg.Root) {
		return fmt.Errorf("%s is not a state directory under %s", path, d.cfg.Root)
	}
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", path)
	}
	err = os.Remove(path)
	if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
