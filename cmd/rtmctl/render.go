package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/galaxy/rtmanager/api/client"
)

// shortID is how many characters of a container id the tables show, as
// `docker ps` does; `get` shows the whole id.
const shortID = 12

// none stands in for an empty or null value so every column stays filled.
const none = "-"

func printRuntimes(s *session, list *client.RuntimeList) {
	tw := newTable(s.stdout)
	fmt.Fprintln(tw, "GAME\tSTATUS\tIMAGE\tCONTAINER\tLAST OP")
	for _, r := range list.Runtimes {
		container := text(r.CurrentContainerId)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n",
			r.GameId, r.Status, text(r.CurrentImageRef), container[:min(len(container), shortID)], stamp(&r.LastOpAt))
	}
	_ = tw.Flush()
	moreHint(s, list.NextCursor)
}

func printOperations(s *session, list *client.OperationList) {
	tw := newTable(s.stdout)
	fmt.Fprintln(tw, "ID\tKIND\tSOURCE\tOUTCOME\tCODE\tSTARTED\tTOOK\tMESSAGE")
	for _, op := range list.Operations {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			op.Id, op.OpKind, op.OpSource, op.Outcome, orNone(string(op.ErrorCode)), stamp(&op.StartedAt),
			op.FinishedAt.Sub(op.StartedAt).Round(time.Millisecond), orNone(oneLine(op.ErrorMessage)))
	}
	_ = tw.Flush()
	moreHint(s, list.NextCursor)
}

func printRecord(s *session, r *client.RuntimeRecord) {
	printFields(s.stdout, [][2]string{
		{"game_id", r.GameId},
		{"status", string(r.Status)},
		{"current_container_id", text(r.CurrentContainerId)},
		{"current_image_ref", text(r.CurrentImageRef)},
		{"engine_endpoint", r.EngineEndpoint},
		{"state_path", r.StatePath},
		{"docker_network", r.DockerNetwork},
		{"engine_node", text(r.EngineNode)},
		{"started_at", stamp(r.StartedAt)},
		{"stopped_at", stamp(r.StoppedAt)},
		{"removed_at", stamp(r.RemovedAt)},
		{"last_op_at", stamp(&r.LastOpAt)},
		{"created_at", stamp(&r.CreatedAt)},
	})
}

func printHealth(s *session, h *client.HealthSnapshot) {
	details, _ := json.Marshal(h.Details) // decoded from JSON, so it encodes again
	printFields(s.stdout, [][2]string{
		{"game_id", h.GameId},
		{"container_id", orNone(h.ContainerId)},
		{"status", string(h.Status)},
		{"source", string(h.Source)},
		{"last_event_type", string(h.LastEventType)},
		{"observed_at", stamp(&h.ObservedAt)},
		{"details", string(details)},
	})
}

// printFields prints a single object as aligned "key: value" lines, keyed
// by the JSON field names so people and scripts speak of the same things.
func printFields(w io.Writer, fields [][2]string) {
	tw := newTable(w)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	_ = tw.Flush()
}

// moreHint tells people on stderr, away from the table they may be piping,
// how to get the next page.
func moreHint(s *session, next *string) {
	if next != nil {
		fmt.Fprintf(s.stderr, "rtmctl: more on the next page: --cursor %s\n", *next)
	}
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

func text(p *string) string {
	if p == nil {
		return none
	}
	return orNone(*p)
}

func orNone(v string) string {
	if v == "" {
		return none
	}
	return v
}

func stamp(t *time.Time) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

// oneLine folds whitespace, so a multi-line or tabbed error message cannot
// break the table's rows or columns.
func oneLine(v string) string {
	return strings.Join(strings.Fields(v), " ")
}
