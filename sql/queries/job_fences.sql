-- AdvanceJobFence moves a game's fence forward to the given position unless
-- it already stands past it, and returns where the fence stands afterwards.
-- Positions compare as the row (job_ms, job_rank, job_seq).
--
-- The update is unconditional on purpose: a conflicting row is always locked
-- and rewritten (with its own values when the fence does not move), so
-- RETURNING always reports the latest committed fence. The tempting form — a
-- DO UPDATE ... WHERE fence < position, unioned with a SELECT of the row when
-- nothing was updated — is wrong under concurrency: that SELECT reads the
-- statement's snapshot, which misses a row a concurrent call inserted or moved
-- while this one waited for its lock, so it returns no row or a fence before
-- the position although a later job had passed it.
-- name: AdvanceJobFence :one
INSERT INTO job_fences AS f (game_id, job_ms, job_rank, job_seq)
VALUES (sqlc.arg(game_id), sqlc.arg(job_ms), sqlc.arg(job_rank), sqlc.arg(job_seq))
ON CONFLICT (game_id) DO UPDATE SET
    job_ms     = CASE WHEN (f.job_ms, f.job_rank, f.job_seq) < (EXCLUDED.job_ms, EXCLUDED.job_rank, EXCLUDED.job_seq)
                      THEN EXCLUDED.job_ms ELSE f.job_ms END,
    job_rank   = CASE WHEN (f.job_ms, f.job_rank, f.job_seq) < (EXCLUDED.job_ms, EXCLUDED.job_rank, EXCLUDED.job_seq)
                      THEN EXCLUDED.job_rank ELSE f.job_rank END,
    job_seq    = CASE WHEN (f.job_ms, f.job_rank, f.job_seq) < (EXCLUDED.job_ms, EXCLUDED.job_rank, EXCLUDED.job_seq)
                      THEN EXCLUDED.job_seq ELSE f.job_seq END,
    updated_at = CASE WHEN (f.job_ms, f.job_rank, f.job_seq) < (EXCLUDED.job_ms, EXCLUDED.job_rank, EXCLUDED.job_seq)
                      THEN now() ELSE f.updated_at END
RETURNING job_ms, job_rank, job_seq;
