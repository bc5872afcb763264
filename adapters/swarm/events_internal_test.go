package swarm

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"github.com/galaxy/rtmanager/ports"
)

// TestAPollReportsEachEngineEndOnceAndEachServiceGone: what one poll of
// Events reports, given what the previous polls saw.
func TestAPollReportsEachEngineEndOnceAndEachServiceGone(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	since, now := t0.Add(10*time.Second), t0.Add(time.Minute)
	svc := func(id string, parked bool) swarm.Service {
		s := swarm.Service{ID: id}
		s.Spec.Labels = map[string]string{ports.LabelGameID: "game-" + id}
		s.Spec.TaskTemplate.Placement = &swarm.Placement{Constraints: []string{nodeConstraint + "n1"}}
		if parked {
			s.Spec.TaskTemplate.Placement.Constraints = append(s.Spec.TaskTemplate.Placement.Constraints, parkedConstraint)
		}
		return s
	}
	task := func(id, service string, state swarm.TaskState, code int, at time.Duration) swarm.Task {
		t := swarm.Task{ID: id, ServiceID: service}
		t.Status.State, t.Status.Timestamp = state, t0.Add(at)
		t.Status.ContainerStatus = &swarm.ContainerStatus{ContainerID: "c-" + id, ExitCode: code}
		t.Spec.ContainerSpec = &swarm.ContainerSpec{Labels: map[string]string{ports.LabelGameID: "game-" + service}}
		return t
	}
	noContainer := func(t swarm.Task) swarm.Task { t.Status.ContainerStatus = nil; return t }

	type poll struct {
		tasks    []swarm.Task
		services []swarm.Service
	}
	for _, tc := range []struct {
		name string
		// earlier polls, then the one whose events are checked
		before []poll
		last   poll
		want   []string // action/service/exit code
	}{
		{"a killed engine is a die with its exit code", nil,
			poll{[]swarm.Task{task("t1", "s1", swarm.TaskStateFailed, 137, 20*time.Second)}, []swarm.Service{svc("s1", false)}},
			[]string{"die/s1/137"}},
		{"an engine that exits by itself with 0 is a die", nil,
			poll{[]swarm.Task{task("t1", "s1", swarm.TaskStateComplete, 0, 20*time.Second)}, []swarm.Service{svc("s1", false)}},
			[]string{"die/s1/0"}},
		{"a task shut down by RTM's stop (the service parked) is nothing", nil,
			poll{[]swarm.Task{task("t1", "s1", swarm.TaskStateShutdown, 0, 20*time.Second)}, []swarm.Service{svc("s1", true)}},
			nil},
		{"a task shut down while the service is not parked (an operator's scale or update) is a die", nil,
			poll{[]swarm.Task{task("t1", "s1", swarm.TaskStateShutdown, 0, 20*time.Second)}, []swarm.Service{svc("s1", false)}},
			[]string{"die/s1/0"}},
		{"a failed task of a parked service is still a die (killed before the stop)", nil,
			poll{[]swarm.Task{task("t1", "s1", swarm.TaskStateFailed, 137, 20*time.Second)}, []swarm.Service{svc("s1", true)}},
			[]string{"die/s1/137"}},
		{"running, pending and container-less tasks are nothing", nil,
			poll{[]swarm.Task{task("t1", "s1", swarm.TaskStateRunning, 0, 20*time.Second),
				noContainer(task("t2", "s1", swarm.TaskStateRejected, 0, 20*time.Second)),
				noContainer(task("t3", "s2", swarm.TaskStatePending, 0, 20*time.Second))},
				[]swarm.Service{svc("s1", false), svc("s2", true)}},
			nil},
		{"an end before since is not reported", nil,
			poll{[]swarm.Task{task("t1", "s1", swarm.TaskStateFailed, 137, 5*time.Second)}, []swarm.Service{svc("s1", false)}},
			nil},
		{"an end at since is reported (since is inclusive)", nil,
			poll{[]swarm.Task{task("t1", "s1", swarm.TaskStateFailed, 1, 10*time.Second)}, []swarm.Service{svc("s1", false)}},
			[]string{"die/s1/1"}},
		{"an end is reported once", []poll{
			{[]swarm.Task{task("t1", "s1", swarm.TaskStateFailed, 137, 20*time.Second)}, []swarm.Service{svc("s1", false)}}},
			poll{[]swarm.Task{task("t1", "s1", swarm.TaskStateFailed, 137, 20*time.Second)}, []swarm.Service{svc("s1", false)}},
			nil},
		{"a task whose service is no longer listed is not a die; the service is a destroy", []poll{
			{[]swarm.Task{task("t1", "s1", swarm.TaskStateRunning, 0, 20*time.Second)}, []swarm.Service{svc("s1", false)}}},
			poll{[]swarm.Task{task("t1", "s1", swarm.TaskStateShutdown, 0, 30*time.Second)}, nil},
			[]string{"destroy/s1/"}},
		{"a service made and removed between two polls is a destroy, from its lingering tasks", []poll{
			{nil, nil}},
			poll{[]swarm.Task{task("t1", "s1", swarm.TaskStateRunning, 0, 20*time.Second)}, nil},
			[]string{"destroy/s1/"}},
		{"a service whose tasks linger is a destroy once", []poll{
			{nil, []swarm.Service{svc("s1", false)}},
			{[]swarm.Task{task("t1", "s1", swarm.TaskStateRunning, 0, 20*time.Second)}, nil}},
			poll{[]swarm.Task{task("t1", "s1", swarm.TaskStateShutdown, 0, 30*time.Second)}, nil},
			nil},
		{"a service made and removed between two polls is a destroy once", []poll{
			{nil, nil},
			{[]swarm.Task{task("t1", "s1", swarm.TaskStateRunning, 0, 20*time.Second)}, nil}},
			poll{[]swarm.Task{task("t1", "s1", swarm.TaskStateShutdown, 0, 30*time.Second)}, nil},
			nil},
		{"tasks outliving a service removed before the first poll are no destroy then or later", []poll{
			{[]swarm.Task{task("t1", "s1", swarm.TaskStateRunning, 0, 20*time.Second)}, nil}},
			poll{[]swarm.Task{task("t1", "s1", swarm.TaskStateShutdown, 0, 30*time.Second)}, nil},
			nil},
		{"a service is a destroy once", []poll{
			{nil, []swarm.Service{svc("s1", false)}}, {nil, nil}},
			poll{nil, nil},
			nil},
		{"a service never listed is no destroy (the first poll has no past)", nil,
			poll{nil, nil}, nil},
		{"dies come in the order the engines ended, then the destroys", []poll{
			{nil, []swarm.Service{svc("s1", false), svc("s2", false), svc("s3", false), svc("s4", false)}}},
			poll{[]swarm.Task{task("t2", "s2", swarm.TaskStateFailed, 2, 40*time.Second),
				task("t1", "s1", swarm.TaskStateFailed, 1, 30*time.Second)},
				[]swarm.Service{svc("s1", false), svc("s2", false)}},
			[]string{"die/s1/1", "die/s2/2", "destroy/s3/", "destroy/s4/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &watcher{since: since, ended: map[string]bool{}}
			for _, p := range tc.before {
				w.step(p.tasks, p.services, now)
			}
			var got []string
			for _, ev := range w.step(tc.last.tasks, tc.last.services, now) {
				got = append(got, fmt.Sprintf("%s/%s/%s", ev.Action, ev.ContainerID, ev.ExitCode))
				if ev.GameID != "game-"+ev.ContainerID {
					t.Errorf("event %+v: game %q", ev, ev.GameID)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("events %v, want %v", got, tc.want)
			}
		})
	}
}
