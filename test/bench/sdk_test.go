package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
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

// sdkShape is how a burst of bare launches runs: par launches in flight, and
// at most gate of them in create+start (0: no such bound).
type sdkShape struct{ par, gate int }

func (sh sdkShape) String() string {
	if sh.gate > 0 {
		return fmt.Sprintf("%d/%d", sh.par, sh.gate)
	}
	return fmt.Sprint(sh.par)
}

// bareBurst launches n bare engines shaped by sh and returns the time from
// the start of the burst until the last engine was ready. The containers are
// removed afterwards, untimed.
func bareBurst(b *testing.B, s *harness.Service, n int, sh sdkShape) time.Duration {
	base := b.TempDir()
	var starts chan struct{}
	if sh.gate > 0 {
		starts = make(chan struct{}, sh.gate)
	}
	ids := make([]string, n)
	errs := make([]error, n)
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	t0 := time.Now()
	for range sh.par {
		wg.Go(func() {
			for i := range next {
				state := filepath.Join(base, fmt.Sprint(i))
				if errs[i] = os.Mkdir(state, 0o750); errs[i] == nil {
					ids[i], errs[i] = bareLaunch(context.Background(), s, state, starts)
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(t0)
	removeAll(b, s, ids)
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return took
}

func remove(b *testing.B, s *harness.Service, id string) {
	if err := s.Docker.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true}); err != nil {
		b.Errorf("remove %s: %v", id, err)
	}
}

// removeAll force-removes containers a few at a time; empty ids are skipped.
func removeAll(b *testing.B, s *harness.Service, ids []string) {
	next := make(chan string, len(ids))
	for _, id := range ids {
		if id != "" {
			next <- id
		}
	}
	close(next)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for id := range next {
				remove(b, s, id)
			}
		})
	}
	wg.Wait()
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
