# Runtime Manager — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
TOOL      := $(GO) tool -modfile=tools/go.mod
BIN       := bin
# `make run` runs on the Docker host itself, so RTM reaches engines by container IP.
# It sets no token, and the API drives the Docker daemon: it listens on loopback
# unless RTMANAGER_INTERNAL_HTTP_ADDR says otherwise.
LOCAL_ENV := RTMANAGER_INTERNAL_HTTP_ADDR=$${RTMANAGER_INTERNAL_HTTP_ADDR:-127.0.0.1:8096} \
             RTMANAGER_ENGINE_ADDRESS=$${RTMANAGER_ENGINE_ADDRESS:-container_ip} \
             RTMANAGER_GAME_STATE_ROOT=$${RTMANAGER_GAME_STATE_ROOT:-/var/lib/galaxy/games} \
             RTMANAGER_LOG_FORMAT=$${RTMANAGER_LOG_FORMAT:-text}

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: deps
deps: ## Bring up PostgreSQL, Redis, the Docker network and the sample engine images
	@bash scripts/deps.sh
	@bash scripts/engine-images.sh

.PHONY: generate
generate: ## Regenerate sqlc, oapi-codegen, mockgen and wire output (pinned in tools/go.mod)
	$(TOOL) sqlc generate -f sqlc.yaml
	$(GO) generate ./api/... ./adapters/... ./ports/...
	$(TOOL) wire gen ./di
	@gofmt -l $$(git ls-files '*.go') | (! grep .) || (echo "some Go files are not gofmt-clean (gofmt -w them)" >&2; exit 1)

.PHONY: check-generated
GENERATED := adapters/postgres/sqlcgen adapters/httpapi/api.gen.go api/client ports/mocks di/wire_gen.go
check-generated: generate ## Fail when the committed generated code is stale
	@git diff --exit-code --stat -- $(GENERATED) && test -z "$$(git ls-files --others --exclude-standard -- $(GENERATED))" || \
		(echo "make generate changed the generated code: commit the regenerated files" >&2; exit 1)

.PHONY: build
build: ## Build bin/rtmanager and bin/rtmctl
	$(GO) build -o $(BIN)/rtmanager ./cmd/rtmanager
	$(GO) build -o $(BIN)/rtmctl ./cmd/rtmctl

.PHONY: image
image: ## Build the FROM scratch image galaxy/rtmanager:<git describe> and :dev (skipped when up to date)
	@bash scripts/rtm-image.sh

.PHONY: run
run: deps build ## Run the service in the foreground against local dependencies
	$(LOCAL_ENV) ./$(BIN)/rtmanager

.PHONY: test
test: deps ## Run every test (unit, adapter, integration on real Docker, contract)
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

.PHONY: bench
bench: deps ## Benchmarks (test/bench): REST start vs bare SDK (ratio ≤ 1.15), replayed jobs (≥ 3000 jobs/s), fresh jobs vs bare SDK (ratio ≥ 0.85), reconcile pass over 1,000 games (< 1 s), probe tick over 500 engines (< 250 ms), RSS with 200 engines (< 60 MB), a start on swarm beside a start on docker (medians, ratio)
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 30m ./test/bench/...

.PHONY: fuzz
fuzz: ## Run each fuzz target for a short while
	$(GO) test -run '^$$' -fuzz FuzzValidateGameID -fuzztime 20s ./core/domain
	$(GO) test -run '^$$' -fuzz FuzzParseImageRef -fuzztime 20s ./core/domain
	$(GO) test -run '^$$' -fuzz '^FuzzRequest$$' -fuzztime 20s ./adapters/httpapi
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 20s ./internal/config
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 20s ./core/jobs

.PHONY: lint
lint: deadcode ## vet, gofmt, the dependency rule (core must not reach infrastructure) and dead code
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) test -count=1 ./internal/archtest/

.PHONY: deadcode
deadcode: ## Functions no binary reaches (callers in tests do not count) and test support no test reaches
	@bash scripts/deadcode.sh

.PHONY: clean-test-leftovers
clean-test-leftovers: ## Remove containers (and swarm services and volumes) left by interrupted test runs
	-docker service ls -q --filter label=com.galaxy.test_run 2>/dev/null | xargs -r docker service rm
	-docker ps -aq --filter label=com.galaxy.test_run | xargs -r docker rm -f
	-docker volume ls -q --filter label=com.galaxy.test_run | xargs -r docker volume rm
