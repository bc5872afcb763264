package lifecycle

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// containerSpec is the engine container of the contract's container model
// (contract §3) for one launch.
func (s *Service) containerSpec(gameID string, p plan, now time.Time) ports.ContainerSpec {
	spec := ports.ContainerSpec{
		Name:    domain.ContainerName(gameID),
		Image:   p.imageRef,
		Network: s.cfg.Network,
		Labels: map[string]string{
			ports.LabelOwner:       ports.OwnerValue,
			ports.LabelDeployment:  s.cfg.Deployment,
			ports.LabelKind:        ports.KindValue,
			ports.LabelGameID:      gameID,
			ports.LabelImageRef:    p.imageRef,
			ports.LabelStartedAtMs: strconv.FormatInt(now.UnixMilli(), 10),
		},
		Env: []string{
			s.cfg.StateEnvName + "=" + s.cfg.StateMountPath,
			"STORAGE_PATH=" + s.cfg.StateMountPath,
			"GAME_ID=" + gameID,
		},
		NanoCPUs: p.limits.NanoCPUs, MemoryBytes: p.limits.MemoryBytes, PidsLimit: p.limits.PidsLimit,
		HostStatePath: p.statePath, StateMountPath: s.cfg.StateMountPath,
		LogDriver: s.cfg.LogDriver, LogOptions: s.cfg.LogOptions, Node: p.node,
	}
	for k, v := range s.cfg.ExtraLabels {
		if _, taken := spec.Labels[k]; !taken {
			spec.Labels[k] = v
		}
	}
	return spec
}

// createAndStart creates and starts the container under the per-host bound on
// concurrent Docker starts. The name being taken means a leftover container
// of the game: an owned one is removed and the create retried once (the
// common fresh start so costs no extra Docker call). A container that was
// created but failed to start is removed again.
func (s *Service) createAndStart(ctx context.Context, o *op, spec ports.ContainerSpec) (string, error) {
	s.starts <- struct{}{}
	defer func() { <-s.starts }()
	id, err := s.d.Docker.CreateContainer(ctx, spec)
	if errors.Is(err, ports.ErrConflict) {
		if err := s.removeOwnedByName(ctx, spec.Name, domain.CodeContainerStartFailed); err != nil {
			return "", err
		}
		id, err = s.d.Docker.CreateContainer(ctx, spec)
	}
	if err != nil {
		return "", dockerErr(domain.CodeContainerStartFailed, "create container", err)
	}
	if err := s.d.Docker.StartContainer(ctx, id); err != nil {
		s.discard(ctx, o, id)
		return "", dockerErr(domain.CodeContainerStartFailed, "start container", err)
	}
	return id, nil
}

// discard force-removes a container this operation made but cannot use or
// record: a running engine nobody knows about is worse than a failed start.
func (s *Service) discard(ctx context.Context, o *op, id string) {
	if err := s.d.Docker.RemoveContainer(ctx, id); err != nil && !errors.Is(err, ports.ErrNotFound) {
		o.log.Error("remove a container this operation cannot keep", "container_id", id, "err", err)
	}
}

// removeOwnedByName removes an earlier container of this game that is ours; a
// container with the game's name that is not (another owner, or another
// deployment of RTM on the same host, contract §3) is never touched and makes
// the operation a conflict. Other Docker failures get code.
func (s *Service) removeOwnedByName(ctx context.Context, name string, code domain.ErrorCode) error {
	c, err := s.d.Docker.InspectContainer(ctx, name)
	if errors.Is(err, ports.ErrNotFound) {
		return nil
	}
	if err != nil {
		return dockerErr(code, "inspect container "+name, err)
	}
	if !c.OwnedBy(s.cfg.Deployment) {
		return domain.Errorf(domain.CodeConflict, "container %s exists and is not ours (owner %q, deployment %q; ours is %q); it is left alone",
			name, c.Labels[ports.LabelOwner], c.Labels[ports.LabelDeployment], s.cfg.Deployment)
	}
	if err := s.d.Docker.RemoveContainer(ctx, c.ID); err != nil && !errors.Is(err, ports.ErrNotFound) {
		return dockerErr(code, "remove container "+name, err)
	}
	return nil
}

// removeContainer removes the record's container; one already gone is fine.
// Without a container id it falls back to the game's container name, and then
// removes only a container that is ours (invariant 3).
func (s *Service) removeContainer(ctx context.Context, rec domain.Record, code domain.ErrorCode) error {
	id := rec.CurrentContainerID
	if id == "" {
		return s.removeOwnedByName(ctx, domain.ContainerName(rec.GameID), code)
	}
	if err := s.d.Docker.RemoveContainer(ctx, id); err != nil && !errors.Is(err, ports.ErrNotFound) {
		return dockerErr(code, "remove container", err)
	}
	return nil
}
