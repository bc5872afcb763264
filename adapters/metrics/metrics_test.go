package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
)

func TestTheEndpointExposesWhatTheCoreReports(t *testing.T) {
	m := New()
	m.OperationDone(domain.OpStart, domain.SourceGMRest, domain.OutcomeFailure, domain.CodeConflict, 250*time.Millisecond)
	m.HealthEventPublished(domain.EventContainerStarted)
	m.LeaseConflict()
	m.SetRuntimes(map[domain.Status]int{domain.StatusRunning: 3})

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`rtmanager_operations_total{error_code="conflict",op_kind="start",op_source="gm_rest",outcome="failure"} 1`,
		`rtmanager_operation_duration_seconds_count{op_kind="start",outcome="failure"} 1`,
		`rtmanager_health_events_total{event_type="container_started"} 1`,
		`rtmanager_lease_conflicts_total 1`,
		`rtmanager_runtimes{status="running"} 3`,
		`rtmanager_runtimes{status="removed"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
