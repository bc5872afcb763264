package jobs

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

// Field names of the job streams (contract §6.1, §6.2).
const (
	fieldGameID      = "game_id"
	fieldImageRef    = "image_ref"
	fieldReason      = "reason"
	fieldRequestedAt = "requested_at_ms"
)

// Bounds on what an entry may carry. A job is a few short strings; anything
// bigger is not a job and is refused before it reaches a log line or a row.
const (
	// maxEntryBytes matches the REST body limit (contract §12.2).
	maxEntryBytes = 64 << 10
	// maxImageRefBytes is far above any real reference (Docker's own name
	// limit is 255) and keeps rows and result entries small.
	maxImageRefBytes = 1024
)

// job is one decoded stream entry. A refused entry keeps why in refusal; its
// gameID is set only when the entry's game_id is itself valid, so that a
// result can still name the game.
type job struct {
	raw      ports.Job
	pos      domain.JobPosition
	gameID   string
	imageRef string
	reason   string
	refusal  string
	// carried marks a job held back by an earlier read: it is not one of
	// the entries the current read brought, so it cannot fill a share.
	carried bool
}

// decode checks an entry against the contract. Fields it does not know are
// ignored: a newer Lobby may add some without breaking this service. Every
// problem found is named, not only the first.
func decode(raw ports.Job) job {
	j := job{raw: raw}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	rank := domain.JobRankStart
	switch raw.Kind {
	case ports.JobStart:
	case ports.JobStop:
		rank = domain.JobRankStop
	default:
		bad("unknown job kind %q", raw.Kind)
	}
	pos, err := domain.ParseJobPosition(raw.ID, rank)
	if err != nil {
		// Not the parser's error: it shows the whole id, and an id is as
		// hostile as any field.
		bad("entry id %s is not <ms>-<seq>, two decimal numbers within int64", quote(raw.ID))
	}
	j.pos = pos

	if size := entrySize(raw.Fields); size > maxEntryBytes {
		// Nothing of it is looked at: a game id alone would not make it a job.
		j.refusal = fmt.Sprintf("the entry is %d bytes, over the %d a job may carry", size, maxEntryBytes)
		return j
	}
	if id, ok := raw.Fields[fieldGameID]; !ok {
		bad("%s is missing", fieldGameID)
	} else if err := domain.ValidateGameID(id); err != nil {
		bad("%v", err)
	} else {
		j.gameID = id
	}
	if at, ok := raw.Fields[fieldRequestedAt]; !ok {
		bad("%s is missing", fieldRequestedAt)
	} else if !isMillis(at) {
		bad("%s %s is not a decimal count of milliseconds", fieldRequestedAt, quote(at))
	}
	switch raw.Kind {
	case ports.JobStart:
		ref, ok := raw.Fields[fieldImageRef]
		switch {
		case !ok || ref == "":
			bad("%s is missing", fieldImageRef)
		case len(ref) > maxImageRefBytes:
			bad("%s is %d bytes, over %d", fieldImageRef, len(ref), maxImageRefBytes)
		case !printable(ref):
			bad("%s %s is not printable text", fieldImageRef, quote(ref))
		default:
			j.imageRef = ref
		}
	case ports.JobStop:
		reason, ok := raw.Fields[fieldReason]
		switch {
		case !ok:
			bad("%s is missing", fieldReason)
		case !domain.StopReason(reason).IsKnown():
			bad("%s %s is not one of %v", fieldReason, quote(reason), domain.AllStopReasons)
		default:
			j.reason = reason
		}
	}
	j.refusal = strings.Join(problems, "; ")
	return j
}

func entrySize(fields map[string]string) int {
	n := 0
	for k, v := range fields {
		n += len(k) + len(v)
	}
	return n
}

// isMillis accepts a non-negative decimal int64 with no sign or spaces.
func isMillis(s string) bool {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// quote shows a hostile value safely: escaped, and cut to a readable length.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}
