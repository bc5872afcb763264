package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"

	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/test/harness"
)

// The bare Docker SDK baseline: what the service's start fundamentally needs
// from Docker, with nothing of the service around it.

// bareReadyTimeout bounds one bare engine's wait for /healthz.
const bareReadyTimeout = 30 * time.Second

var bareHTTP = &http.Client{Timeout: 2 * time.Second}

// bareStart times one bare launch and removes its container afterwards,
// untimed.
func bareStart(b *testing.B, s *harness.Service) time.Duration {
	state := filepath.Join(b.TempDir(), "state")
	if err := os.MkdirAll(state, 0o750); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	id, err := bareLaunch(context.Background(), s, state, nil)
	took := time.Since(t0)
	if id != "" {
		defer remove(b, s, id)
	}
	if err != nil {
		b.Fatal(err)
	}
	return took
}

// bareLaunch creates and starts the service's image on the same network with
// the same mount (state, an existing directory) and limits, then polls
// /healthz until 200 exactly as the readiness gate does. When starts is not
// nil, create+start run holding one of its slots, as the service bounds them
// per host. It returns the container's id whenever one was created, also with
// an error, so the caller can remove it. It never fails the benchmark itself,
// so any goroutine may call it.
func bareLaunch(ctx context.Context, s *harness.Service, state string, starts chan struct{}) (string, error) {
	name := "bench-bare-" + testenv.UniqueName("sdk")
	pids := int64(64)
	if starts != nil {
		starts <- struct{}{}
	}
	created, err := s.Docker.ContainerCreate(ctx,
		&container.Config{Image: image, Hostname: name, Env: []string{"GAME_STATE_PATH=/var/lib/galaxy-game"},
			Labels: map[string]string{testenv.RunLabel: testenv.RunID()}},
		&container.HostConfig{
			Mounts:        []mount.Mount{{Type: mount.TypeBind, Source: state, Target: "/var/lib/galaxy-game"}},
			Resources:     container.Resources{NanoCPUs: 5e8, Memory: 64 << 20, MemorySwap: 64 << 20, PidsLimit: &pids},
			SecurityOpt:   []string{"no-new-privileges"},
			CapDrop:       []string{"ALL"},
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{s.Config.DockerNetwork: {}}},
		nil, name)
	if err == nil {
		err = s.Docker.ContainerStart(ctx, created.ID, container.StartOptions{})
	}
	if starts != nil {
		<-starts
	}
	if err != nil {
		return created.ID, fmt.Errorf("bare create+start: %w", err)
	}
	info, err := s.Docker.ContainerInspect(ctx, created.ID)
	if err != nil {
		return created.ID, fmt.Errorf("bare inspect: %w", err)
	}
	url := "http://" + info.NetworkSettings.Networks[s.Config.DockerNetwork].IPAddress + ":8080/healthz"
	t0 := time.Now()
	for delay := 5 * time.Millisecond; ; delay = min(delay*2, 200*time.Millisecond) {
		resp, err := bareHTTP.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return created.ID, nil
			}
		}
		if time.Since(t0) > bareReadyTimeout {
			return created.ID, fmt.Errorf("bare engine %s never got ready", name)
		}
		time.Sleep(delay)
	}
}

func remove(b *testing.B, s *harness.Service, id string) {
	if err := s.Docker.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true}); err != nil {
		b.Errorf("remove %s: %v", id, err)
	}
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
