-- Initial schema of Runtime Manager (contract §2.1, §8).
--
-- Names are deliberately not schema-qualified: the migrations run under the
-- DSN's search_path (schema rtmanager in production, a throw-away schema per
-- test). Every enum of the domain is mirrored by a CHECK constraint so a value
-- unknown to the contract can never be stored, whoever writes the row.

-- +goose Up
CREATE TABLE runtime_records (
    -- COLLATE "C" makes the keyset order of the list endpoint byte order,
    -- independent of the cluster's locale and equal to Go's string order.
    game_id              text COLLATE "C" PRIMARY KEY,
    status               text        NOT NULL,
    current_container_id text,
    current_image_ref    text,
    engine_endpoint      text        NOT NULL,
    state_path           text        NOT NULL,
    docker_network       text        NOT NULL,
    started_at           timestamptz,
    stopped_at           timestamptz,
    removed_at           timestamptz,
    last_op_at           timestamptz NOT NULL,
    created_at           timestamptz NOT NULL,
    CONSTRAINT runtime_records_game_id_chk
        CHECK (game_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    CONSTRAINT runtime_records_status_chk
        CHECK (status IN ('running', 'stopped', 'removed')),
    -- A running runtime always knows its container and image; COALESCE because
    -- a comparison with NULL would let the CHECK pass.
    CONSTRAINT runtime_records_running_container_chk
        CHECK (status <> 'running'
               OR (COALESCE(current_container_id, '') <> '' AND COALESCE(current_image_ref, '') <> ''))
);

-- Serves the cleanup scan: stopped records ordered by last_op_at.
CREATE INDEX runtime_records_status_last_op_idx ON runtime_records (status, last_op_at);

CREATE TABLE operation_log (
    id             bigserial   PRIMARY KEY,
    game_id        text        NOT NULL,
    op_kind        text        NOT NULL,
    op_source      text        NOT NULL,
    source_ref     text        NOT NULL DEFAULT '',
    correlation_id text        NOT NULL DEFAULT '',
    outcome        text        NOT NULL,
    error_code     text        NOT NULL DEFAULT '',
    error_message  text        NOT NULL DEFAULT '',
    image_ref      text        NOT NULL DEFAULT '',
    container_id   text        NOT NULL DEFAULT '',
    details        jsonb       NOT NULL DEFAULT '{}',
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL,
    CONSTRAINT operation_log_op_kind_chk
        CHECK (op_kind IN ('start', 'stop', 'restart', 'patch', 'cleanup_container',
                           'reconcile_adopt', 'reconcile_dispose', 'reconcile_observe_exit')),
    CONSTRAINT operation_log_op_source_chk
        CHECK (op_source IN ('lobby_stream', 'gm_rest', 'admin_rest', 'auto_ttl',
                             'auto_reconcile', 'docker_event')),
    CONSTRAINT operation_log_outcome_chk
        CHECK (outcome IN ('success', 'failure')),
    CONSTRAINT operation_log_error_code_chk
        CHECK (error_code IN ('', 'invalid_request', 'not_found', 'conflict', 'image_ref_not_semver',
                              'semver_patch_only', 'start_config_invalid', 'image_pull_failed',
                              'container_start_failed', 'docker_unavailable', 'service_unavailable',
                              'internal_error', 'replay_no_op')),
    CONSTRAINT operation_log_details_object_chk
        CHECK (jsonb_typeof(details) = 'object')
);

-- Serves a game's history newest first, paged with id < cursor.
CREATE INDEX operation_log_game_id_id_idx ON operation_log (game_id, id DESC);

CREATE TABLE health_snapshots (
    game_id         text        PRIMARY KEY,
    container_id    text        NOT NULL DEFAULT '',
    status          text        NOT NULL,
    source          text        NOT NULL,
    last_event_type text        NOT NULL,
    details         jsonb       NOT NULL DEFAULT '{}',
    observed_at     timestamptz NOT NULL,
    CONSTRAINT health_snapshots_status_chk
        CHECK (status IN ('healthy', 'exited', 'oom', 'disappeared', 'unhealthy', 'probe_failed')),
    CONSTRAINT health_snapshots_source_chk
        CHECK (source IN ('start', 'docker_event', 'inspect', 'probe', 'reconcile')),
    CONSTRAINT health_snapshots_last_event_type_chk
        CHECK (last_event_type IN ('container_started', 'container_exited', 'container_oom',
                                   'container_disappeared', 'inspect_unhealthy', 'probe_failed',
                                   'probe_recovered')),
    CONSTRAINT health_snapshots_details_object_chk
        CHECK (jsonb_typeof(details) = 'object')
);

-- +goose Down
DROP TABLE health_snapshots;
DROP TABLE operation_log;
DROP TABLE runtime_records;
