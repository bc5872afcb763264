package lifecycle

import (
	"context"
	"errors"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// record reads a game's record; found is false when there is none.
func (s *Service) record(ctx context.Context, gameID string) (rec domain.Record, found bool, err error) {
	rec, err = s.d.Records.Get(ctx, gameID)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return domain.Record{}, false, nil
	case err != nil:
		return domain.Record{}, false, storeErr("read runtime record", err)
	}
	return rec, true, nil
}

// existing reads the record an operation needs: none is not_found.
func (s *Service) existing(ctx context.Context, gameID string) (domain.Record, error) {
	rec, found, err := s.record(ctx, gameID)
	if err == nil && !found {
		err = domain.Errorf(domain.CodeNotFound, "%s", domain.NoRuntimeMessage(gameID))
	}
	return rec, err
}

// nameFree refuses a new game whose id differs only in letter case from a
// recorded one: DNS does not tell galaxy-game-Abc from galaxy-game-abc, so
// the two engines could not be told apart on the network. Records are never
// deleted, so such a name stays taken.
func (s *Service) nameFree(ctx context.Context, gameID string) error {
	other, err := s.d.Records.OtherCaseOf(ctx, gameID)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return nil
	case err != nil:
		return storeErr("look for a game id differing only in case", err)
	}
	return domain.Errorf(domain.CodeConflict,
		"game id %s differs only in letter case from the existing game %s; engine names on the network ignore case", gameID, other)
}

// setStatus is every status compare-and-swap of the lifecycle. The domain's
// transition rule is applied here, before the store is asked: a pair outside
// the table is a fault of this package, not a state of the world.
func (s *Service) setStatus(ctx context.Context, u ports.StatusUpdate) (domain.Record, error) {
	if err := domain.Transition(u.From, u.To); err != nil {
		return domain.Record{}, err
	}
	return s.d.Records.UpdateStatus(ctx, u)
}

func (s *Service) newRecord(gameID string, st domain.Status, containerID string, p plan, at time.Time) domain.Record {
	return domain.Record{
		GameID: gameID, Status: st, CurrentContainerID: containerID, CurrentImageRef: p.imageRef,
		EngineEndpoint: domain.EngineEndpoint(gameID), StatePath: p.statePath, DockerNetwork: s.cfg.Network,
		EngineNode: p.node, LastOpAt: at, CreatedAt: at,
	}
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
	return s.setStatus(ctx, ports.StatusUpdate{
		GameID: rec.GameID, From: domain.StatusStopped, To: domain.StatusRunning,
		ExpectedContainerID: prev.CurrentContainerID,
		ContainerID:         rec.CurrentContainerID, ImageRef: rec.CurrentImageRef, At: *rec.StartedAt,
	})
}
