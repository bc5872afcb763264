-- +goose Up
-- galaxy-game-{game_id} is a DNS name, and DNS ignores letter case: two games
-- whose ids differ only in case would share one name on the engines' network.
-- The lifecycle refuses such a game before any Docker work; this index makes
-- the rule hold even for two such starts racing each other.
CREATE UNIQUE INDEX runtime_records_game_id_lower_key ON runtime_records (lower(game_id));

-- +goose Down
DROP INDEX runtime_records_game_id_lower_key;
