package lifecycle

import (
	"context"
	"errors"
	"fmt"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/limits"
	"github.com/galaxy/rtmanager/ports"
)

// plan is everything a launch needs, settled before any container is touched.
type plan struct {
	imageRef  string
	statePath string
	// stateCreated says this attempt made the state directory, so a failure
	// that leaves no container may take it back (while it is empty).
	stateCreated bool
	limits       limits.Limits
	// node is where the game runs and its state lives (swarm); "" on docker.
	node string
}

// prepare does the pre-flight of a start: reference, allow-list, network,
// image presence per pull policy, limit labels, and last the state directory —
// the one step that changes the host, so a start refused for anything else
// neither creates nor alters a directory. Patch runs it before stopping the
// old engine so a bad new image never takes a game down. pinned is the node
// the game's record names ("" for none): the state step keeps the game there.
func (s *Service) prepare(ctx context.Context, o *op, imageRef, pinned string) (plan, error) {
	ref, err := domain.ParseImageRef(imageRef)
	if err != nil {
		return plan{}, domain.Errorf(domain.CodeStartConfigInvalid, "%v", err)
	}
	if !ref.AllowedBy(s.cfg.AllowedPrefixes) {
		return plan{}, domain.Errorf(domain.CodeStartConfigInvalid, "image %s is outside the allowed prefixes", imageRef)
	}
	ok, err := s.d.Docker.NetworkExists(ctx, s.cfg.Network)
	if err != nil {
		return plan{}, dockerErr(domain.CodeStartConfigInvalid, "check network", err)
	}
	if !ok {
		return plan{}, domain.Errorf(domain.CodeStartConfigInvalid, "docker network %q does not exist", s.cfg.Network)
	}
	img, err := s.ensureImage(ctx, imageRef)
	if err != nil {
		return plan{}, err
	}
	lim, err := limits.FromLabels(img.Labels, s.cfg.DefaultLimits)
	if err != nil {
		return plan{}, domain.Errorf(domain.CodeStartConfigInvalid, "%v", err)
	}
	dir, err := s.d.StateDirs.Ensure(ctx, o.gameID, pinned)
	switch {
	case errors.Is(err, ports.ErrNoEngineHost):
		// Nothing is created anywhere: a game never starts away from its state.
		return plan{}, domain.Errorf(domain.CodeStartConfigInvalid, "%v", err)
	case err != nil:
		return plan{}, dockerErr(domain.CodeStartConfigInvalid, "state directory", err)
	}
	return plan{imageRef: imageRef, statePath: dir.Path, stateCreated: dir.Created, limits: lim, node: dir.Node}, nil
}

// ensureImage makes the image present according to the pull policy and
// returns its labels. Its messages say first whether the image is present
// locally, then why a pull failed or was not tried.
func (s *Service) ensureImage(ctx context.Context, ref string) (ports.ImageInfo, error) {
	policy := s.cfg.PullPolicy
	if policy == domain.PullAlways {
		if err := s.d.Docker.PullImage(ctx, ref); err != nil {
			return ports.ImageInfo{}, dockerErr(domain.CodeImagePullFailed,
				fmt.Sprintf("pulling image %s failed (pull policy always pulls before every start)", ref), err)
		}
	}
	info, err := s.d.Docker.ImageInspect(ctx, ref)
	if errors.Is(err, ports.ErrNotFound) && policy == domain.PullIfMissing {
		if err := s.d.Docker.PullImage(ctx, ref); err != nil {
			return ports.ImageInfo{}, dockerErr(domain.CodeImagePullFailed,
				fmt.Sprintf("image %s is not present locally, and pulling it failed", ref), err)
		}
		info, err = s.d.Docker.ImageInspect(ctx, ref)
	}
	switch {
	case errors.Is(err, ports.ErrNotFound) && policy == domain.PullNever:
		return ports.ImageInfo{}, domain.Errorf(domain.CodeImagePullFailed,
			"image %s is not present locally, and pull policy never forbids pulling it", ref)
	case errors.Is(err, ports.ErrNotFound):
		return ports.ImageInfo{}, domain.Errorf(domain.CodeImagePullFailed,
			"image %s is not present locally even after pulling it (pull policy %s)", ref, policy)
	case err != nil:
		return ports.ImageInfo{}, dockerErr(domain.CodeImagePullFailed, "inspect image "+ref, err)
	}
	return info, nil
}

// dropNewStateDir takes back the state directory of a start that failed with
// no container left to use it — only one this attempt created, and only while
// it is empty (invariant 2: a directory that holds anything is never removed).
func (s *Service) dropNewStateDir(ctx context.Context, o *op, p plan) {
	if !p.stateCreated {
		return
	}
	if err := s.d.StateDirs.RemoveIfEmpty(ctx, p.statePath); err != nil {
		o.log.Warn("remove the state directory a failed start created", "state_path", p.statePath, "err", err)
	}
}
