-- name: GetRuntimeRecord :one
SELECT * FROM runtime_records
WHERE game_id = sqlc.arg(game_id);

-- ListRuntimeRecords pages by game_id (keyset, exclusive); "" starts at the
-- first record because no game id is empty. A NULL status lists every status.
-- name: ListRuntimeRecords :many
SELECT * FROM runtime_records
WHERE game_id > sqlc.arg(after_game_id)::text
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
ORDER BY game_id
LIMIT sqlc.arg(row_limit);

-- UpsertRuntimeRecord installs or replaces a record. created_at is written on
-- insert only: a new lifetime over an old record keeps its first creation time.
-- With if_status set, an existing record is replaced only while it still has
-- that status (and, with if_container set, that container): the
-- compare-and-swap form of the upsert; zero rows means another writer won.
-- name: UpsertRuntimeRecord :one
INSERT INTO runtime_records (
    game_id, status, current_container_id, current_image_ref, engine_endpoint,
    state_path, docker_network, engine_node, started_at, stopped_at, removed_at, last_op_at, created_at
) VALUES (
    sqlc.arg(game_id), sqlc.arg(status), sqlc.narg(current_container_id), sqlc.narg(current_image_ref),
    sqlc.arg(engine_endpoint), sqlc.arg(state_path), sqlc.arg(docker_network), sqlc.narg(engine_node),
    sqlc.narg(started_at), sqlc.narg(stopped_at), sqlc.narg(removed_at),
    sqlc.arg(last_op_at), sqlc.arg(created_at)
)
ON CONFLICT (game_id) DO UPDATE SET
    status               = EXCLUDED.status,
    current_container_id = EXCLUDED.current_container_id,
    current_image_ref    = EXCLUDED.current_image_ref,
    engine_endpoint      = EXCLUDED.engine_endpoint,
    state_path           = EXCLUDED.state_path,
    docker_network       = EXCLUDED.docker_network,
    engine_node          = EXCLUDED.engine_node,
    started_at           = EXCLUDED.started_at,
    stopped_at           = EXCLUDED.stopped_at,
    removed_at           = EXCLUDED.removed_at,
    last_op_at           = EXCLUDED.last_op_at
WHERE sqlc.narg(if_status)::text IS NULL
   OR (runtime_records.status = sqlc.narg(if_status)::text
       AND (sqlc.narg(if_container)::text IS NULL
            OR runtime_records.current_container_id = sqlc.narg(if_container)::text))
RETURNING *;

-- UpdateRuntimeStatus is the compare-and-swap status change; zero rows means
-- the record is not in the expected state (or has another container). The
-- caller has already checked the pair against the transition table. Entering
-- running installs the new container and image, sets started_at and clears
-- stopped_at, so the timestamps always describe the current lifetime.
-- name: UpdateRuntimeStatus :one
UPDATE runtime_records SET
    status               = sqlc.arg(to_status)::text,
    current_container_id = CASE WHEN sqlc.arg(to_status)::text = 'running'
                                THEN sqlc.narg(new_container_id)::text ELSE current_container_id END,
    current_image_ref    = CASE WHEN sqlc.arg(to_status)::text = 'running'
                                THEN sqlc.narg(new_image_ref)::text ELSE current_image_ref END,
    started_at           = CASE WHEN sqlc.arg(to_status)::text = 'running'
                                THEN sqlc.arg(at)::timestamptz ELSE started_at END,
    stopped_at           = CASE sqlc.arg(to_status)::text
                                WHEN 'stopped' THEN sqlc.arg(at)::timestamptz
                                WHEN 'running' THEN NULL
                                ELSE stopped_at END,
    removed_at           = CASE WHEN sqlc.arg(to_status)::text = 'removed'
                                THEN sqlc.arg(at)::timestamptz ELSE removed_at END,
    last_op_at           = sqlc.arg(at)::timestamptz
WHERE game_id = sqlc.arg(game_id)
  AND status = sqlc.arg(from_status)::text
  AND (sqlc.narg(expected_container_id)::text IS NULL
       OR current_container_id = sqlc.narg(expected_container_id)::text)
RETURNING *;

-- ListStoppedBefore is the retention worker's scan, oldest first; it is served
-- by runtime_records_status_last_op_idx.
-- name: ListStoppedBefore :many
SELECT * FROM runtime_records
WHERE status = 'stopped' AND last_op_at < sqlc.arg(before)::timestamptz
ORDER BY last_op_at, game_id
LIMIT sqlc.arg(row_limit);

-- name: CountRuntimeRecordsByStatus :many
SELECT status, count(*) AS records
FROM runtime_records
GROUP BY status;

-- OtherCaseOfRuntime finds a game whose id differs from the given one only in
-- letter case (engine names on the network ignore case); it is served by
-- runtime_records_game_id_lower_key.
-- name: OtherCaseOfRuntime :one
SELECT game_id FROM runtime_records
WHERE lower(game_id) = lower(sqlc.arg(game_id)::text)
  AND game_id <> sqlc.arg(game_id)::text
LIMIT 1;
