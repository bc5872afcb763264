-- UpsertHealthSnapshot keeps the latest observation per game. Workers emit
-- concurrently, so an observation older than the stored one is ignored rather
-- than allowed to overwrite it.
-- name: UpsertHealthSnapshot :exec
INSERT INTO health_snapshots (
    game_id, container_id, status, source, last_event_type, details, observed_at
) VALUES (
    sqlc.arg(game_id), sqlc.arg(container_id), sqlc.arg(status), sqlc.arg(source),
    sqlc.arg(last_event_type), sqlc.arg(details), sqlc.arg(observed_at)
)
ON CONFLICT (game_id) DO UPDATE SET
    container_id    = EXCLUDED.container_id,
    status          = EXCLUDED.status,
    source          = EXCLUDED.source,
    last_event_type = EXCLUDED.last_event_type,
    details         = EXCLUDED.details,
    observed_at     = EXCLUDED.observed_at
WHERE health_snapshots.observed_at <= EXCLUDED.observed_at;

-- name: GetHealthSnapshot :one
SELECT * FROM health_snapshots
WHERE game_id = sqlc.arg(game_id);
