package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/core/lifecycle"
	"github.com/galaxy/rtmanager/core/limits"
	"github.com/galaxy/rtmanager/ports"
	"github.com/galaxy/rtmanager/ports/mocks"
)

func start(f *fixture, ref string) domain.Result {
	return f.svc().Start(ctx, lifecycle.StartInput{GameID: game, ImageRef: ref, Meta: meta})
}

// expectFreshStart scripts a start of ref on a game without a record, up to
// (not including) the record write.
func (f *fixture) expectFreshStart(ref, id string) *specs {
	f.expectLease()
	f.expectRecord(nil)
	f.expectPreflight(ref)
	return f.expectLaunch(id)
}

func TestStartFreshGameLaunchesTheEngineAndRecordsItRunning(t *testing.T) {
	f := newFixture(t)
	f.expectFreshStart(ref100, newCID)
	_, stored := f.expectUpsert(nil)
	f.expectStarted(newCID, ref100)

	res := start(f, ref100)

	wantResult(t, res, domain.CodeNone)
	if res.ContainerID != newCID || res.EngineEndpoint != endpoint {
		t.Errorf("result container/endpoint = %q/%q", res.ContainerID, res.EngineEndpoint)
	}
	wantRecord(t, "upserted record", stored, domain.StatusRunning, ref100, newCID)
	wantRecord(t, "result record", res.Record, domain.StatusRunning, ref100, newCID)
	if stored.StatePath != f.statePath() || stored.StartedAt == nil || !stored.StartedAt.Equal(t0) || !stored.LastOpAt.Equal(t0) {
		t.Errorf("upserted record paths/times = %+v", *stored)
	}
	f.wantRows(game, row{kind: domain.OpStart, image: ref100, container: newCID})
	f.wantIntents()

	if ensured, dropped := f.stateDirCalls(); ensured != 1 || len(dropped) != 0 {
		t.Errorf("state dir ensured %d times, taken back %v; want it ensured once and kept", ensured, dropped)
	}
}

func TestStartBuildsTheContractContainerSpec(t *testing.T) {
	f := newFixture(t)
	f.cfg.StateEnvName = "ENGINE_STATE_DIR"
	f.cfg.StateMountPath = "/data/state"
	specs := f.expectFreshStart(ref100, newCID)
	f.expectUpsert(nil)
	f.expectStarted(newCID, ref100)

	wantResult(t, start(f, ref100), domain.CodeNone)

	got := specs.last(t)
	want := ports.ContainerSpec{
		Name:    "galaxy-game-g-1",
		Image:   ref100,
		Network: network,
		Labels: map[string]string{
			"com.galaxy.owner":            "rtmanager",
			"com.galaxy.deployment":       deployment,
			"com.galaxy.kind":             "game-engine",
			"com.galaxy.game_id":          game,
			"com.galaxy.engine_image_ref": ref100,
			"com.galaxy.started_at_ms":    strconv.FormatInt(t0.UnixMilli(), 10),
		},
		Env:            []string{"ENGINE_STATE_DIR=/data/state", "GAME_ID=g-1", "STORAGE_PATH=/data/state"},
		NanoCPUs:       1e9,
		MemoryBytes:    512 << 20,
		PidsLimit:      512,
		HostStatePath:  f.statePath(),
		StateMountPath: "/data/state",
		LogDriver:      "json-file",
		LogOptions:     map[string]string{"max-size": "10m", "max-file": "3"},
	}
	slices.Sort(got.Env)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("container spec =\n%+v\nwant\n%+v", got, want)
	}
}

func TestStartOverARunningGame(t *testing.T) {
	for _, tc := range []struct {
		name    string
		running string
		code    domain.ErrorCode
	}{
		{"with the same image is a replay that touches no container", ref100, domain.CodeReplayNoOp},
		{"with another image is a conflict that touches no container", ref101, domain.CodeConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			prev := f.rec(domain.StatusRunning, tc.running, oldCID)
			f.expectRecord(&prev)

			res := start(f, ref100)

			wantResult(t, res, tc.code)
			if tc.code == domain.CodeReplayNoOp && (res.Record == nil || !reflect.DeepEqual(*res.Record, prev) || res.ContainerID != oldCID) {
				t.Errorf("replay result = %+v, want the running record unchanged", res)
			}
			container := "" // a refused start touched no container
			if tc.code == domain.CodeReplayNoOp {
				container = oldCID
			}
			f.wantRows(game, row{kind: domain.OpStart, code: tc.code, image: ref100, container: container})
			f.wantIntents()
		})
	}
}

func TestStartRefusesBadInputBeforeTakingTheLease(t *testing.T) {
	for _, tc := range []struct{ name, id, ref string }{
		{"empty game id", "", ref100},
		{"path traversal game id", "../x", ref100},
		{"game id with a space", "my game", ref100},
		{"64-character game id", strings.Repeat("a", 64), ref100},
		{"unicode game id", "игра", ref100},
		{"empty image ref", game, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t) // no lease, record or Docker call is expected

			res := f.svc().Start(ctx, lifecycle.StartInput{GameID: tc.id, ImageRef: tc.ref, Meta: meta})

			wantResult(t, res, domain.CodeInvalidRequest)
			f.wantRows(tc.id, row{kind: domain.OpStart, code: domain.CodeInvalidRequest, image: tc.ref})
			f.wantIntents()
		})
	}
}

func TestStartPreflightRefusalsAreStartConfigInvalidAndCreateNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ref   string
		setup func(f *fixture)
	}{
		{"reference without a tag", "galaxy/game", nil},
		{"malformed reference", "Galaxy/Game:1.0.0", nil},
		{"image outside the allow-list", ref100, func(f *fixture) {
			f.cfg.AllowedPrefixes = []string{"registry.example.com/galaxy", "galaxy/other"}
		}},
		{"network missing", ref100, func(f *fixture) {
			f.docker.EXPECT().NetworkExists(gomock.Any(), network).Return(false, nil)
		}},
		{"network check fails", ref100, func(f *fixture) {
			f.docker.EXPECT().NetworkExists(gomock.Any(), network).Return(false, errBoom)
		}},
		{"state directory unusable", ref100, func(f *fixture) {
			f.dirErr = errors.New("mkdir /srv/galaxy/games/g-1: not a directory")
			f.expectPreflight(ref100) // the state directory is the last pre-flight step
		}},
		{"no node may run the engine", ref100, func(f *fixture) {
			f.dirErr = fmt.Errorf("no node labelled com.galaxy.engine-host=true is ready: %w", ports.ErrNoEngineHost)
			f.expectPreflight(ref100)
		}},
		{"unparsable cpu label", ref100, func(f *fixture) {
			gomock.InOrder(f.expectNetwork(), f.expectImage(ref100, map[string]string{limits.LabelCPU: "lots"}))
		}},
		{"unparsable memory label", ref100, func(f *fixture) {
			gomock.InOrder(f.expectNetwork(), f.expectImage(ref100, map[string]string{limits.LabelMemory: "1k"}))
		}},
		{"unparsable pids label", ref100, func(f *fixture) {
			gomock.InOrder(f.expectNetwork(), f.expectImage(ref100, map[string]string{limits.LabelPids: "-1"}))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			f.expectRecord(nil)
			if tc.setup != nil {
				tc.setup(f)
			}

			res := start(f, tc.ref)

			wantResult(t, res, domain.CodeStartConfigInvalid)
			f.wantRows(game, row{kind: domain.OpStart, code: domain.CodeStartConfigInvalid, image: tc.ref})
			f.wantIntents(intentAt{0, domain.NotifyStartConfigInvalid})
		})
	}
}

func TestStartNetworkCheckWithTheDaemonDownIsDockerUnavailable(t *testing.T) {
	f := newFixture(t)
	f.expectLease()
	f.expectRecord(nil)
	f.docker.EXPECT().NetworkExists(gomock.Any(), network).Return(false, errDockerDown)

	wantResult(t, start(f, ref100), domain.CodeDockerUnavailable)
	f.wantRows(game, row{kind: domain.OpStart, code: domain.CodeDockerUnavailable, image: ref100})
	f.wantIntents()
	if ensured, _ := f.stateDirCalls(); ensured != 0 {
		t.Errorf("state dir ensured %d times although the start was refused first", ensured)
	}
}

func TestStartPullPolicies(t *testing.T) {
	absent := func(f *fixture) *gomock.Call {
		return f.docker.EXPECT().ImageInspect(gomock.Any(), ref100).Return(ports.ImageInfo{}, errNoContainer)
	}
	present := func(f *fixture) *gomock.Call { return f.expectImage(ref100, nil) }
	pull := func(f *fixture, err error) *gomock.Call {
		return f.docker.EXPECT().PullImage(gomock.Any(), ref100).Return(err)
	}
	for _, tc := range []struct {
		name   string
		policy domain.PullPolicy
		image  func(f *fixture)
		code   domain.ErrorCode
	}{
		{"if_missing uses a present image without pulling", domain.PullIfMissing,
			func(f *fixture) { present(f) }, domain.CodeNone},
		{"if_missing pulls an absent image, then inspects it", domain.PullIfMissing,
			func(f *fixture) { gomock.InOrder(absent(f), pull(f, nil), present(f)) }, domain.CodeNone},
		{"always pulls first, then inspects", domain.PullAlways,
			func(f *fixture) { gomock.InOrder(pull(f, nil), present(f)) }, domain.CodeNone},
		{"never uses a present image", domain.PullNever,
			func(f *fixture) { present(f) }, domain.CodeNone},
		{"never refuses an absent image without pulling", domain.PullNever,
			func(f *fixture) { absent(f) }, domain.CodeImagePullFailed},
		{"if_missing pull error", domain.PullIfMissing,
			func(f *fixture) { gomock.InOrder(absent(f), pull(f, errBoom)) }, domain.CodeImagePullFailed},
		{"if_missing image still absent after the pull", domain.PullIfMissing,
			func(f *fixture) { gomock.InOrder(absent(f), pull(f, nil), absent(f)) }, domain.CodeImagePullFailed},
		{"always pull error stops before inspecting", domain.PullAlways,
			func(f *fixture) { pull(f, errBoom) }, domain.CodeImagePullFailed},
		{"image inspect error", domain.PullNever,
			func(f *fixture) {
				f.docker.EXPECT().ImageInspect(gomock.Any(), ref100).Return(ports.ImageInfo{}, errBoom)
			},
			domain.CodeImagePullFailed},
		{"pull with the daemon down", domain.PullAlways,
			func(f *fixture) { pull(f, errDockerDown) }, domain.CodeDockerUnavailable},
		{"image inspect with the daemon down", domain.PullIfMissing,
			func(f *fixture) {
				f.docker.EXPECT().ImageInspect(gomock.Any(), ref100).Return(ports.ImageInfo{}, errDockerDown)
			}, domain.CodeDockerUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.cfg.PullPolicy = tc.policy
			f.expectLease()
			f.expectRecord(nil)
			f.expectNetwork()
			tc.image(f)
			container := ""
			if tc.code == domain.CodeNone {
				container = newCID
				f.expectLaunch(newCID)
				f.expectUpsert(nil)
				f.expectStarted(newCID, ref100)
			}

			wantResult(t, start(f, ref100), tc.code)

			f.wantRows(game, row{kind: domain.OpStart, code: tc.code, image: ref100, container: container})
			if tc.code == domain.CodeImagePullFailed {
				f.wantIntents(intentAt{0, domain.NotifyImagePullFailed})
			} else {
				f.wantIntents()
			}
		})
	}
}

func TestStartImageLimitLabelsOverrideTheDefaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   limits.Limits
	}{
		{"no labels keep the defaults", nil, limits.Limits{NanoCPUs: 1e9, MemoryBytes: 512 << 20, PidsLimit: 512}},
		{"all three labels", map[string]string{limits.LabelCPU: "2.5", limits.LabelMemory: "1g", limits.LabelPids: "64"},
			limits.Limits{NanoCPUs: 2_500_000_000, MemoryBytes: 1 << 30, PidsLimit: 64}},
		{"memory only", map[string]string{limits.LabelMemory: "64m", "org.opencontainers.image.version": "1.0.0"},
			limits.Limits{NanoCPUs: 1e9, MemoryBytes: 64 << 20, PidsLimit: 512}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			f.expectRecord(nil)
			gomock.InOrder(f.expectNetwork(), f.expectImage(ref100, tc.labels))
			specs := f.expectLaunch(newCID)
			f.expectUpsert(nil)
			f.expectStarted(newCID, ref100)

			wantResult(t, start(f, ref100), domain.CodeNone)

			s := specs.last(t)
			if got := (limits.Limits{NanoCPUs: s.NanoCPUs, MemoryBytes: s.MemoryBytes, PidsLimit: s.PidsLimit}); got != tc.want {
				t.Errorf("container limits = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestStartLeftoverContainerOfTheGame(t *testing.T) {
	foreign := ports.ContainerInfo{ID: "c-foreign", Name: ctrName, Labels: map[string]string{"maintainer": "someone"}}
	remove := func(f *fixture, err error) *gomock.Call {
		return f.docker.EXPECT().RemoveContainer(gomock.Any(), oldCID).Return(err)
	}
	for _, tc := range []struct {
		name     string
		leftover func(f *fixture) *gomock.Call // what follows the first create finding the name taken
		code     domain.ErrorCode
	}{
		{"owned leftover is removed before the new container is created", func(f *fixture) *gomock.Call {
			return f.expectLeftoverRemoved(oldCID)
		}, domain.CodeNone},
		{"owned leftover vanishing during removal is fine", func(f *fixture) *gomock.Call {
			return remove(f, errNoContainer).After(f.expectLeftover(ownedContainer(oldCID)))
		}, domain.CodeNone},
		{"container without the owner label is never removed", func(f *fixture) *gomock.Call {
			return f.expectLeftover(foreign)
		}, domain.CodeConflict},
		{"owner label of another value is not ours", func(f *fixture) *gomock.Call {
			c := ownedContainer("c-other")
			c.Labels[ports.LabelOwner] = "someone-else"
			return f.expectLeftover(c)
		}, domain.CodeConflict},
		{"container of another deployment is never removed", func(f *fixture) *gomock.Call {
			c := ownedContainer("c-other")
			c.Labels[ports.LabelDeployment] = "us-green"
			return f.expectLeftover(c)
		}, domain.CodeConflict},
		{"owner label without a deployment label is not ours", func(f *fixture) *gomock.Call {
			c := ownedContainer("c-other")
			delete(c.Labels, ports.LabelDeployment)
			return f.expectLeftover(c)
		}, domain.CodeConflict},
		{"owned leftover that cannot be removed", func(f *fixture) *gomock.Call {
			return remove(f, errBoom).After(f.expectLeftover(ownedContainer(oldCID)))
		}, domain.CodeContainerStartFailed},
		{"leftover inspection with the daemon down", func(f *fixture) *gomock.Call {
			return f.docker.EXPECT().InspectContainer(gomock.Any(), ctrName).Return(ports.ContainerInfo{}, errDockerDown)
		}, domain.CodeDockerUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			f.expectRecord(nil)
			f.expectPreflight(ref100)
			f.expectNameTaken()
			last := tc.leftover(f)
			container := ""
			if tc.code == domain.CodeNone {
				container = newCID
				gomock.InOrder(last, f.expectCreate(newCID, nil, nil), f.expectStartContainer(newCID, nil), f.expectReady(endpoint))
				f.expectUpsert(nil)
				f.expectStarted(newCID, ref100)
			}

			wantResult(t, start(f, ref100), tc.code)

			f.wantRows(game, row{kind: domain.OpStart, code: tc.code, image: ref100, container: container})
			if tc.code == domain.CodeContainerStartFailed {
				f.wantIntents(intentAt{0, domain.NotifyContainerStartFailed})
			} else {
				f.wantIntents()
			}
		})
	}
}

func TestStartCreateOrStartFailure(t *testing.T) {
	for _, tc := range []struct {
		name   string
		docker func(f *fixture)
		code   domain.ErrorCode
	}{
		{"create fails: nothing to start", func(f *fixture) {
			f.expectCreate("", errBoom, nil)
		}, domain.CodeContainerStartFailed},
		{"create with the daemon down", func(f *fixture) {
			f.expectCreate("", errDockerDown, nil)
		}, domain.CodeDockerUnavailable},
		{"start fails: the created container is removed", func(f *fixture) {
			gomock.InOrder(f.expectCreate(newCID, nil, nil), f.expectStartContainer(newCID, errBoom),
				f.docker.EXPECT().RemoveContainer(gomock.Any(), newCID).Return(nil))
		}, domain.CodeContainerStartFailed},
		{"start fails and its removal fails too", func(f *fixture) {
			gomock.InOrder(f.expectCreate(newCID, nil, nil), f.expectStartContainer(newCID, errBoom),
				f.docker.EXPECT().RemoveContainer(gomock.Any(), newCID).Return(errBoom))
		}, domain.CodeContainerStartFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			f.expectRecord(nil)
			f.expectPreflight(ref100)
			tc.docker(f)

			res := start(f, ref100)

			wantResult(t, res, tc.code)
			if res.Record != nil {
				t.Errorf("result carries a record %+v; none was written", *res.Record)
			}
			f.wantRows(game, row{kind: domain.OpStart, code: tc.code, image: ref100})
			if tc.code == domain.CodeContainerStartFailed {
				f.wantIntents(intentAt{0, domain.NotifyContainerStartFailed})
			} else {
				f.wantIntents()
			}
		})
	}
}

func TestStartEngineNeverReadyIsStoppedAndRecordedStopped(t *testing.T) {
	f := newFixture(t)
	f.expectLease()
	f.expectRecord(nil)
	f.expectPreflight(ref100)
	gomock.InOrder(f.expectCreate(newCID, nil, nil), f.expectStartContainer(newCID, nil))
	stop, upsert, stored := f.expectNeverReady(newCID)
	upsert.After(stop)

	began := time.Now()
	res := start(f, ref100)
	took := time.Since(began)

	wantResult(t, res, domain.CodeContainerStartFailed)
	if !strings.Contains(res.ErrorMessage, "engine not ready") {
		t.Errorf("message %q does not say the engine was not ready", res.ErrorMessage)
	}
	if took < f.cfg.ReadyTimeout || took > f.cfg.ReadyTimeout+time.Second {
		t.Errorf("gave up after %v, want about the ready timeout %v", took, f.cfg.ReadyTimeout)
	}
	wantRecord(t, "upserted record", stored, domain.StatusStopped, ref100, newCID)
	if stored.StoppedAt == nil || !stored.StoppedAt.Equal(t0) {
		t.Errorf("stopped record has stopped_at %v", stored.StoppedAt)
	}
	wantRecord(t, "result record", res.Record, domain.StatusStopped, ref100, newCID)
	if res.ContainerID != newCID {
		t.Errorf("result container = %q", res.ContainerID)
	}
	f.wantRows(game, row{kind: domain.OpStart, code: domain.CodeContainerStartFailed, image: ref100, container: newCID})
	f.wantIntents(intentAt{0, domain.NotifyContainerStartFailed})
}

func TestStartEngineExitingDuringReadinessFailsFast(t *testing.T) {
	f := newFixture(t)
	f.cfg.ReadyTimeout = 10 * time.Second
	f.expectLease()
	f.expectRecord(nil)
	f.expectPreflight(ref100)
	gomock.InOrder(f.expectCreate(newCID, nil, nil), f.expectStartContainer(newCID, nil))
	f.prober.EXPECT().Healthz(gomock.Any(), endpoint).Return(errNotReady).MinTimes(1)
	f.docker.EXPECT().InspectContainer(gomock.Any(), newCID).
		Return(ports.ContainerInfo{ID: newCID, State: "exited", ExitCode: 3}, nil).MinTimes(1)
	f.docker.EXPECT().StopContainer(gomock.Any(), newCID, f.cfg.StopTimeout).Return(nil)
	_, stored := f.expectUpsert(nil)

	began := time.Now()
	res := start(f, ref100)

	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("took %v to notice the engine had exited; want well under the %v ready timeout", took, f.cfg.ReadyTimeout)
	}
	wantResult(t, res, domain.CodeContainerStartFailed)
	if !strings.Contains(res.ErrorMessage, "code 3") {
		t.Errorf("message %q does not give the exit code", res.ErrorMessage)
	}
	wantRecord(t, "upserted record", stored, domain.StatusStopped, ref100, newCID)
	f.wantRows(game, row{kind: domain.OpStart, code: domain.CodeContainerStartFailed, image: ref100, container: newCID})
	f.wantIntents(intentAt{0, domain.NotifyContainerStartFailed})
}

func TestStartRecordWriteFailureAfterALiveEngineRemovesTheContainer(t *testing.T) {
	for _, tc := range []struct {
		name        string
		prevStopped bool
		write       func(f *fixture) *gomock.Call
	}{
		{"upsert with the store down", false, func(f *fixture) *gomock.Call {
			c, _ := f.expectUpsert(errStoreDown)
			return c
		}},
		{"stale compare-and-swap over a stopped record", true, func(f *fixture) *gomock.Call {
			return f.expectCAS(domain.Record{}, casUpdate(domain.StatusStopped, domain.StatusRunning, oldCID, newCID, ref100), errCAS)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			if tc.prevStopped {
				f.expectRecord(ptr(f.rec(domain.StatusStopped, ref100, oldCID)))
			} else {
				f.expectRecord(nil)
			}
			f.expectPreflight(ref100)
			gomock.InOrder(f.expectCreate(newCID, nil, nil), f.expectStartContainer(newCID, nil),
				f.expectReady(endpoint), tc.write(f),
				f.docker.EXPECT().RemoveContainer(gomock.Any(), newCID).Return(nil))

			res := start(f, ref100)

			wantResult(t, res, domain.CodeContainerStartFailed)
			if res.ContainerID != newCID || res.Record != nil {
				t.Errorf("result container/record = %q/%v", res.ContainerID, res.Record)
			}
			f.wantRows(game, row{kind: domain.OpStart, code: domain.CodeContainerStartFailed, image: ref100, container: newCID})
			f.wantIntents(intentAt{0, domain.NotifyContainerStartFailed})
		})
	}
}

func TestStartInstallsTheRecordAccordingToThePreviousOne(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status domain.Status
	}{
		{"stopped: compare-and-swap expecting the old container", domain.StatusStopped},
		{"removed: a new lifetime by upsert", domain.StatusRemoved},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			prev := f.rec(tc.status, ref101, oldCID)
			f.expectLease()
			f.expectRecord(&prev)
			f.expectPreflight(ref100)
			ready := f.expectReady(endpoint)
			gomock.InOrder(f.expectCreate(newCID, nil, nil), f.expectStartContainer(newCID, nil), ready)
			if tc.status == domain.StatusStopped {
				f.expectCAS(prev, casUpdate(domain.StatusStopped, domain.StatusRunning, oldCID, newCID, ref100), nil).After(ready)
			} else {
				c, _ := f.expectUpsert(nil)
				c.After(ready)
			}
			f.expectStarted(newCID, ref100)

			res := start(f, ref100)

			wantResult(t, res, domain.CodeNone)
			wantRecord(t, "result record", res.Record, domain.StatusRunning, ref100, newCID)
			f.wantRows(game, row{kind: domain.OpStart, image: ref100, container: newCID})
		})
	}
}

func TestStartProbesTheConfiguredEngineAddress(t *testing.T) {
	ips := map[string]string{"bridge": "172.17.0.9", network: "172.18.0.5"}
	for _, tc := range []struct {
		name  string
		mode  lifecycle.EngineAddressMode
		ips   map[string]string
		probe string // "" when the engine cannot be reached at all
	}{
		{"endpoint probes the stable engine endpoint", lifecycle.AddressEndpoint, nil, "http://galaxy-game-g-1:8080"},
		{"container_ip probes the container's IP on the game network", lifecycle.AddressContainerIP, ips, "http://172.18.0.5:8080"},
		{"container_ip without an address on the network is not ready", lifecycle.AddressContainerIP,
			map[string]string{"bridge": "172.17.0.9"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.cfg.EngineAddress = tc.mode
			f.expectLease()
			f.expectRecord(nil)
			f.expectPreflight(ref100)
			started := f.expectStartContainer(newCID, nil)
			gomock.InOrder(f.expectCreate(newCID, nil, nil), started)
			if tc.mode == lifecycle.AddressContainerIP {
				f.docker.EXPECT().InspectContainer(gomock.Any(), newCID).
					Return(ports.ContainerInfo{ID: newCID, Running: true, NetworkIPs: tc.ips}, nil).After(started)
			}
			code, container := domain.CodeNone, newCID
			if tc.probe == "" {
				code = domain.CodeContainerStartFailed
				f.docker.EXPECT().StopContainer(gomock.Any(), newCID, f.cfg.StopTimeout).Return(nil)
				f.expectUpsert(nil)
			} else {
				f.expectReady(tc.probe).After(started)
				f.expectUpsert(nil)
				f.expectStarted(newCID, ref100)
			}

			res := start(f, ref100)

			wantResult(t, res, code)
			if res.Record != nil && res.Record.EngineEndpoint != endpoint {
				t.Errorf("engine_endpoint = %q; it never depends on the address mode", res.Record.EngineEndpoint)
			}
			f.wantRows(game, row{kind: domain.OpStart, code: code, image: ref100, container: container})
		})
	}
}

func TestStartConcurrencyBoundsOverlappingCreateAndStart(t *testing.T) {
	const limit, games = 2, 6
	f := newFixture(t)
	f.cfg.StartConcurrency = limit
	var inFlight, peak atomic.Int32
	f.leases.EXPECT().Acquire(gomock.Any(), gomock.Any()).Return(f.lease, nil).Times(games)
	f.lease.EXPECT().Release().Times(games)
	f.lease.EXPECT().Lost().Return(nil).AnyTimes()
	f.records.EXPECT().Get(gomock.Any(), gomock.Any()).Return(domain.Record{}, errNoContainer).Times(games)
	f.records.EXPECT().OtherCaseOf(gomock.Any(), gomock.Any()).Return("", errNoContainer).Times(games)
	f.docker.EXPECT().NetworkExists(gomock.Any(), network).Return(true, nil).Times(games)
	f.docker.EXPECT().ImageInspect(gomock.Any(), ref100).Return(ports.ImageInfo{}, nil).Times(games)
	f.docker.EXPECT().CreateContainer(gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, spec ports.ContainerSpec) (string, error) {
			n := inFlight.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(20 * time.Millisecond)
			return "id-" + spec.Name, nil
		}).Times(games)
	f.docker.EXPECT().StartContainer(gomock.Any(), gomock.Any()).DoAndReturn(func(context.Context, string) error {
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		return nil
	}).Times(games)
	f.prober.EXPECT().Healthz(gomock.Any(), gomock.Any()).Return(nil).Times(games)
	f.records.EXPECT().UpsertIf(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, r domain.Record, _ ports.RecordCondition) (domain.Record, error) {
			return r, nil
		}).Times(games)
	f.health.EXPECT().Upsert(gomock.Any(), gomock.Any()).Return(nil).Times(games)
	f.events.EXPECT().PublishHealth(gomock.Any(), gomock.Any()).Return(nil).Times(games)
	f.metrics.EXPECT().HealthEventPublished(domain.EventContainerStarted).Times(games)

	svc := f.svc()
	var wg sync.WaitGroup
	results := make([]domain.Result, games)
	for i := range games {
		wg.Go(func() {
			results[i] = svc.Start(ctx, lifecycle.StartInput{GameID: "game-" + strconv.Itoa(i), ImageRef: ref100, Meta: meta})
		})
	}
	wg.Wait()

	for i, r := range results {
		if r.ErrorCode != domain.CodeNone || r.ContainerID != "id-galaxy-game-game-"+strconv.Itoa(i) {
			t.Errorf("start %d = %s/%q container %q", i, r.Outcome, r.ErrorCode, r.ContainerID)
		}
	}
	if p := peak.Load(); p != limit {
		t.Errorf("at most %d create…start windows overlapped, want exactly the bound %d", p, limit)
	}
}

func TestStartLobbyDiagnosticsFailureNeverFailsTheStart(t *testing.T) {
	f := newFixture(t)
	lobby := mocks.NewMockLobbyClient(gomock.NewController(t))
	asked := make(chan struct{})
	lobby.EXPECT().GetGame(gomock.Any(), game).DoAndReturn(func(context.Context, string) (map[string]any, error) {
		defer close(asked)
		return nil, errBoom
	})
	f.lobby = lobby
	f.expectFreshStart(ref100, newCID)
	f.expectUpsert(nil)
	f.expectStarted(newCID, ref100)

	wantResult(t, start(f, ref100), domain.CodeNone)

	select {
	case <-asked:
	case <-time.After(5 * time.Second):
		t.Fatal("lobby was never asked about the game")
	}
}

func TestStartHealthPublishFailureKeepsTheSuccessAndIsNotCounted(t *testing.T) {
	f := newFixture(t)
	f.expectFreshStart(ref100, newCID)
	f.expectUpsert(nil)
	gomock.InOrder(
		f.health.EXPECT().Upsert(gomock.Any(), gomock.Any()).Return(nil),
		f.events.EXPECT().PublishHealth(gomock.Any(), gomock.Any()).Return(errStoreDown),
	) // and no HealthEventPublished metric

	wantResult(t, start(f, ref100), domain.CodeNone)
	f.wantRows(game, row{kind: domain.OpStart, image: ref100, container: newCID})
}

func TestStartWithoutAnOperationRowPublishesNoIntent(t *testing.T) {
	f := newFixture(t)
	f.appendE = errStoreDown // the intent's idempotency key needs the row id
	f.expectLease()
	f.expectRecord(nil)
	f.docker.EXPECT().NetworkExists(gomock.Any(), network).Return(false, nil)

	wantResult(t, start(f, ref100), domain.CodeStartConfigInvalid)
	f.wantIntents()
}

func ptr[T any](v T) *T { return &v }

// A lease lost while the engine was getting ready means another holder may
// own the game: the new container is removed and no record is written.
func TestStartThatLosesItsLeaseWritesNothing(t *testing.T) {
	f := newFixture(t)
	lost := make(chan struct{})
	f.leases.EXPECT().Acquire(gomock.Any(), game).Return(f.lease, nil)
	f.lease.EXPECT().Release()
	f.lease.EXPECT().Lost().Return(lost).AnyTimes()
	f.expectRecord(nil)
	f.expectPreflight(ref100)
	gomock.InOrder(
		f.expectCreate(newCID, nil, nil),
		f.expectStartContainer(newCID, nil),
		f.prober.EXPECT().Healthz(gomock.Any(), endpoint).DoAndReturn(func(context.Context, string) error {
			close(lost) // renewal found the key gone while the engine booted
			return nil
		}),
		f.docker.EXPECT().RemoveContainer(gomock.Any(), newCID).Return(nil),
	)

	res := start(f, ref100)

	wantResult(t, res, domain.CodeConflict)
	f.wantRows(game, row{kind: domain.OpStart, code: domain.CodeConflict, image: ref100, container: newCID})
}

// A launch's record writes are conditional on what was read under the lease.
func TestStartRecordWritesAreConditional(t *testing.T) {
	for _, tc := range []struct {
		name    string
		removed bool // a removed record exists; otherwise none
		want    ports.RecordCondition
	}{
		{"no record: only an absent or removed one may be replaced", false, ports.RecordCondition{Status: domain.StatusRemoved}},
		{"removed record: only that removed record", true, ports.RecordCondition{Status: domain.StatusRemoved, ContainerID: oldCID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLease()
			var prev *domain.Record
			if tc.removed {
				prev = ptr(f.rec(domain.StatusRemoved, ref101, oldCID))
			}
			f.expectRecord(prev)
			f.expectPreflight(ref100)
			f.expectLaunch(newCID)
			f.expectUpsert(nil)
			f.expectStarted(newCID, ref100)

			wantResult(t, start(f, ref100), domain.CodeNone)
			if len(f.conditions) != 1 || f.conditions[0] != tc.want {
				t.Errorf("conditions %+v, want [%+v]", f.conditions, tc.want)
			}
		})
	}
}

// An engine that never got ready and cannot be stopped is removed, so it
// never runs behind a record that says stopped.
func TestStartParkingRemovesAnEngineThatWillNotStop(t *testing.T) {
	f := newFixture(t)
	f.expectLease()
	f.expectRecord(nil)
	f.expectPreflight(ref100)
	gomock.InOrder(f.expectCreate(newCID, nil, nil), f.expectStartContainer(newCID, nil))
	f.prober.EXPECT().Healthz(gomock.Any(), endpoint).Return(errNotReady).MinTimes(1)
	f.docker.EXPECT().InspectContainer(gomock.Any(), newCID).Return(ports.ContainerInfo{ID: newCID, Running: true}, nil).AnyTimes()
	gomock.InOrder(
		f.docker.EXPECT().StopContainer(gomock.Any(), newCID, f.cfg.StopTimeout).Return(errBoom),
		f.docker.EXPECT().RemoveContainer(gomock.Any(), newCID).Return(nil),
	)
	f.expectUpsert(nil)

	wantResult(t, start(f, ref100), domain.CodeContainerStartFailed)
}

// TestAGameStaysOnTheNodeItsStateLivesOn: on a runtime with nodes, a new game
// runs where the state port places it, and its record says so; every later
// launch asks for that node again, so the engine never starts away from its
// state.
func TestAGameStaysOnTheNodeItsStateLivesOn(t *testing.T) {
	t.Run("a new game is placed and the record names its node", func(t *testing.T) {
		f := newFixture(t)
		f.node = "node-a"
		specs := f.expectFreshStart(ref100, newCID)
		_, stored := f.expectUpsert(nil)
		f.expectStarted(newCID, ref100)

		wantResult(t, start(f, ref100), domain.CodeNone)
		if got := specs.last(t).Node; got != "node-a" {
			t.Errorf("container spec node %q, want node-a", got)
		}
		if stored.EngineNode != "node-a" {
			t.Errorf("record node %q, want node-a", stored.EngineNode)
		}
		if !slices.Equal(f.pins, []string{""}) {
			t.Errorf("pinned nodes asked for %q, want none for a new game", f.pins)
		}
	})
	t.Run("a restart keeps the recorded node", func(t *testing.T) {
		f := newFixture(t)
		f.node = "node-other" // where a new game would go; this one is pinned
		prev := f.rec(domain.StatusRunning, ref100, oldCID)
		prev.EngineNode = "node-b"
		f.expectLease()
		f.expectRecord(&prev)
		var got ports.ContainerSpec
		rm := f.expectInnerStop(prev, ref100)
		gomock.InOrder(rm, f.docker.EXPECT().CreateContainer(gomock.Any(), gomock.Any()).DoAndReturn(
			func(_ context.Context, spec ports.ContainerSpec) (string, error) { got = spec; return newCID, nil }),
			f.expectStartContainer(newCID, nil), f.expectReady(endpoint),
			f.expectCAS(stopped(prev), casUpdate(domain.StatusStopped, domain.StatusRunning, oldCID, newCID, ref100), nil))
		f.expectStarted(newCID, ref100)

		wantResult(t, restart(f), domain.CodeNone)
		if got.Node != "node-b" || !slices.Equal(f.pins, []string{"node-b"}) {
			t.Errorf("spec node %q, pinned nodes asked for %q; want node-b", got.Node, f.pins)
		}
	})
}
