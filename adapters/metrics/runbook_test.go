package metrics

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/internal/contractdoc"
	"github.com/galaxy/rtmanager/ports"
)

// exported returns the rtmanager_* families on the registry with their
// label names.
func exported(t *testing.T, m *Metrics) map[string][]string {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "rtmanager_") {
			continue
		}
		var labels []string
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels = append(labels, l.GetName())
		}
		slices.Sort(labels)
		out[f.GetName()] = labels
	}
	return out
}

// TestTheRunbookListsWhatIsExported: the runbook's series table names every
// rtmanager_* family with its labels, and says truly which are on /metrics
// from boot and which appear with their first sample.
func TestTheRunbookListsWhatIsExported(t *testing.T) {
	rows, err := contractdoc.TableIn("docs/runbook.md", "## Metrics")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string][]string{}
	var atBoot []string
	for _, r := range rows {
		name := contractdoc.Code(r[0])
		labels := contractdoc.Codes(r[2])
		slices.Sort(labels)
		documented[name] = labels
		switch r[3] {
		case "at boot":
			atBoot = append(atBoot, name)
		case "after the first operation", "after the first job":
		default:
			t.Errorf("%s: %q says none of \"at boot\", \"after the first operation\", \"after the first job\"", name, r[3])
		}
	}
	slices.Sort(atBoot)

	m := New()
	if got := slices.Sorted(maps.Keys(exported(t, m))); !slices.Equal(got, atBoot) {
		t.Errorf("exported at boot %q, the runbook says %q", got, atBoot)
	}
	// Every method of ports.Metrics once: now every family has a sample.
	m.OperationDone(domain.OpStart, domain.SourceGMRest, domain.OutcomeSuccess, domain.CodeNone, time.Millisecond)
	m.HealthEventPublished(domain.EventContainerStarted)
	m.LeaseConflict()
	m.SetRuntimes(map[domain.Status]int{domain.StatusRunning: 1})
	m.JobDone(ports.JobStart, domain.OutcomeSuccess, domain.CodeNone, time.Second)
	m.JobDeadLettered(ports.JobStop)
	m.JobsPending(1)
	m.EventsReconnected()
	m.EventHandled(ports.ActionDie, time.Second)
	m.ProbeFailed()
	m.ReconcileDrift(domain.OpReconcileAdopt)
	m.ReconcilePassed(time.Now(), time.Second)
	got := exported(t, m)
	for name, labels := range got {
		want, ok := documented[name]
		switch {
		case !ok:
			t.Errorf("%s is exported; the runbook does not list it", name)
		case !slices.Equal(labels, want):
			t.Errorf("%s has labels %q, the runbook says %q", name, labels, want)
		}
	}
	for name := range documented {
		if _, ok := got[name]; !ok {
			t.Errorf("the runbook lists %s; it is not exported", name)
		}
	}
}
