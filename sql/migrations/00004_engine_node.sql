-- +goose Up
-- engine_node is the swarm node a game is pinned to (RTMANAGER_RUNTIME=swarm):
-- its state lives on that node, so every later start, restart and patch runs
-- there. NULL on the docker runtime, where the one host needs no name.
ALTER TABLE runtime_records ADD COLUMN engine_node text;

-- +goose Down
ALTER TABLE runtime_records DROP COLUMN engine_node;
