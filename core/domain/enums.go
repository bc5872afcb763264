// Package domain holds Runtime Manager's domain types: the runtime record, the
// enums of the contract, the allowed status transitions, the stable error codes
// and the Result every lifecycle service returns. It depends on nothing but the
// standard library and small pure parsing libraries.
package domain

// Status is the lifecycle status of a runtime record.
type Status string

const (
	StatusRunning Status = "running"
	StatusStopped Status = "stopped"
	StatusRemoved Status = "removed"
)

// AllStatuses lists every known status in a stable order.
var AllStatuses = []Status{StatusRunning, StatusStopped, StatusRemoved}

// IsKnown reports whether s is one of the contract's statuses.
func (s Status) IsKnown() bool { return isOneOf(s, AllStatuses) }

// OpKind is the kind of an operation recorded in the operation log.
type OpKind string

const (
	OpStart                OpKind = "start"
	OpStop                 OpKind = "stop"
	OpRestart              OpKind = "restart"
	OpPatch                OpKind = "patch"
	OpCleanupContainer     OpKind = "cleanup_container"
	OpReconcileAdopt       OpKind = "reconcile_adopt"
	OpReconcileDispose     OpKind = "reconcile_dispose"
	OpReconcileObserveExit OpKind = "reconcile_observe_exit"
)

// AllOpKinds lists every known operation kind.
var AllOpKinds = []OpKind{OpStart, OpStop, OpRestart, OpPatch, OpCleanupContainer,
	OpReconcileAdopt, OpReconcileDispose, OpReconcileObserveExit}

// IsKnown reports whether k is one of the contract's operation kinds.
func (k OpKind) IsKnown() bool { return isOneOf(k, AllOpKinds) }

// OpSource says which entry point caused an operation.
type OpSource string

const (
	SourceLobbyStream   OpSource = "lobby_stream"
	SourceGMRest        OpSource = "gm_rest"
	SourceAdminRest     OpSource = "admin_rest"
	SourceAutoTTL       OpSource = "auto_ttl"
	SourceAutoReconcile OpSource = "auto_reconcile"
	SourceDockerEvent   OpSource = "docker_event"
)

// AllOpSources lists every known operation source.
var AllOpSources = []OpSource{SourceLobbyStream, SourceGMRest, SourceAdminRest,
	SourceAutoTTL, SourceAutoReconcile, SourceDockerEvent}

// IsKnown reports whether s is one of the contract's operation sources.
func (s OpSource) IsKnown() bool { return isOneOf(s, AllOpSources) }

// Outcome is the result of an operation.
type Outcome string

const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
)

// AllOutcomes lists both outcomes.
var AllOutcomes = []Outcome{OutcomeSuccess, OutcomeFailure}

// IsKnown reports whether o is success or failure.
func (o Outcome) IsKnown() bool { return isOneOf(o, AllOutcomes) }

// StopReason is why a runtime is being stopped. The order is frozen by the contract.
type StopReason string

const (
	StopOrphanCleanup StopReason = "orphan_cleanup"
	StopCancelled     StopReason = "cancelled"
	StopFinished      StopReason = "finished"
	StopAdminRequest  StopReason = "admin_request"
	StopTimeout       StopReason = "timeout"
)

// AllStopReasons lists the stop reasons in their frozen order.
var AllStopReasons = []StopReason{StopOrphanCleanup, StopCancelled, StopFinished, StopAdminRequest, StopTimeout}

// IsKnown reports whether r is one of the contract's stop reasons.
func (r StopReason) IsKnown() bool { return isOneOf(r, AllStopReasons) }

// HealthEventType is the type of an event on runtime:health_events.
type HealthEventType string

const (
	EventContainerStarted     HealthEventType = "container_started"
	EventContainerExited      HealthEventType = "container_exited"
	EventContainerOOM         HealthEventType = "container_oom"
	EventContainerDisappeared HealthEventType = "container_disappeared"
	EventInspectUnhealthy     HealthEventType = "inspect_unhealthy"
	EventProbeFailed          HealthEventType = "probe_failed"
	EventProbeRecovered       HealthEventType = "probe_recovered"
)

// AllHealthEventTypes lists every known health event type.
var AllHealthEventTypes = []HealthEventType{EventContainerStarted, EventContainerExited, EventContainerOOM,
	EventContainerDisappeared, EventInspectUnhealthy, EventProbeFailed, EventProbeRecovered}

// IsKnown reports whether t is one of the contract's health event types.
func (t HealthEventType) IsKnown() bool { return isOneOf(t, AllHealthEventTypes) }

// HealthStatus is the status column of a health snapshot.
type HealthStatus string

const (
	HealthHealthy     HealthStatus = "healthy"
	HealthExited      HealthStatus = "exited"
	HealthOOM         HealthStatus = "oom"
	HealthDisappeared HealthStatus = "disappeared"
	HealthUnhealthy   HealthStatus = "unhealthy"
	HealthProbeFailed HealthStatus = "probe_failed"
)

// AllHealthStatuses lists every known snapshot status.
var AllHealthStatuses = []HealthStatus{HealthHealthy, HealthExited, HealthOOM, HealthDisappeared, HealthUnhealthy, HealthProbeFailed}

// IsKnown reports whether s is one of the snapshot statuses.
func (s HealthStatus) IsKnown() bool { return isOneOf(s, AllHealthStatuses) }

// HealthSource is the source column of a health snapshot: which part of RTM observed it.
type HealthSource string

const (
	HealthSourceStart       HealthSource = "start"
	HealthSourceDockerEvent HealthSource = "docker_event"
	HealthSourceInspect     HealthSource = "inspect"
	HealthSourceProbe       HealthSource = "probe"
	HealthSourceReconcile   HealthSource = "reconcile"
)

// AllHealthSources lists every known snapshot source.
var AllHealthSources = []HealthSource{HealthSourceStart, HealthSourceDockerEvent, HealthSourceInspect, HealthSourceProbe, HealthSourceReconcile}

// IsKnown reports whether s is one of the snapshot sources.
func (s HealthSource) IsKnown() bool { return isOneOf(s, AllHealthSources) }

// PullPolicy decides when the start service pulls the engine image.
type PullPolicy string

const (
	PullIfMissing PullPolicy = "if_missing"
	PullAlways    PullPolicy = "always"
	PullNever     PullPolicy = "never"
)

// AllPullPolicies lists every known pull policy.
var AllPullPolicies = []PullPolicy{PullIfMissing, PullAlways, PullNever}

// IsKnown reports whether p is one of the contract's pull policies.
func (p PullPolicy) IsKnown() bool { return isOneOf(p, AllPullPolicies) }

func isOneOf[T comparable](v T, all []T) bool {
	for _, k := range all {
		if v == k {
			return true
		}
	}
	return false
}
