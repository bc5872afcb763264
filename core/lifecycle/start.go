package lifecycle

import (
	"context"
	"errors"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// Start runs a game's engine from the caller's image_ref (contract §4, Start).
func (s *Service) Start(ctx context.Context, in StartInput) domain.Result {
	req := request{kind: domain.OpStart, gameID: in.GameID, imageRef: in.ImageRef, meta: in.Meta,
		check: func(*op) error {
			if in.ImageRef == "" {
				return invalid("image_ref is required")
			}
			return nil
		}}
	return s.perform(ctx, req, func(ctx context.Context, o *op) (done, error) {
		rec, found, err := s.record(ctx, o.gameID)
		if err != nil {
			return done{}, err
		}
		if !found {
			return s.runStart(ctx, o, nil)
		}
		return s.runStart(ctx, o, &rec)
	})
}

// runStart is the lease-free start: replay and conflict rules, pre-flight, launch.
func (s *Service) runStart(ctx context.Context, o *op, prev *domain.Record) (done, error) {
	switch {
	case prev == nil:
		if err := s.nameFree(ctx, o.gameID); err != nil {
			return done{}, err
		}
	case prev.Status == domain.StatusRunning && prev.CurrentImageRef == o.imageRef:
		return replayed(*prev), nil
	case prev.Status == domain.StatusRunning:
		return done{}, domain.Errorf(domain.CodeConflict, "game is running %s; stop it or patch it first", prev.CurrentImageRef)
	}
	s.lobbyDiagnostics(o)
	pinned := ""
	if prev != nil {
		pinned = prev.EngineNode
	}
	p, err := s.prepare(ctx, o, o.imageRef, pinned)
	if err != nil {
		return done{}, err
	}
	return s.launch(ctx, o, p, prev)
}

// launch replaces any leftover container of the game with a new one, waits
// for the engine to be ready and installs the record. On failure no container
// is left running, and none is left unrecorded. prev is the record as read
// under the lease; every record write is conditional on it still being so.
func (s *Service) launch(ctx context.Context, o *op, p plan, prev *domain.Record) (done, error) {
	if o.leaseLost() {
		s.dropNewStateDir(ctx, o, p)
		return done{}, errLeaseLost
	}
	now := s.d.Clock.Now()
	id, err := s.createAndStart(ctx, o, s.containerSpec(o.gameID, p, now))
	if err != nil {
		s.dropNewStateDir(ctx, o, p)
		return done{}, err
	}
	o.containerID = id
	if err := s.awaitReady(ctx, o.gameID, id); err != nil {
		return s.parkNotReady(ctx, o, p, prev, id, err)
	}
	if o.leaseLost() {
		return done{}, s.unrecorded(ctx, o, p, id, errLeaseLost)
	}
	rec := s.newRecord(o.gameID, domain.StatusRunning, id, p, now)
	rec.StartedAt = &now
	stored, err := s.installRunning(ctx, prev, rec)
	if err != nil {
		return done{}, s.unrecorded(ctx, o, p, id,
			domain.Errorf(domain.CodeContainerStartFailed, "store runtime record: %v", err))
	}
	return applied(stored), nil
}

// unrecorded undoes a launch whose engine runs but cannot be recorded: the
// container goes again (and a state directory this attempt made, if empty).
func (s *Service) unrecorded(ctx context.Context, o *op, p plan, id string, cause error) error {
	s.discard(ctx, o, id)
	s.dropNewStateDir(ctx, o, p)
	return cause
}

// parkNotReady stops an engine that never became ready, keeps its container
// for inspection and records the game as stopped. An engine that cannot be
// stopped is removed instead, so it never runs unrecorded.
func (s *Service) parkNotReady(ctx context.Context, o *op, p plan, prev *domain.Record, id string, cause error) (done, error) {
	failed := domain.Errorf(domain.CodeContainerStartFailed, "engine not ready: %v", cause)
	if err := s.d.Docker.StopContainer(ctx, id, s.cfg.StopTimeout); err != nil && !errors.Is(err, ports.ErrNotFound) {
		o.log.Error("stop engine that never got ready; removing it", "container_id", id, "err", err)
		s.discard(ctx, o, id)
	}
	if o.leaseLost() {
		return done{}, failed
	}
	now := s.d.Clock.Now()
	rec := s.newRecord(o.gameID, domain.StatusStopped, id, p, now)
	rec.StoppedAt = &now
	stored, err := s.d.Records.UpsertIf(ctx, rec, expectation(prev))
	if err != nil {
		o.log.Error("store stopped record after failed readiness", "err", err)
		return done{}, failed
	}
	return done{rec: &stored}, failed
}

// lobbyDiagnostics asks Game Lobby about the game, for the log only; it runs
// beside the start and its failure never fails the start.
func (s *Service) lobbyDiagnostics(o *op) {
	if s.d.Lobby == nil {
		return
	}
	go func() {
		game, err := s.d.Lobby.GetGame(context.Background(), o.gameID)
		if err != nil {
			o.log.Info("lobby diagnostics unavailable", "err", err)
			return
		}
		o.log.Debug("lobby view of the game", "lobby_game", game)
	}()
}
