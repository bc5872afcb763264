package httpapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/galaxy/rtmanager/adapters/httpapi"
	"github.com/galaxy/rtmanager/adapters/postgres"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/ports"
)

// pgServer serves the API on the real PostgreSQL store, in a fresh schema.
func pgServer(t *testing.T) (*postgres.Store, func(method, path string, headers ...string) response) {
	t.Helper()
	pool, err := postgres.Open(t.Context(), testenv.FreshSchema(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	store := postgres.NewStore(pool)
	srv, _ := server(t, httpapi.Config{Runtimes: store.Runtimes(), Operations: store.Operations(), Health: store.Health()})
	return store, func(method, path string, headers ...string) response {
		t.Helper()
		return do(t, srv, method, path, "", headers...)
	}
}

func TestReadRuntimes(t *testing.T) {
	store, get := pgServer(t)
	ids := []string{"a-1", "B-2", "c_3", "d_4", "e-5"} // byte order: B-2 first
	for i, id := range ids {
		rec := record(id)
		if i%2 == 1 {
			stopped := t0.Add(time.Hour)
			rec.Status, rec.StoppedAt, rec.CurrentContainerID, rec.CurrentImageRef = domain.StatusStopped, &stopped, "", ""
		}
		if _, err := store.Runtimes().Upsert(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("one page", func(t *testing.T) {
		list := decode[httpapi.RuntimeList](t, get("GET", runtimes))
		if got := gameIDs(list.Runtimes); !reflect.DeepEqual(got, []string{"B-2", "a-1", "c_3", "d_4", "e-5"}) {
			t.Errorf("order %q", got)
		}
		if list.NextCursor != nil {
			t.Errorf("next_cursor %q on the only page", *list.NextCursor)
		}
	})
	t.Run("pages", func(t *testing.T) {
		var all []string
		path := runtimes + "?limit=2"
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatal("more pages than records")
			}
			list := decode[httpapi.RuntimeList](t, get("GET", path))
			all = append(all, gameIDs(list.Runtimes)...)
			if list.NextCursor == nil {
				break
			}
			path = runtimes + "?limit=2&cursor=" + *list.NextCursor
		}
		if !reflect.DeepEqual(all, []string{"B-2", "a-1", "c_3", "d_4", "e-5"}) {
			t.Errorf("paged through %q", all)
		}
	})
	t.Run("last page is full", func(t *testing.T) {
		list := decode[httpapi.RuntimeList](t, get("GET", runtimes+"?limit=5"))
		if len(list.Runtimes) != 5 || list.NextCursor != nil {
			t.Errorf("%d records, next_cursor %v: a full last page must not point to an empty one", len(list.Runtimes), list.NextCursor)
		}
	})
	t.Run("status filter", func(t *testing.T) {
		list := decode[httpapi.RuntimeList](t, get("GET", runtimes+"?status=stopped&limit=1"))
		page2 := decode[httpapi.RuntimeList](t, get("GET", runtimes+"?status=stopped&limit=1&cursor="+*list.NextCursor))
		if got := append(gameIDs(list.Runtimes), gameIDs(page2.Runtimes)...); !reflect.DeepEqual(got, []string{"B-2", "d_4"}) {
			t.Errorf("stopped: %q", got)
		}
		if page2.NextCursor != nil {
			t.Errorf("next_cursor after the last stopped record")
		}
		if list := decode[httpapi.RuntimeList](t, get("GET", runtimes+"?status=removed")); list.Runtimes == nil || len(list.Runtimes) != 0 {
			t.Errorf("removed: %+v, want an empty array", list.Runtimes)
		}
	})
	t.Run("cursor past the end", func(t *testing.T) {
		list := decode[httpapi.RuntimeList](t, get("GET", runtimes+"?cursor="+cursor("zzz")))
		if len(list.Runtimes) != 0 || list.NextCursor != nil {
			t.Errorf("%+v", list)
		}
	})
	t.Run("get", func(t *testing.T) {
		got := decode[map[string]any](t, get("GET", runtimes+"/B-2"))
		want := map[string]any{
			"game_id": "B-2", "status": "stopped", "current_container_id": nil, "current_image_ref": nil,
			"engine_endpoint": "http://galaxy-game-B-2:8080", "state_path": "/var/lib/galaxy/games/B-2",
			"docker_network": "galaxy-net", "engine_node": nil, "started_at": "2031-03-14T15:10:26.535897Z",
			"stopped_at": "2031-03-14T16:09:26.535897Z", "removed_at": nil,
			"last_op_at": "2031-03-14T15:10:26.535897Z", "created_at": "2031-03-14T15:09:26.535897Z",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("\n got %v\nwant %v", got, want)
		}
		running := decode[httpapi.RuntimeRecord](t, get("GET", runtimes+"/a-1"))
		if running.CurrentContainerId == nil || *running.CurrentContainerId != "c-a-1" || running.StoppedAt != nil {
			t.Errorf("running record %+v", running)
		}
	})
	t.Run("get missing", func(t *testing.T) {
		r := get("GET", runtimes+"/nobody", "X-Request-Id", "r-2")
		r.expectError(t, http.StatusNotFound, domain.CodeNotFound)
		// The core answers a lifecycle call on a game without a record in
		// the same words.
		if got, want := r.errorMessage(), domain.NoRuntimeMessage("nobody"); got != want {
			t.Errorf("message %q, want %q", got, want)
		}
	})
}

func gameIDs(recs []httpapi.RuntimeRecord) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.GameId)
	}
	return out
}

func TestReadOperations(t *testing.T) {
	store, get := pgServer(t)
	var ids []int64
	for i := range 5 {
		op := domain.Operation{
			GameID: "game-1", Kind: domain.OpStart, Source: domain.SourceGMRest, SourceRef: "req-" + strconv.Itoa(i),
			CorrelationID: "corr", Outcome: domain.OutcomeSuccess, ImageRef: "galaxy/game:1.0.0", ContainerID: "c-1",
			StartedAt: t0.Add(time.Duration(i) * time.Second), FinishedAt: t0.Add(time.Duration(i)*time.Second + time.Millisecond),
		}
		if i == 4 {
			op.Kind, op.Outcome, op.ErrorCode, op.ErrorMessage = domain.OpStop, domain.OutcomeFailure, domain.CodeConflict, "busy"
			op.Details = map[string]any{"reason": "finished", "nested": map[string]any{"ünïcode": "✓", "n": 1.5}}
		}
		id, err := store.Operations().Append(t.Context(), op)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := store.Operations().Append(t.Context(), domain.Operation{GameID: "game-2", Kind: domain.OpStart,
		Source: domain.SourceAdminRest, Outcome: domain.OutcomeSuccess, StartedAt: t0, FinishedAt: t0}); err != nil {
		t.Fatal(err)
	}

	t.Run("pages newest first", func(t *testing.T) {
		var got []int64
		path := runtimes + "/game-1/operations?limit=2"
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatal("more pages than operations")
			}
			list := decode[httpapi.OperationList](t, get("GET", path))
			for _, op := range list.Operations {
				got = append(got, op.Id)
			}
			if list.NextCursor == nil {
				break
			}
			path = runtimes + "/game-1/operations?limit=2&cursor=" + *list.NextCursor
		}
		want := []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ids %v, want %v", got, want)
		}
	})
	t.Run("entry", func(t *testing.T) {
		list := decode[map[string]any](t, get("GET", runtimes+"/game-1/operations?limit=1"))
		want := map[string]any{
			"next_cursor": cursor(strconv.FormatInt(ids[4], 10)),
			"operations": []any{map[string]any{
				"id": float64(ids[4]), "game_id": "game-1", "op_kind": "stop", "op_source": "gm_rest",
				"source_ref": "req-4", "correlation_id": "corr", "outcome": "failure", "error_code": "conflict",
				"error_message": "busy", "image_ref": "galaxy/game:1.0.0", "container_id": "c-1",
				"details":    map[string]any{"reason": "finished", "nested": map[string]any{"ünïcode": "✓", "n": 1.5}},
				"started_at": "2031-03-14T15:09:30.535897Z", "finished_at": "2031-03-14T15:09:30.536897Z",
			}},
		}
		if !reflect.DeepEqual(list, want) {
			t.Errorf("\n got %v\nwant %v", list, want)
		}
	})
	t.Run("a game without operations", func(t *testing.T) {
		list := decode[map[string]any](t, get("GET", runtimes+"/nobody/operations"))
		if !reflect.DeepEqual(list, map[string]any{"operations": []any{}, "next_cursor": nil}) {
			t.Errorf("%v", list)
		}
	})
}

func TestReadHealth(t *testing.T) {
	store, get := pgServer(t)
	details := map[string]any{"consecutive_failures": float64(3), "last_error": "timeout", "nested": map[string]any{"a": []any{true, nil}}}
	if err := store.Health().Upsert(t.Context(), domain.HealthSnapshot{
		GameID: "game-1", ContainerID: "c-1", Status: domain.HealthProbeFailed, Source: domain.HealthSourceProbe,
		LastEventType: domain.EventProbeFailed, Details: details, ObservedAt: t0.In(time.FixedZone("X", 3600)),
	}); err != nil {
		t.Fatal(err)
	}
	got := decode[map[string]any](t, get("GET", runtimes+"/game-1/health"))
	want := map[string]any{
		"game_id": "game-1", "container_id": "c-1", "status": "probe_failed", "source": "probe",
		"last_event_type": "probe_failed", "details": details, "observed_at": "2031-03-14T15:09:26.535897Z",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %v\nwant %v", got, want)
	}
	r := get("GET", runtimes+"/game-2/health")
	r.expectError(t, http.StatusNotFound, domain.CodeNotFound)
	if got, want := r.errorMessage(), "no health snapshot for game game-2"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}

// TestStoreErrors: an unavailable store is 503; any other failure is 500
// with a message that tells nothing of the cause.
func TestStoreErrors(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   domain.ErrorCode
	}{
		{fmt.Errorf("postgres: %w: dial tcp 10.1.2.3:5432", ports.ErrUnavailable), http.StatusServiceUnavailable, domain.CodeServiceUnavailable},
		{errors.New("pq: relation secret_table does not exist"), http.StatusInternalServerError, domain.CodeInternalError},
		// A list never has "not found" to say: a store claiming it is a fault.
		{ports.ErrNotFound, http.StatusInternalServerError, domain.CodeInternalError},
	}
	for _, c := range cases {
		srv, _ := server(t, httpapi.Config{
			Runtimes: failingRuntimes{c.err}, Operations: failingOperations{c.err}, Health: failingHealth{c.err},
		})
		paths := []string{runtimes, runtimes + "/game-1/operations"}
		if !errors.Is(c.err, ports.ErrNotFound) {
			paths = append(paths, runtimes+"/game-1", runtimes+"/game-1/health")
		}
		for _, p := range paths {
			r := do(t, srv, "GET", p, "")
			r.expectError(t, c.status, c.code)
			if msg := r.errorMessage(); msg != "storage unavailable" && msg != "internal error" {
				t.Errorf("GET %s with %v: message %q", p, c.err, msg)
			}
		}
	}
}
