package domain_test

import (
	"slices"
	"testing"

	"github.com/galaxy/rtmanager/core/domain"
)

// strs converts any list of string-typed enum values to plain strings.
func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// enumCase describes one enum of the contract: its values exactly as contract §2.3
// and §8 spell them, the All* list and the IsKnown predicate.
type enumCase struct {
	name    string
	want    []string
	all     []string
	isKnown func(string) bool
}

func enumCases() []enumCase {
	return []enumCase{
		{"status", []string{"running", "stopped", "removed"},
			strs(domain.AllStatuses), func(s string) bool { return domain.Status(s).IsKnown() }},
		{"op kind", []string{"start", "stop", "restart", "patch", "cleanup_container",
			"reconcile_adopt", "reconcile_dispose", "reconcile_observe_exit"},
			strs(domain.AllOpKinds), func(s string) bool { return domain.OpKind(s).IsKnown() }},
		{"op source", []string{"lobby_stream", "gm_rest", "admin_rest", "auto_ttl", "auto_reconcile", "docker_event"},
			strs(domain.AllOpSources), func(s string) bool { return domain.OpSource(s).IsKnown() }},
		{"outcome", []string{"success", "failure"},
			strs(domain.AllOutcomes), func(s string) bool { return domain.Outcome(s).IsKnown() }},
		{"stop reason", []string{"orphan_cleanup", "cancelled", "finished", "admin_request", "timeout"},
			strs(domain.AllStopReasons), func(s string) bool { return domain.StopReason(s).IsKnown() }},
		{"health event type", []string{"container_started", "container_exited", "container_oom",
			"container_disappeared", "inspect_unhealthy", "probe_failed", "probe_recovered"},
			strs(domain.AllHealthEventTypes), func(s string) bool { return domain.HealthEventType(s).IsKnown() }},
		{"health status", []string{"healthy", "exited", "oom", "disappeared", "unhealthy", "probe_failed"},
			strs(domain.AllHealthStatuses), func(s string) bool { return domain.HealthStatus(s).IsKnown() }},
		{"health source", []string{"start", "docker_event", "inspect", "probe", "reconcile"},
			strs(domain.AllHealthSources), func(s string) bool { return domain.HealthSource(s).IsKnown() }},
		{"pull policy", []string{"if_missing", "always", "never"},
			strs(domain.AllPullPolicies), func(s string) bool { return domain.PullPolicy(s).IsKnown() }},
		{"error code", []string{"invalid_request", "not_found", "conflict", "image_ref_not_semver",
			"semver_patch_only", "start_config_invalid", "image_pull_failed", "container_start_failed",
			"docker_unavailable", "service_unavailable", "internal_error", "replay_no_op"},
			strs(domain.AllErrorCodes), func(s string) bool { return domain.ErrorCode(s).IsKnown() }},
	}
}

func TestEnumsListExactlyTheContractValues(t *testing.T) {
	for _, tc := range enumCases() {
		t.Run(tc.name, func(t *testing.T) {
			// Order matters for stop reasons (frozen) and keeps the others stable.
			if !slices.Equal(tc.all, tc.want) {
				t.Errorf("All list = %q, want %q", tc.all, tc.want)
			}
		})
	}
}

func TestEnumsIsKnownAcceptsEveryContractValue(t *testing.T) {
	for _, tc := range enumCases() {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range tc.want {
				if !tc.isKnown(v) {
					t.Errorf("IsKnown(%q) = false", v)
				}
			}
		})
	}
}

func TestEnumsIsKnownRejectsAnythingElse(t *testing.T) {
	for _, tc := range enumCases() {
		t.Run(tc.name, func(t *testing.T) {
			rejects := []string{"", " ", "bogus", "unknown"}
			for _, v := range tc.want {
				// Case, padding and near-misses of real values are not the value.
				rejects = append(rejects, " "+v, v+" ", v+"_", toUpper(v))
			}
			for _, v := range rejects {
				if tc.isKnown(v) {
					t.Errorf("IsKnown(%q) = true", v)
				}
			}
		})
	}
}

func TestErrorCodeNoneIsNotAKnownCode(t *testing.T) {
	if domain.CodeNone.IsKnown() {
		t.Error("CodeNone is reported as a stable code; it must never reach a client as one")
	}
}

func toUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
