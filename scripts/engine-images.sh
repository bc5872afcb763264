#!/usr/bin/env bash
# Builds the sample engine images (engine/) into the local Docker engine.
# Idempotent and quiet: the static binary is built once per run, and a tag is
# rebuilt only when its image does not carry the hash of binary + Dockerfile +
# build args (label com.galaxy.engine_build), so repeated runs cost a go build
# from cache and a few `docker image inspect`s. Prints one line per tag it
# (re)builds; exits non-zero, with the builder's output, on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

REPO="${RTMANAGER_ENGINE_IMAGE_REPO:-galaxy/game}"

# tag                cpu_quota  memory  pids_limit  never_ready
IMAGES=(
	"1.0.0             0.5        64m     64          0"
	"1.0.1             0.5        64m     64          0"
	"1.1.0             1.0        96m     128         0"
	"1.0.2-neverready  0.5        64m     64          1"
	"1.0.3-badlabels   0.5        lots    64          0"
)

log() { printf '[engine-images] %s\n' "$*" >&2; }

# Test packages run in parallel and each makes sure the images exist; one
# builder at a time, the others then find everything up to date.
exec 9>"${TMPDIR:-/tmp}/galaxy-engine-images.lock"
flock 9

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT

# -trimpath and stripped symbols make the binary reproducible, hence the hash stable.
CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$ctx/engine" ./engine
cp engine/Dockerfile "$ctx/Dockerfile"
base_hash="$(cat "$ctx/engine" "$ctx/Dockerfile" | sha256sum | cut -d' ' -f1)"

for line in "${IMAGES[@]}"; do
	read -r tag cpu mem pids never_ready <<<"$line"
	ref="$REPO:$tag"
	hash="$(printf '%s %s %s %s %s %s\n' "$base_hash" "$tag" "$cpu" "$mem" "$pids" "$never_ready" | sha256sum | cut -d' ' -f1)"
	have="$(docker image inspect -f '{{index .Config.Labels "com.galaxy.engine_build"}}' "$ref" 2>/dev/null || true)"
	[ "$have" = "$hash" ] && continue
	# The classic builder: the daemon has no BuildKit/buildx here, and a
	# FROM scratch image needs nothing from a registry.
	if ! out="$(DOCKER_BUILDKIT=0 docker build -q -t "$ref" \
		--build-arg VERSION="$tag" \
		--build-arg CPU_QUOTA="$cpu" \
		--build-arg MEMORY="$mem" \
		--build-arg PIDS_LIMIT="$pids" \
		--build-arg NEVER_READY="$never_ready" \
		--build-arg BUILD_HASH="$hash" \
		"$ctx" 2>&1)"; then
		log "building $ref failed:"
		printf '%s\n' "$out" >&2
		exit 1
	fi
	log "built $ref"
done
