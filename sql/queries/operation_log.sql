-- name: AppendOperation :one
INSERT INTO operation_log (
    game_id, op_kind, op_source, source_ref, correlation_id, outcome, error_code,
    error_message, image_ref, container_id, details, started_at, finished_at
) VALUES (
    sqlc.arg(game_id), sqlc.arg(op_kind), sqlc.arg(op_source), sqlc.arg(source_ref),
    sqlc.arg(correlation_id), sqlc.arg(outcome), sqlc.arg(error_code), sqlc.arg(error_message),
    sqlc.arg(image_ref), sqlc.arg(container_id), sqlc.arg(details), sqlc.arg(started_at),
    sqlc.arg(finished_at)
)
RETURNING id;

-- ListOperations pages a game's history newest first. The cursor is always a
-- bound (the first page passes the largest bigint) rather than an optional
-- condition, so the planner keeps it in the (game_id, id DESC) index scan.
-- name: ListOperations :many
SELECT * FROM operation_log
WHERE game_id = sqlc.arg(game_id) AND id < sqlc.arg(before_id)
ORDER BY id DESC
LIMIT sqlc.arg(row_limit);

-- ListOperationsBySourceRef returns a game's entries of one source with one
-- source_ref (a stream job's entry id), oldest first. No index of its own:
-- the query stays within one game, and operation_log_game_id_id_idx
-- (game_id, id DESC), read backwards, yields that game's entries in id order;
-- source and ref are filtered among them.
-- name: ListOperationsBySourceRef :many
SELECT * FROM operation_log
WHERE game_id = sqlc.arg(game_id)
  AND op_source = sqlc.arg(op_source)
  AND source_ref = sqlc.arg(source_ref)
ORDER BY id
LIMIT sqlc.arg(row_limit);
