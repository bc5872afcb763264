package redis

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/internal/contractdoc"
	"github.com/galaxy/rtmanager/ports"
)

// documentedFields returns the first column of a contract table, as code spans.
func documentedFields(t *testing.T, heading string) []string {
	t.Helper()
	rows, err := contractdoc.Table(heading)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		f := contractdoc.Code(r[0])
		if f == "" {
			t.Fatalf("%s: row %q names no field", heading, r)
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

func sameFields(t *testing.T, what string, published map[string]string, heading string) {
	t.Helper()
	got := slices.Sorted(maps.Keys(published))
	if want := documentedFields(t, heading); !slices.Equal(got, want) {
		t.Errorf("%s: published fields %q, contract (%s) %q", what, got, heading, want)
	}
}

// TestPublishedFieldsAreTheContracts publishes one entry of every stream RTM
// writes and holds its field names to the tables of docs/contract.md.
func TestPublishedFieldsAreTheContracts(t *testing.T) {
	r := newSharedRedis(t)
	names := r.testNames()
	p := NewPublisher(r, names, 0)
	at := time.UnixMilli(1_700_000_000_000)

	answered(t, r, names, ports.JobResult{GameID: "g1", JobID: "1-0", JobKind: ports.JobStart,
		Outcome: domain.OutcomeSuccess, FinishedAt: at})
	sameFields(t, "job result", onlyEntry(t, r, names.JobResults), "### 6.3")

	if err := p.PublishIntent(ctxT(t), domain.NotificationIntent{Type: domain.NotifyImagePullFailed, GameID: "g1",
		OperationID: 1, ImageRef: "galaxy/game:1.0.0", ErrorCode: domain.CodeImagePullFailed, AttemptedAt: at, OccurredAt: at}); err != nil {
		t.Fatal(err)
	}
	intent := onlyEntry(t, r, names.NotificationIntents)
	sameFields(t, "notification intent", intent, "### 6.4")
	var payload map[string]any
	if err := json.Unmarshal([]byte(intent["payload_json"]), &payload); err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(payload)), documentedFields(t, "#### Notification payload"); !slices.Equal(got, want) {
		t.Errorf("payload_json keys %q, contract %q", got, want)
	}

	if err := p.PublishHealth(ctxT(t), domain.HealthEvent{GameID: "g1", ContainerID: "c1",
		Type: domain.EventContainerStarted, OccurredAt: at}); err != nil {
		t.Fatal(err)
	}
	sameFields(t, "health event", onlyEntry(t, r, names.HealthEvents), "### 6.5")

	// A job without fields of its own, nothing cut: what remains is the
	// metadata but `cut`.
	if err := p.DeadLetter(ctxT(t), ports.Job{Kind: ports.JobStart, ID: "1-0"}, "bad"); err != nil {
		t.Fatal(err)
	}
	letter := onlyEntry(t, r, names.DeadLetters)
	if _, ok := letter[deadLetterCut]; ok {
		t.Errorf("dead letter with nothing cut has %s: %q", deadLetterCut, letter[deadLetterCut])
	}
	letter[deadLetterCut] = ""
	sameFields(t, "dead letter", letter, "### 12.3")
	// A job whose one field is cut: without that field, the whole metadata.
	r.Del(ctxT(t), names.DeadLetters)
	long := strings.Repeat("x", deadLetterMaxBytes+1)
	if err := p.DeadLetter(ctxT(t), ports.Job{Kind: ports.JobStart, ID: "1-0", Fields: map[string]string{"f": long}}, "bad"); err != nil {
		t.Fatal(err)
	}
	letter = onlyEntry(t, r, names.DeadLetters)
	delete(letter, "f")
	sameFields(t, "dead letter with a cut", letter, "### 12.3")
}

// TestDefaultStreamKeysAreTheContracts: the default keys are those of the
// contract's stream table.
func TestDefaultStreamKeysAreTheContracts(t *testing.T) {
	d := DefaultStreamNames()
	got := []string{d.StartJobs, d.StopJobs, d.JobResults, d.NotificationIntents, d.HealthEvents}
	slices.Sort(got)
	if want := documentedFields(t, "## 6."); !slices.Equal(got, want) {
		t.Errorf("default stream keys %q, contract §6 %q", got, want)
	}
}
