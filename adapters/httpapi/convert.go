package httpapi

import (
	"encoding/base64"
	"errors"
	"strconv"
	"time"

	"github.com/galaxy/rtmanager/api/paging"
	"github.com/galaxy/rtmanager/core/domain"
)

// The wire shapes of the domain types. Times go out in UTC; the empty
// strings the domain uses for "none" are the contract's nulls where it has
// nullable fields.

func toRuntimeRecord(r domain.Record) RuntimeRecord {
	return RuntimeRecord{
		GameId:             r.GameID,
		Status:             RuntimeStatus(r.Status),
		CurrentContainerId: nullable(r.CurrentContainerID),
		CurrentImageRef:    nullable(r.CurrentImageRef),
		EngineEndpoint:     r.EngineEndpoint,
		StatePath:          r.StatePath,
		DockerNetwork:      r.DockerNetwork,
		EngineNode:         nullable(r.EngineNode),
		StartedAt:          utcPtr(r.StartedAt),
		StoppedAt:          utcPtr(r.StoppedAt),
		RemovedAt:          utcPtr(r.RemovedAt),
		LastOpAt:           r.LastOpAt.UTC(),
		CreatedAt:          r.CreatedAt.UTC(),
	}
}

func toOperationEntry(o domain.Operation) OperationEntry {
	return OperationEntry{
		Id:            o.ID,
		GameId:        o.GameID,
		OpKind:        OperationKind(o.Kind),
		OpSource:      OperationSource(o.Source),
		SourceRef:     o.SourceRef,
		CorrelationId: o.CorrelationID,
		Outcome:       Outcome(o.Outcome),
		ErrorCode:     OperationErrorCode(o.ErrorCode),
		ErrorMessage:  o.ErrorMessage,
		ImageRef:      o.ImageRef,
		ContainerId:   o.ContainerID,
		Details:       object(o.Details),
		StartedAt:     o.StartedAt.UTC(),
		FinishedAt:    o.FinishedAt.UTC(),
	}
}

// object keeps a details map an object on the wire, as the column is: never null.
func object(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func toHealthSnapshot(s domain.HealthSnapshot) HealthSnapshot {
	return HealthSnapshot{
		GameId:        s.GameID,
		ContainerId:   s.ContainerID,
		Status:        HealthStatus(s.Status),
		Source:        HealthSource(s.Source),
		LastEventType: HealthEventType(s.LastEventType),
		Details:       object(s.Details),
		ObservedAt:    s.ObservedAt.UTC(),
	}
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Cursors are opaque to callers: base64url (unpadded) of the last item's key,
// the game_id for runtimes and the decimal operation id for the log. Keyset
// cursors stay correct while rows are added, unlike offsets.

var errBadCursor = errors.New("malformed cursor")

// cursorEncoding is strict so that every key has exactly one cursor.
var cursorEncoding = base64.RawURLEncoding.Strict()

func encodeCursor(key string) string { return cursorEncoding.EncodeToString([]byte(key)) }

// gameIDCursor decodes a runtimes cursor; nil means the first page ("").
func gameIDCursor(c *string) (string, error) {
	if c == nil {
		return "", nil
	}
	key, err := cursorEncoding.DecodeString(*c)
	if err != nil || domain.ValidateGameID(string(key)) != nil {
		return "", errBadCursor
	}
	return string(key), nil
}

// operationCursor decodes an operations cursor; nil means the first page (0).
func operationCursor(c *string) (int64, error) {
	if c == nil {
		return 0, nil
	}
	key, err := cursorEncoding.DecodeString(*c)
	if err != nil {
		return 0, errBadCursor
	}
	id, err := strconv.ParseInt(string(key), 10, 64)
	if err != nil || id <= 0 {
		return 0, errBadCursor
	}
	return id, nil
}

// pageSize is the request's `limit`, or the contract's default; validation
// has kept it within the contract's bounds.
func pageSize(limit *int) int {
	if limit == nil {
		return paging.DefaultSize
	}
	return *limit
}

// paginate cuts a result fetched with limit+1 rows down to one page; the
// extra row only tells that a next page exists, so the last page never
// hands out a cursor to an empty one.
func paginate[T, W any](rows []T, limit int, wire func(T) W, key func(T) string) ([]W, *string) {
	var next *string
	if len(rows) > limit {
		rows = rows[:limit]
		c := encodeCursor(key(rows[len(rows)-1]))
		next = &c
	}
	// Never null: an empty page is an empty array.
	page := make([]W, 0, len(rows))
	for _, r := range rows {
		page = append(page, wire(r))
	}
	return page, next
}
