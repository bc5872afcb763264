package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/limits"
	"github.com/galaxy/rtmanager/ports"
)

// Start runs a game's engine from the caller's image_ref (SPEC §4 Start).
func (s *Service) Start(ctx context.Context, in StartInput) domain.Result {
	ctx = detach(ctx)
	o := s.newOp(domain.OpStart, in.GameID, in.ImageRef, in.Meta)
	if err := domain.ValidateGameID(in.GameID); err != nil {
		return s.finish(ctx, o, invalid("%v", err))
	}
	if in.ImageRef == "" {
		return s.finish(ctx, o, invalid("image_ref is required"))
	}
	return s.withLease(ctx, o, func() domain.Result {
		rec, found, fail := s.getRecord(ctx, in.GameID)
		if fail != nil {
			return s.finish(ctx, o, *fail)
		}
		var prev *domain.Record
		if found {
			prev = &rec
		}
		return s.finish(ctx, o, s.runStart(ctx, o, prev))
	})
}

// runStart is the lease-free start: replay and conflict rules, pre-flight, launch.
func (s *Service) runStart(ctx context.Context, o *op, prev *domain.Record) domain.Result {
	if prev != nil && prev.Status == domain.StatusRunning {
		if prev.CurrentImageRef == o.imageRef {
			return domain.Success(*prev, domain.CodeReplayNoOp)
		}
		return domain.Failure(domain.CodeConflict,
			fmt.Sprintf("game is running %s; stop it or patch it first", prev.CurrentImageRef))
	}
	s.lobbyDiagnostics(o.gameID, o.log)
	p, fail := s.prepare(ctx, o.gameID, o.imageRef)
	if fail != nil {
		return *fail
	}
	return s.launch(ctx, o, p, prev)
}

// plan is everything a launch needs, settled before any container is touched.
type plan struct {
	imageRef  string
	statePath string
	limits    limits.Limits
}

// prepare does the pre-flight of a start: reference, allow-list, network, state
// directory, image presence per pull policy and limit labels. Patch runs it
// before stopping the old engine so a bad new image never takes a game down.
func (s *Service) prepare(ctx context.Context, gameID, imageRef string) (plan, *domain.Result) {
	fail := func(r domain.Result) (plan, *domain.Result) { return plan{}, &r }
	ref, err := domain.ParseImageRef(imageRef)
	if err != nil {
		return fail(domain.Failure(domain.CodeStartConfigInvalid, err.Error()))
	}
	if !ref.AllowedBy(s.cfg.AllowedPrefixes) {
		return fail(domain.Failure(domain.CodeStartConfigInvalid,
			fmt.Sprintf("image %s is outside the allowed prefixes", imageRef)))
	}
	ok, err := s.d.Docker.NetworkExists(ctx, s.cfg.Network)
	if err != nil {
		return fail(dockerFailure(domain.CodeStartConfigInvalid, "check network", err))
	}
	if !ok {
		return fail(domain.Failure(domain.CodeStartConfigInvalid,
			fmt.Sprintf("docker network %q does not exist", s.cfg.Network)))
	}
	statePath, err := s.ensureStateDir(gameID)
	if err != nil {
		return fail(domain.Failure(domain.CodeStartConfigInvalid, "state directory: "+err.Error()))
	}
	img, failure := s.ensureImage(ctx, imageRef)
	if failure != nil {
		return fail(*failure)
	}
	lim, err := limits.FromLabels(img.Labels, s.cfg.DefaultLimits)
	if err != nil {
		return fail(domain.Failure(domain.CodeStartConfigInvalid, err.Error()))
	}
	return plan{imageRef: imageRef, statePath: statePath, limits: lim}, nil
}

// ensureStateDir creates <root>/<game_id> with the configured mode and owner
// and proves it writable. It never removes anything (invariant 2).
func (s *Service) ensureStateDir(gameID string) (string, error) {
	path := filepath.Join(s.cfg.StateRoot, gameID)
	if err := os.MkdirAll(path, s.cfg.StateDirMode); err != nil {
		return "", err
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if st.Mode().Perm() != s.cfg.StateDirMode.Perm() {
		if err := os.Chmod(path, s.cfg.StateDirMode); err != nil {
			return "", err
		}
	}
	if err := chownIfNeeded(st, path, s.cfg.StateOwnerUID, s.cfg.StateOwnerGID); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(path, ".rtmanager-write-check-*")
	if err != nil {
		return "", fmt.Errorf("not writable: %w", err)
	}
	name := f.Name()
	_ = f.Close()
	return path, os.Remove(name)
}

// ensureImage makes the image present according to the pull policy and
// returns its labels.
func (s *Service) ensureImage(ctx context.Context, ref string) (ports.ImageInfo, *domain.Result) {
	fail := func(r domain.Result) (ports.ImageInfo, *domain.Result) { return ports.ImageInfo{}, &r }
	if s.cfg.PullPolicy == domain.PullAlways {
		if err := s.d.Docker.PullImage(ctx, ref); err != nil {
			return fail(dockerFailure(domain.CodeImagePullFailed, "pull "+ref, err))
		}
	}
	info, err := s.d.Docker.ImageInspect(ctx, ref)
	if errors.Is(err, ports.ErrNotFound) && s.cfg.PullPolicy == domain.PullIfMissing {
		if err := s.d.Docker.PullImage(ctx, ref); err != nil {
			return fail(dockerFailure(domain.CodeImagePullFailed, "pull "+ref, err))
		}
		info, err = s.d.Docker.ImageInspect(ctx, ref)
	}
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return fail(domain.Failure(domain.CodeImagePullFailed,
			fmt.Sprintf("image %s is not present (pull policy %s)", ref, s.cfg.PullPolicy)))
	case err != nil:
		return fail(dockerFailure(domain.CodeImagePullFailed, "inspect image "+ref, err))
	}
	return info, nil
}

// launch replaces any leftover container of the game with a new one, waits
// for the engine to be ready and installs the record. On failure no container
// is left running, and none is left unrecorded. prev is the record as read
// under the lease; every record write is conditional on it still being so.
func (s *Service) launch(ctx context.Context, o *op, p plan, prev *domain.Record) domain.Result {
	if o.leaseLost() {
		return errLeaseLost()
	}
	name := domain.ContainerName(o.gameID)
	now := s.d.Clock.Now()
	spec := ports.ContainerSpec{
		Name:    name,
		Image:   p.imageRef,
		Network: s.cfg.Network,
		Labels: map[string]string{
			ports.LabelOwner:       ports.OwnerValue,
			ports.LabelKind:        ports.KindValue,
			ports.LabelGameID:      o.gameID,
			ports.LabelImageRef:    p.imageRef,
			ports.LabelStartedAtMs: strconv.FormatInt(now.UnixMilli(), 10),
		},
		Env: []string{
			s.cfg.StateEnvName + "=" + s.cfg.StateMountPath,
			"STORAGE_PATH=" + s.cfg.StateMountPath,
			"GAME_ID=" + o.gameID,
		},
		NanoCPUs: p.limits.NanoCPUs, MemoryBytes: p.limits.MemoryBytes, PidsLimit: p.limits.PidsLimit,
		HostStatePath: p.statePath, StateMountPath: s.cfg.StateMountPath,
		LogDriver: s.cfg.LogDriver, LogOptions: s.cfg.LogOptions,
	}
	for k, v := range s.cfg.ExtraLabels {
		if _, taken := spec.Labels[k]; !taken {
			spec.Labels[k] = v
		}
	}
	id, fail := s.createAndStart(ctx, spec)
	if fail != nil {
		return *fail
	}
	o.containerID = id

	if err := s.awaitReady(ctx, o.gameID, id); err != nil {
		return s.parkNotReady(ctx, o, p, prev, id, err)
	}

	// A running engine nobody knows about is worse than a failed start: one
	// that cannot be recorded is removed again.
	unrecorded := func(r domain.Result) domain.Result {
		s.discard(ctx, o, id)
		r.ContainerID = id
		return r
	}
	if o.leaseLost() {
		return unrecorded(errLeaseLost())
	}
	rec := s.newRecord(o.gameID, domain.StatusRunning, id, p.imageRef, p.statePath, now)
	rec.StartedAt = &now
	stored, err := s.installRunning(ctx, prev, rec)
	if err != nil {
		return unrecorded(domain.Failure(domain.CodeContainerStartFailed, "store runtime record: "+err.Error()))
	}
	return domain.Success(stored, domain.CodeNone)
}

// discard force-removes a container this operation made but cannot record.
func (s *Service) discard(ctx context.Context, o *op, id string) {
	if err := s.d.Docker.RemoveContainer(ctx, id); err != nil && !errors.Is(err, ports.ErrNotFound) {
		o.log.Error("remove a container that cannot be recorded", "container_id", id, "err", err)
	}
}

// parkNotReady stops an engine that never became ready, keeps its container
// for inspection and records the game as stopped. An engine that cannot be
// stopped is removed instead, so it never runs unrecorded.
func (s *Service) parkNotReady(ctx context.Context, o *op, p plan, prev *domain.Record, id string, cause error) domain.Result {
	r := domain.Failure(domain.CodeContainerStartFailed, "engine not ready: "+cause.Error())
	r.ContainerID = id
	if err := s.d.Docker.StopContainer(ctx, id, s.cfg.StopTimeout); err != nil && !errors.Is(err, ports.ErrNotFound) {
		o.log.Error("stop engine that never got ready; removing it", "container_id", id, "err", err)
		s.discard(ctx, o, id)
	}
	if o.leaseLost() {
		return r
	}
	now := s.d.Clock.Now()
	rec := s.newRecord(o.gameID, domain.StatusStopped, id, p.imageRef, p.statePath, now)
	rec.StoppedAt = &now
	stored, err := s.d.Records.UpsertIf(ctx, rec, expectation(prev))
	if err != nil {
		o.log.Error("store stopped record after failed readiness", "err", err)
		return r
	}
	r.Record = &stored
	return r
}

// expectation is what the stored record must still be for a launch to
// overwrite it: what was read under the lease, or — when there was none — a
// removed record at most (an insert needs no condition).
func expectation(prev *domain.Record) ports.RecordCondition {
	if prev == nil {
		return ports.RecordCondition{Status: domain.StatusRemoved}
	}
	return ports.RecordCondition{Status: prev.Status, ContainerID: prev.CurrentContainerID}
}

// installRunning writes the running record: the stopped → running
// compare-and-swap over a stopped record, a conditional upsert otherwise (no
// record yet, or a removed one starting a new lifetime).
func (s *Service) installRunning(ctx context.Context, prev *domain.Record, rec domain.Record) (domain.Record, error) {
	if prev == nil || prev.Status == domain.StatusRemoved {
		return s.d.Records.UpsertIf(ctx, rec, expectation(prev))
	}
	return s.d.Records.UpdateStatus(ctx, ports.StatusUpdate{
		GameID: rec.GameID, From: domain.StatusStopped, To: domain.StatusRunning,
		ExpectedContainerID: prev.CurrentContainerID,
		ContainerID:         rec.CurrentContainerID, ImageRef: rec.CurrentImageRef, At: *rec.StartedAt,
	})
}

func (s *Service) newRecord(gameID string, st domain.Status, containerID, imageRef, statePath string, at time.Time) domain.Record {
	return domain.Record{
		GameID: gameID, Status: st, CurrentContainerID: containerID, CurrentImageRef: imageRef,
		EngineEndpoint: domain.EngineEndpoint(gameID), StatePath: statePath, DockerNetwork: s.cfg.Network,
		LastOpAt: at, CreatedAt: at,
	}
}

// removeOwnedByName removes an earlier container of this game that RTM owns; a
// container with the game's name but without the owner label is never touched
// and makes the operation a conflict. Other Docker failures get code.
func (s *Service) removeOwnedByName(ctx context.Context, name string, code domain.ErrorCode) *domain.Result {
	c, err := s.d.Docker.InspectContainer(ctx, name)
	if errors.Is(err, ports.ErrNotFound) {
		return nil
	}
	if err != nil {
		r := dockerFailure(code, "inspect container "+name, err)
		return &r
	}
	if !c.Owned() {
		r := domain.Failure(domain.CodeConflict,
			fmt.Sprintf("container %s exists and is not owned by rtmanager; it is left alone", name))
		return &r
	}
	if err := s.d.Docker.RemoveContainer(ctx, c.ID); err != nil && !errors.Is(err, ports.ErrNotFound) {
		r := dockerFailure(code, "remove container "+name, err)
		return &r
	}
	return nil
}

// createAndStart creates and starts the container under the per-host bound on
// concurrent Docker starts. The name being taken means a leftover container
// of the game: an owned one is removed and the create retried once (the
// common fresh start so costs no extra Docker call). A container that was
// created but failed to start is removed again.
func (s *Service) createAndStart(ctx context.Context, spec ports.ContainerSpec) (string, *domain.Result) {
	s.starts <- struct{}{}
	defer func() { <-s.starts }()
	id, err := s.d.Docker.CreateContainer(ctx, spec)
	if errors.Is(err, ports.ErrConflict) {
		if fail := s.removeOwnedByName(ctx, spec.Name, domain.CodeContainerStartFailed); fail != nil {
			return "", fail
		}
		id, err = s.d.Docker.CreateContainer(ctx, spec)
	}
	if err != nil {
		r := dockerFailure(domain.CodeContainerStartFailed, "create container", err)
		return "", &r
	}
	if err := s.d.Docker.StartContainer(ctx, id); err != nil {
		if rmErr := s.d.Docker.RemoveContainer(ctx, id); rmErr != nil && !errors.Is(rmErr, ports.ErrNotFound) {
			s.d.Logger.Error("remove container that failed to start", "container_id", id, "err", rmErr)
		}
		r := dockerFailure(domain.CodeContainerStartFailed, "start container", err)
		return "", &r
	}
	return id, nil
}

// Readiness-gate backoff: a fast engine costs a few milliseconds, a slow one
// is polled at most five times a second.
const (
	readyFirstDelay = 5 * time.Millisecond
	readyMaxDelay   = 200 * time.Millisecond
	// readyExitCheck: every this many failed probes, check that the container
	// still runs, so an engine that crashed at boot fails fast.
	readyExitCheck = 5
)

// awaitReady polls the engine's /healthz until it answers 200 or the ready
// timeout passes.
func (s *Service) awaitReady(ctx context.Context, gameID, containerID string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ReadyTimeout)
	defer cancel()
	base, err := s.engineAddress(ctx, gameID, containerID)
	if err != nil {
		return err
	}
	delay := readyFirstDelay
	var lastErr error
	for attempt := 1; ; attempt++ {
		// The prober bounds each probe by RTMANAGER_PROBE_TIMEOUT.
		lastErr = s.d.Prober.Healthz(ctx, base)
		if lastErr == nil {
			return nil
		}
		if attempt%readyExitCheck == 0 {
			if c, err := s.d.Docker.InspectContainer(ctx, containerID); err == nil && !c.Running {
				return fmt.Errorf("engine exited with code %d before getting ready", c.ExitCode)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no 200 from %s/healthz within %s: %v", base, s.cfg.ReadyTimeout, lastErr)
		case <-time.After(delay):
		}
		delay = min(delay*2, readyMaxDelay)
	}
}

// engineAddress is where RTM itself reaches the engine (SPEC §7 engine address).
func (s *Service) engineAddress(ctx context.Context, gameID, containerID string) (string, error) {
	if s.cfg.EngineAddress != AddressContainerIP {
		return domain.EngineEndpoint(gameID), nil
	}
	c, err := s.d.Docker.InspectContainer(ctx, containerID)
	if err != nil {
		return "", fmt.Errorf("inspect for address: %w", err)
	}
	ip := c.NetworkIPs[s.cfg.Network]
	if ip == "" {
		return "", fmt.Errorf("container has no address on network %s", s.cfg.Network)
	}
	return "http://" + ip + ":" + strconv.Itoa(domain.EnginePort), nil
}

// lobbyDiagnostics asks Game Lobby about the game, for the log only; it runs
// beside the start and its failure never fails the start.
func (s *Service) lobbyDiagnostics(gameID string, log *slog.Logger) {
	if s.d.Lobby == nil {
		return
	}
	go func() {
		game, err := s.d.Lobby.GetGame(context.Background(), gameID)
		if err != nil {
			log.Info("lobby diagnostics unavailable", "err", err)
			return
		}
		log.Debug("lobby view of the game", "lobby_game", game)
	}()
}
