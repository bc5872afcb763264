package domain_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
)

func TestResultBuilders(t *testing.T) {
	f := domain.Failure(domain.CodeConflict, "busy")
	if f.Outcome != domain.OutcomeFailure || f.ErrorCode != domain.CodeConflict || f.ErrorMessage != "busy" || f.Succeeded() {
		t.Errorf("Failure = %+v", f)
	}
	rec := domain.Record{GameID: "g", CurrentContainerID: "c1", EngineEndpoint: domain.EngineEndpoint("g")}
	s := domain.Success(rec, domain.CodeReplayNoOp)
	if !s.Succeeded() || s.ErrorCode != domain.CodeReplayNoOp || s.ContainerID != "c1" ||
		s.EngineEndpoint != "http://galaxy-game-g:8080" || s.Record == nil || s.Record.GameID != "g" {
		t.Errorf("Success = %+v", s)
	}
	rec.GameID = "changed"
	if s.Record.GameID != "g" {
		t.Error("Success keeps a reference to the caller's record instead of a copy")
	}
}

func TestContainerNamingFollowsTheContainerModel(t *testing.T) {
	if got := domain.ContainerName("g-1"); got != "galaxy-game-g-1" {
		t.Errorf("ContainerName = %q", got)
	}
	if got := domain.EngineEndpoint("g-1"); got != "http://galaxy-game-g-1:8080" {
		t.Errorf("EngineEndpoint = %q", got)
	}
}

func TestNotificationIntentIdempotencyKey(t *testing.T) {
	for _, tc := range []struct {
		n    domain.NotificationIntent
		want string
	}{
		{domain.NotificationIntent{Type: domain.NotifyImagePullFailed, GameID: "g-1", OperationID: 42},
			"runtime_manager:g-1:runtime.image_pull_failed:42"},
		{domain.NotificationIntent{Type: domain.NotifyContainerStartFailed, GameID: "a.b_c", OperationID: 9007199254740993,
			OccurredAt: time.Unix(1, 0)},
			"runtime_manager:a.b_c:runtime.container_start_failed:9007199254740993"},
		{domain.NotificationIntent{Type: domain.NotifyStartConfigInvalid, GameID: "x", OperationID: 0},
			"runtime_manager:x:runtime.start_config_invalid:0"},
	} {
		if got := tc.n.IdempotencyKey(); got != tc.want {
			t.Errorf("IdempotencyKey = %q, want %q", got, tc.want)
		}
	}
}

func TestNotificationForCodeCoversExactlyTheThreeStartFailures(t *testing.T) {
	want := map[domain.ErrorCode]domain.NotificationType{
		domain.CodeStartConfigInvalid:   "runtime.start_config_invalid",
		domain.CodeImagePullFailed:      "runtime.image_pull_failed",
		domain.CodeContainerStartFailed: "runtime.container_start_failed",
	}
	for _, c := range append([]domain.ErrorCode{domain.CodeNone}, domain.AllErrorCodes...) {
		nt, ok := domain.NotificationForCode(c)
		w, wantOK := want[c]
		if ok != wantOK || nt != w {
			t.Errorf("NotificationForCode(%q) = %q, %v; want %q, %v", c, nt, ok, w, wantOK)
		}
	}
}

func TestErrorsCarryTheirCodeThroughWrapping(t *testing.T) {
	err := fmt.Errorf("state directory: %w", domain.Errorf(domain.CodeStartConfigInvalid, "not writable: %s", "EACCES"))
	res := domain.FailureOf(err)
	if res.Outcome != domain.OutcomeFailure || res.ErrorCode != domain.CodeStartConfigInvalid ||
		res.ErrorMessage != "state directory: not writable: EACCES" {
		t.Errorf("FailureOf = %+v, want the code and the whole wrapped message", res)
	}
	if got := domain.FailureOf(errors.New("nil map")).ErrorCode; got != domain.CodeInternalError {
		t.Errorf("FailureOf(plain error) code = %q, want internal_error", got)
	}
}
