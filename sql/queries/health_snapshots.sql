-- UpsertHealthSnapshot keeps the latest observation per game. Workers emit
-- concurrently, so an observation older than the stored one is ignored rather
-- than allowed to overwrite it. With ignored_keys set (an array, possibly
-- empty) it is the conditional form several instances use for what each of
-- them observes on its own (probe, inspect): the snapshot is written only when
-- it really changes — another container, status or event type, or other
-- details once the keys named in ignored_keys (those that may differ between
-- observers of one change, such as an error's text) are left out. Zero rows
-- means the stored snapshot is newer or already says this (another instance
-- has published it).
-- name: UpsertHealthSnapshot :execrows
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
WHERE health_snapshots.observed_at <= EXCLUDED.observed_at
  AND (sqlc.narg(ignored_keys)::text[] IS NULL
       OR (health_snapshots.container_id, health_snapshots.status, health_snapshots.last_event_type,
           health_snapshots.details - sqlc.narg(ignored_keys)::text[])
          IS DISTINCT FROM
          (EXCLUDED.container_id, EXCLUDED.status, EXCLUDED.last_event_type,
           EXCLUDED.details - sqlc.narg(ignored_keys)::text[]));

-- name: GetHealthSnapshot :one
SELECT * FROM health_snapshots
WHERE game_id = sqlc.arg(game_id);
