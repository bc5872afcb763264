package jobs

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/ports"
)

const (
	okGame = "g-1"
	okRef  = "galaxy/game:1.0.0"
	okAt   = "1700000000000"
	okID   = "1700000000123-4"
)

// fields builds a field map from key/value pairs, starting from base; a nil
// value deletes the key.
func fields(base map[string]string, kv ...any) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
			continue
		}
		out[k] = kv[i+1].(string)
	}
	return out
}

var (
	startFields = map[string]string{"game_id": okGame, "image_ref": okRef, "requested_at_ms": okAt}
	stopFields  = map[string]string{"game_id": okGame, "reason": "finished", "requested_at_ms": okAt}
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name   string
		kind   ports.JobKind
		id     string
		fields map[string]string
		// wantGame is the gameID decode must set ("" for none).
		wantGame string
		// wantRefused lists what the refusal must name; empty means accepted.
		wantRefused []string
		// notNamed lists what the refusal must not mention.
		notNamed []string
	}{
		{name: "a valid start entry is accepted", kind: ports.JobStart, id: okID, fields: startFields, wantGame: okGame},
		{name: "a valid stop entry is accepted", kind: ports.JobStop, id: okID, fields: stopFields, wantGame: okGame},
		{name: "every stop reason of the contract is accepted", kind: ports.JobStop, id: okID,
			fields: fields(stopFields, "reason", "orphan_cleanup"), wantGame: okGame},
		{name: "unknown fields are ignored", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "priority", "high", "trace_id", "\x00\xff"), wantGame: okGame},
		{name: "a stop ignores an image_ref field, even a hostile one", kind: ports.JobStop, id: okID,
			fields: fields(stopFields, "image_ref", strings.Repeat("\x01", 2000)), wantGame: okGame},
		{name: "requested_at_ms of zero is a count of milliseconds", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "requested_at_ms", "0"), wantGame: okGame},
		{name: "an image_ref of exactly 1024 bytes is accepted", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "image_ref", "galaxy/game:"+strings.Repeat("1", 1024-len("galaxy/game:"))), wantGame: okGame},

		{name: "a start without game_id is refused and names no game", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "game_id", nil), wantRefused: []string{"game_id is missing"}},
		{name: "a stop without game_id is refused", kind: ports.JobStop, id: okID,
			fields: fields(stopFields, "game_id", nil), wantRefused: []string{"game_id is missing"}},
		{name: "a start without image_ref is refused but keeps its game", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "image_ref", nil), wantGame: okGame, wantRefused: []string{"image_ref is missing"}},
		{name: "an empty image_ref counts as missing", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "image_ref", ""), wantGame: okGame, wantRefused: []string{"image_ref is missing"}},
		{name: "a stop without reason is refused but keeps its game", kind: ports.JobStop, id: okID,
			fields: fields(stopFields, "reason", nil), wantGame: okGame, wantRefused: []string{"reason is missing"}},
		{name: "an entry without requested_at_ms is refused but keeps its game", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "requested_at_ms", nil), wantGame: okGame, wantRefused: []string{"requested_at_ms is missing"}},

		{name: "a game_id with a dot is refused", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "game_id", "g.1"), wantRefused: []string{`game_id "g.1" is invalid`}},
		{name: "a game_id of 52 characters is refused", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "game_id", strings.Repeat("a", 52)), wantRefused: []string{"game_id", "is invalid"}},
		{name: "a game_id of 51 characters is accepted", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "game_id", strings.Repeat("a", 51)), wantGame: strings.Repeat("a", 51)},
		{name: "an empty game_id is refused", kind: ports.JobStop, id: okID,
			fields: fields(stopFields, "game_id", ""), wantRefused: []string{`game_id "" is invalid`}},
		{name: "a game_id of binary bytes is refused and shown escaped", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "game_id", "g\x00\xff\n"), wantRefused: []string{`game_id "g\x00\xff\n" is invalid`}},
		{name: "a game_id with a trailing newline is refused", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "game_id", "g-1\n"), wantRefused: []string{"game_id", "is invalid"}},

		{name: "an unknown stop reason is refused and the known ones listed", kind: ports.JobStop, id: okID,
			fields: fields(stopFields, "reason", "bored"), wantGame: okGame,
			wantRefused: []string{`reason "bored" is not one of`, "orphan_cleanup", "timeout"}},
		{name: "a stop reason differing only in case is refused", kind: ports.JobStop, id: okID,
			fields: fields(stopFields, "reason", "Finished"), wantGame: okGame, wantRefused: []string{`reason "Finished"`}},

		{name: "a non-numeric requested_at_ms is refused", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "requested_at_ms", "yesterday"), wantGame: okGame,
			wantRefused: []string{`requested_at_ms "yesterday" is not a decimal count of milliseconds`}},
		{name: "a negative requested_at_ms is refused", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "requested_at_ms", "-5"), wantGame: okGame, wantRefused: []string{`requested_at_ms "-5"`}},
		{name: "a signed requested_at_ms is refused", kind: ports.JobStop, id: okID,
			fields: fields(stopFields, "requested_at_ms", "+5"), wantGame: okGame, wantRefused: []string{`requested_at_ms "+5"`}},
		{name: "a requested_at_ms beyond int64 is refused", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "requested_at_ms", "9223372036854775808"), wantGame: okGame,
			wantRefused: []string{`requested_at_ms "9223372036854775808"`}},
		{name: "a requested_at_ms with spaces is refused", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "requested_at_ms", " 5"), wantGame: okGame, wantRefused: []string{`requested_at_ms " 5"`}},
		{name: "a fractional requested_at_ms is refused", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "requested_at_ms", "5.0"), wantGame: okGame, wantRefused: []string{`requested_at_ms "5.0"`}},

		{name: "an image_ref over 1024 bytes is refused by its size", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "image_ref", "galaxy/game:"+strings.Repeat("1", 1025-len("galaxy/game:"))), wantGame: okGame,
			wantRefused: []string{"image_ref is 1025 bytes, over 1024"}, notNamed: []string{"11111111111111111111"}},
		{name: "an image_ref with a control character is refused", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "image_ref", "galaxy/game:1\n"), wantGame: okGame,
			wantRefused: []string{`image_ref "galaxy/game:1\n" is not printable text`}},
		{name: "an image_ref of invalid UTF-8 is refused", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "image_ref", "galaxy/\xffgame:1"), wantGame: okGame,
			wantRefused: []string{`image_ref "galaxy/\xffgame:1" is not printable text`}},
		{name: "a long non-printable image_ref is shown cut", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "image_ref", "\x07"+strings.Repeat("x", 1000)), wantGame: okGame,
			wantRefused: []string{"image_ref", "…", "is not printable text"}, notNamed: []string{strings.Repeat("x", 100)}},

		{name: "an entry over 64 KiB is refused by its size alone", kind: ports.JobStart, id: okID,
			fields:      fields(startFields, "padding", strings.Repeat("p", 64<<10)),
			wantRefused: []string{"over the 65536 a job may carry"}, notNamed: []string{"game_id", "image_ref"}},
		{name: "an entry over 64 KiB is refused without looking at its other problems", kind: ports.JobStart, id: okID,
			fields:      fields(startFields, "image_ref", strings.Repeat("\x00", 64<<10), "requested_at_ms", "x"),
			wantRefused: []string{"over the 65536 a job may carry"}, notNamed: []string{"image_ref", "requested_at_ms", "printable"}},
		{name: "an entry of exactly 64 KiB is looked at", kind: ports.JobStart, id: okID,
			fields: fields(startFields, "padding", strings.Repeat("p", 64<<10-len("padding")-entrySize(startFields))), wantGame: okGame},

		{name: "an entry id that is not <ms>-<seq> is refused", kind: ports.JobStart, id: "17000",
			fields: startFields, wantGame: okGame, wantRefused: []string{`entry id "17000"`}},
		{name: "a negative entry id is refused", kind: ports.JobStop, id: "5--1",
			fields: stopFields, wantGame: okGame, wantRefused: []string{`entry id "5--1"`}},
		{name: "a long entry id is shown cut", kind: ports.JobStart, id: "1-" + strings.Repeat("\xe0", 5000),
			fields: startFields, wantGame: okGame, wantRefused: []string{`entry id "1-\xe0`, "…"},
			notNamed: []string{strings.Repeat(`\xe0`, 100)}},
		{name: "an unknown job kind is refused", kind: ports.JobKind("restart"), id: okID,
			fields: startFields, wantGame: okGame, wantRefused: []string{`unknown job kind "restart"`}},

		{name: "several problems are all named", kind: ports.JobStart, id: "x",
			fields:      map[string]string{"game_id": "../etc", "image_ref": "a\tb", "requested_at_ms": "-1"},
			wantRefused: []string{`entry id "x"`, `game_id "../etc" is invalid`, `requested_at_ms "-1"`, `image_ref "a\tb"`}},
		{name: "an empty stop entry names every missing field", kind: ports.JobStop, id: okID,
			fields:      map[string]string{},
			wantRefused: []string{"game_id is missing", "requested_at_ms is missing", "reason is missing"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := ports.Job{Kind: tc.kind, ID: tc.id, Fields: tc.fields}
			j := decode(raw)

			if j.raw.Kind != raw.Kind || j.raw.ID != raw.ID || len(j.raw.Fields) != len(raw.Fields) {
				t.Errorf("decode kept raw %+v, want the entry as read", j.raw)
			}
			if j.gameID != tc.wantGame {
				t.Errorf("gameID = %q, want %q", j.gameID, tc.wantGame)
			}
			if len(tc.wantRefused) == 0 {
				if j.refusal != "" {
					t.Fatalf("refused: %s", j.refusal)
				}
				wantPos, err := domain.ParseJobPosition(tc.id, rankOf(tc.kind))
				if err != nil || j.pos != wantPos {
					t.Errorf("pos = %+v, want %+v (%v)", j.pos, wantPos, err)
				}
				switch tc.kind {
				case ports.JobStart:
					if j.imageRef != tc.fields["image_ref"] || j.reason != "" {
						t.Errorf("imageRef, reason = %q, %q; want %q, none", j.imageRef, j.reason, tc.fields["image_ref"])
					}
				case ports.JobStop:
					if j.reason != tc.fields["reason"] || j.imageRef != "" {
						t.Errorf("reason, imageRef = %q, %q; want %q, none", j.reason, j.imageRef, tc.fields["reason"])
					}
				}
				return
			}
			if j.refusal == "" {
				t.Fatalf("accepted; want a refusal naming %q", tc.wantRefused)
			}
			for _, want := range tc.wantRefused {
				if !strings.Contains(j.refusal, want) {
					t.Errorf("refusal %q does not name %q", j.refusal, want)
				}
			}
			for _, not := range tc.notNamed {
				if strings.Contains(j.refusal, not) {
					t.Errorf("refusal %q mentions %q", j.refusal, not)
				}
			}
			if len(j.refusal) > 1024 {
				t.Errorf("refusal is %d bytes; hostile values must be cut", len(j.refusal))
			}
		})
	}
}

func TestDecodePlacesTheEntryByItsIDAndStream(t *testing.T) {
	start := decode(ports.Job{Kind: ports.JobStart, ID: "10-3", Fields: startFields})
	stop := decode(ports.Job{Kind: ports.JobStop, ID: "10-1", Fields: stopFields})
	if want := (domain.JobPosition{Ms: 10, Rank: domain.JobRankStart, Seq: 3}); start.pos != want {
		t.Errorf("start pos = %+v, want %+v", start.pos, want)
	}
	if want := (domain.JobPosition{Ms: 10, Rank: domain.JobRankStop, Seq: 1}); stop.pos != want {
		t.Errorf("stop pos = %+v, want %+v", stop.pos, want)
	}
	if start.pos.Compare(stop.pos) >= 0 {
		t.Errorf("a start and a stop of one millisecond: start %v is not before stop %v", start.pos, stop.pos)
	}
}

func rankOf(k ports.JobKind) int8 {
	if k == ports.JobStop {
		return domain.JobRankStop
	}
	return domain.JobRankStart
}

// encodeFields is the inverse of the fuzz target's field split, for seeds.
func encodeFields(kv ...string) []byte {
	return []byte(strings.Join(kv, "\x00"))
}

// FuzzDecode feeds decode arbitrary entries: the field map is the fuzzed
// bytes split on NUL into key, value, key, value…; the entry id and the stream
// are fuzzed too.
func FuzzDecode(f *testing.F) {
	f.Add(false, okID, encodeFields("game_id", okGame, "image_ref", okRef, "requested_at_ms", okAt))
	f.Add(true, okID, encodeFields("game_id", okGame, "reason", "finished", "requested_at_ms", okAt))
	f.Add(true, "0-0", encodeFields("game_id", "G_9", "reason", "admin_request", "requested_at_ms", "0", "extra", "x"))
	f.Add(false, "5-1", encodeFields("game_id", "g.1", "image_ref", "a\x01b", "requested_at_ms", "+5"))
	f.Add(false, "x", encodeFields("image_ref", "\xff", "requested_at_ms", "99999999999999999999"))
	f.Add(true, "9223372036854775807-9223372036854775807", encodeFields("game_id", "", "reason", "bored"))

	f.Fuzz(func(t *testing.T, stop bool, id string, data []byte) {
		kind := ports.JobStart
		if stop {
			kind = ports.JobStop
		}
		flds := map[string]string{}
		parts := strings.Split(string(data), "\x00")
		for i := 0; i+1 < len(parts); i += 2 {
			flds[parts[i]] = parts[i+1]
		}
		raw := ports.Job{Kind: kind, ID: id, Fields: flds}

		j := decode(raw)

		gid, hasGame := flds[fieldGameID]
		usable := hasGame && domain.ValidateGameID(gid) == nil && entrySize(flds) <= maxEntryBytes
		if (j.gameID != "") != usable || (usable && j.gameID != gid) {
			t.Fatalf("gameID = %q for game_id %q (present %v, usable %v)", j.gameID, gid, hasGame, usable)
		}
		if j.gameID != "" && domain.ValidateGameID(j.gameID) != nil {
			t.Fatalf("gameID %q is not a valid game id", j.gameID)
		}
		if len(j.refusal) > 4<<10 {
			t.Fatalf("refusal is %d bytes: %.200q…", len(j.refusal), j.refusal)
		}
		if j.refusal != "" {
			return
		}
		// Accepted: everything the lifecycle and the answer rely on holds.
		if j.gameID == "" {
			t.Fatalf("accepted without a game id")
		}
		pos, err := domain.ParseJobPosition(id, rankOf(kind))
		if err != nil || j.pos != pos {
			t.Fatalf("accepted entry id %q: pos %+v, parsed %+v, %v", id, j.pos, pos, err)
		}
		at, ok := flds[fieldRequestedAt]
		if n, err := strconv.ParseInt(at, 10, 64); !ok || err != nil || n < 0 || at == "" || at[0] < '0' || at[0] > '9' {
			t.Fatalf("accepted requested_at_ms %q (present %v)", at, ok)
		}
		if entrySize(flds) > maxEntryBytes {
			t.Fatalf("accepted an entry of %d bytes", entrySize(flds))
		}
		switch kind {
		case ports.JobStart:
			ref := flds[fieldImageRef]
			if ref == "" || len(ref) > maxImageRefBytes || !utf8.ValidString(ref) ||
				strings.IndexFunc(ref, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
				t.Fatalf("accepted image_ref %q", ref)
			}
			if j.imageRef != ref {
				t.Fatalf("imageRef = %q, want %q", j.imageRef, ref)
			}
		case ports.JobStop:
			reason := flds[fieldReason]
			if !slices.Contains(domain.AllStopReasons, domain.StopReason(reason)) || j.reason != reason {
				t.Fatalf("accepted reason %q (kept %q)", reason, j.reason)
			}
		}
	})
}
