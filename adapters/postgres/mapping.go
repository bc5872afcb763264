package postgres

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// The helpers below are the only place where storage representations meet
// domain ones: NULL ↔ "" for optional text, NULL ↔ nil for optional times,
// jsonb ↔ map[string]any. Times leave the store in UTC whatever the
// session's time zone.

func timestamptz(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t.UTC(), Valid: true}
}

func nullTimestamptz(t *time.Time) pgtype.Timestamptz {
	if t == nil {
		return pgtype.Timestamptz{}
	}
	return timestamptz(*t)
}

func timeOf(ts pgtype.Timestamptz) time.Time { return ts.Time.UTC() }

func timePtrOf(ts pgtype.Timestamptz) *time.Time {
	if !ts.Valid {
		return nil
	}
	t := ts.Time.UTC()
	return &t
}

// nullText stores "" as NULL, so an absent container or image is NULL in SQL.
func nullText(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

func textOf(t pgtype.Text) string { return t.String }

// encodeDetails writes a details object; nil becomes {} because the column is
// a JSON object, never JSON null.
func encodeDetails(d map[string]any) ([]byte, error) {
	if d == nil {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode details: %w", err)
	}
	return b, nil
}

// decodeDetails reads a details object. Numbers stay json.Number so integers
// beyond 2^53 come back exactly as written instead of rounded through float64;
// the result is never nil, so it marshals as {} rather than null.
func decodeDetails(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var d map[string]any
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("decode details: %w", err)
	}
	if d == nil {
		d = map[string]any{}
	}
	return d, nil
}
