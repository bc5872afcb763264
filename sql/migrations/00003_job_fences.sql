-- +goose Up
-- job_fences holds, per game, the position of the last Lobby stream job
-- applied to it (contract §6): the job's entry id (milliseconds and sequence
-- number) and the rank of its stream (0 start_jobs, 1 stop_jobs), which breaks
-- a tie of one millisecond. Jobs of one game thus take effect in entry-id
-- order across instances: a job whose position is behind the fence was
-- overtaken by a later one and must not act. Game ids follow the rule of
-- runtime_records, and a position is one an entry id can have.
CREATE TABLE job_fences (
    game_id    text        PRIMARY KEY,
    job_ms     bigint      NOT NULL,
    job_rank   smallint    NOT NULL,
    job_seq    bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT job_fences_game_id_chk
        CHECK (game_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    CONSTRAINT job_fences_job_rank_chk
        CHECK (job_rank IN (0, 1)),
    CONSTRAINT job_fences_position_chk
        CHECK (job_ms >= 0 AND job_seq >= 0)
);

-- +goose Down
DROP TABLE job_fences;
