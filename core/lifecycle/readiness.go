package lifecycle

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
)

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

// engineAddress is where RTM itself reaches the engine (contract §7, engine
// address); engine_endpoint itself never changes.
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
