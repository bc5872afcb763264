// Package bench compares a REST start of the whole service with the bare
// Docker SDK doing the same container work, in the same run (issue 3, ratio
// target ≤ 1.15).
package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"

	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/test/harness"
)

const image = "galaxy/game:1.0.0"

// BenchmarkStartVsBareSDK alternates the two measurements so drift of the
// daemon affects both alike, and reports their medians and ratio.
// Run with -benchtime 1x: one run takes max(b.N, 20) samples of each.
func BenchmarkStartVsBareSDK(b *testing.B) {
	s := harness.Start(b, harness.Options{NoContract: true})
	samples := max(b.N, 20)
	const warmup = 2
	var rest, bare []time.Duration
	for i := range samples + warmup {
		r := restStart(b, s)
		d := bareStart(b, s)
		if i >= warmup {
			rest = append(rest, r)
			bare = append(bare, d)
		}
	}
	mr, mb := median(rest), median(bare)
	ratio := float64(mr) / float64(mb)
	b.ReportMetric(ms(mr), "rest-median-ms")
	b.ReportMetric(ms(mb), "sdk-median-ms")
	b.ReportMetric(ratio, "ratio")
	fmt.Printf("\nREST start median %.1f ms | bare SDK create+start+ready median %.1f ms | ratio %.3f (n=%d each, target ≤ 1.15)\n",
		ms(mr), ms(mb), ratio, len(rest))
}

// restStart times POST /start of a fresh game (image present, engine ready).
func restStart(b *testing.B, s *harness.Service) time.Duration {
	id := s.GameID("bench")
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/internal/runtimes/"+id+"/start",
		strings.NewReader(`{"image_ref":"`+image+`"}`))
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	resp, err := s.HTTP.Do(req)
	took := time.Since(t0)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("start: %d", resp.StatusCode)
	}
	for _, c := range s.Containers(id) {
		remove(b, s, c.ID)
	}
	return took
}

// bareStart times what the service's start fundamentally needs from Docker:
// create and start the same image on the same network with the same mount,
// then poll /healthz until 200 exactly as the readiness gate does.
func bareStart(b *testing.B, s *harness.Service) time.Duration {
	name := "bench-bare-" + testenv.UniqueName("sdk")
	state := filepath.Join(b.TempDir(), "state")
	if err := os.MkdirAll(state, 0o750); err != nil {
		b.Fatal(err)
	}
	pids := int64(64)
	ctx := context.Background()
	t0 := time.Now()
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
	if err != nil {
		b.Fatal(err)
	}
	defer remove(b, s, created.ID)
	if err := s.Docker.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		b.Fatal(err)
	}
	info, err := s.Docker.ContainerInspect(ctx, created.ID)
	if err != nil {
		b.Fatal(err)
	}
	url := "http://" + info.NetworkSettings.Networks[s.Config.DockerNetwork].IPAddress + ":8080/healthz"
	client := &http.Client{Timeout: 2 * time.Second}
	for delay := 5 * time.Millisecond; ; delay = min(delay*2, 200*time.Millisecond) {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Since(t0) > 30*time.Second {
			b.Fatal("bare engine never got ready")
		}
		time.Sleep(delay)
	}
	return time.Since(t0)
}

func remove(b *testing.B, s *harness.Service, id string) {
	if err := s.Docker.ContainerRemove(context.Background(), id, container.RemoveOptions{Force: true}); err != nil {
		b.Errorf("remove %s: %v", id, err)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
