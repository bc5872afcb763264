package postgres_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestSchemaRefusesRawWrites writes rows with plain SQL, bypassing the store,
// to prove the database itself keeps unknown enum values and broken records out.
func TestSchemaRefusesRawWrites(t *testing.T) {
	t.Parallel()
	_, pool := newStore(t)

	const record = `INSERT INTO runtime_records (game_id, status, current_container_id, current_image_ref,
		engine_endpoint, state_path, docker_network, last_op_at, created_at)
		VALUES ($1, $2, $3, $4, 'http://e:8080', '/s', 'n', now(), now())`
	const op = `INSERT INTO operation_log (game_id, op_kind, op_source, outcome, error_code, details, started_at, finished_at)
		VALUES ('g', $1, $2, $3, $4, $5, now(), now())`
	const health = `INSERT INTO health_snapshots (game_id, status, source, last_event_type, details, observed_at)
		VALUES ('g', $1, $2, $3, $4, now())`
	const fence = `INSERT INTO job_fences (game_id, job_ms, job_rank, job_seq) VALUES ($1, $2, $3, $4)`

	tests := []struct {
		name       string
		sql        string
		args       []any
		constraint string
	}{
		{"an unknown runtime status", record, []any{"g1", "paused", "c", "i"}, "runtime_records_status_chk"},
		{"a running runtime without a container", record, []any{"g2", "running", nil, "i"}, "runtime_records_running_container_chk"},
		{"a running runtime with an empty container id", record, []any{"g3", "running", "", "i"}, "runtime_records_running_container_chk"},
		{"a running runtime without an image", record, []any{"g4", "running", "c", nil}, "runtime_records_running_container_chk"},
		{"a game id unsafe as a path segment", record, []any{"../etc", "stopped", nil, nil}, "runtime_records_game_id_chk"},
		{"an unknown op kind", op, []any{"teleport", "gm_rest", "success", "", "{}"}, "operation_log_op_kind_chk"},
		{"an unknown op source", op, []any{"start", "cron", "success", "", "{}"}, "operation_log_op_source_chk"},
		{"an unknown outcome", op, []any{"start", "gm_rest", "maybe", "", "{}"}, "operation_log_outcome_chk"},
		{"an unknown error code", op, []any{"start", "gm_rest", "failure", "oops", "{}"}, "operation_log_error_code_chk"},
		{"operation details that are not an object", op, []any{"start", "gm_rest", "success", "", "[1]"}, "operation_log_details_object_chk"},
		{"an unknown health status", health, []any{"sick", "probe", "probe_failed", "{}"}, "health_snapshots_status_chk"},
		{"an unknown health source", health, []any{"healthy", "oracle", "probe_failed", "{}"}, "health_snapshots_source_chk"},
		{"an unknown health event type", health, []any{"healthy", "probe", "container_paused", "{}"}, "health_snapshots_last_event_type_chk"},
		{"health details that are JSON null", health, []any{"healthy", "probe", "probe_recovered", "null"}, "health_snapshots_details_object_chk"},
		{"a fence of a game id unsafe as a path segment", fence, []any{"../etc", 1, 0, 0}, "job_fences_game_id_chk"},
		{"a fence of a stream rank that is neither start nor stop", fence, []any{"g", 1, 2, 0}, "job_fences_job_rank_chk"},
		{"a fence at a negative millisecond", fence, []any{"g", -1, 0, 0}, "job_fences_position_chk"},
		{"a fence at a negative sequence number", fence, []any{"g", 1, 1, -1}, "job_fences_position_chk"},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused by "+tc.constraint, func(t *testing.T) {
			_, err := pool.Exec(t.Context(), tc.sql, tc.args...)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				t.Fatalf("Exec: %v, want a CHECK violation", err)
			}
			if pgErr.Code != "23514" || pgErr.ConstraintName != tc.constraint {
				t.Fatalf("violation %s of %q, want 23514 of %q", pgErr.Code, pgErr.ConstraintName, tc.constraint)
			}
		})
	}

	t.Run("stopped and removed runtimes may have no container", func(t *testing.T) {
		for _, st := range []string{"stopped", "removed"} {
			if _, err := pool.Exec(t.Context(), record, "ok-"+st, st, nil, nil); err != nil {
				t.Errorf("%s without container: %v", st, err)
			}
		}
	})
}
