package lifecycle

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
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
	base, err := s.EngineAddresses().Of(ctx, domain.EngineEndpoint(gameID), containerID)
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

// EngineAddresses says where RTM itself reaches an engine (contract §7,
// engine address): the readiness gate and the probe worker share it.
type EngineAddresses struct {
	Mode    EngineAddressMode
	Network string
	Docker  ports.Docker
}

// EngineAddresses is how this service reaches engines.
func (s *Service) EngineAddresses() EngineAddresses {
	return EngineAddresses{Mode: s.cfg.EngineAddress, Network: s.cfg.Network, Docker: s.d.Docker}
}

// Of is the base URL of the engine at endpoint (its engine_endpoint) in
// container containerID: the endpoint itself, or the container's IP on the
// network (container_ip). engine_endpoint itself never changes.
func (a EngineAddresses) Of(ctx context.Context, endpoint, containerID string) (string, error) {
	if a.Mode != AddressContainerIP {
		return endpoint, nil
	}
	c, err := a.Docker.InspectContainer(ctx, containerID)
	if err != nil {
		return "", fmt.Errorf("inspect for address: %w", err)
	}
	ip := c.NetworkIPs[a.Network]
	if ip == "" {
		return "", fmt.Errorf("container has no address on network %s", a.Network)
	}
	return "http://" + ip + ":" + strconv.Itoa(domain.EnginePort), nil
}
