#!/usr/bin/env bash
# Builds Runtime Manager's image (deploy/Dockerfile) into the local Docker
# engine, tagged $RTMANAGER_IMAGE_REPO:<version> and :dev, where <version> is
# `git describe --tags --always --dirty`. Static binaries (CGO off, trimmed,
# stripped, VCS-stamped: `rtmanager --version` names the revision). The build
# is skipped when both tags already carry the hash of binaries + Dockerfile
# (label com.galaxy.rtmanager_build), as scripts/engine-images.sh does for the
# engine. Prints the image reference on stdout; exits non-zero, with the
# builder's output, on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

REPO="${RTMANAGER_IMAGE_REPO:-galaxy/rtmanager}"
version="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
ref="$REPO:$version"

log() { printf '[rtm-image] %s\n' "$*" >&2; }

# Tests in several processes may ask for the image at once: one builder.
exec 9>"${TMPDIR:-/tmp}/galaxy-rtm-image.lock"
flock 9

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT

for cmd in rtmanager rtmctl; do
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.stamp=$version" -o "$ctx/$cmd" "./cmd/$cmd"
done
cp deploy/Dockerfile "$ctx/Dockerfile"
hash="$(cat "$ctx/rtmanager" "$ctx/rtmctl" "$ctx/Dockerfile" | sha256sum | cut -d' ' -f1)"

label() { docker image inspect -f '{{index .Config.Labels "com.galaxy.rtmanager_build"}}' "$1" 2>/dev/null || true; }
if [ "$(label "$ref")" != "$hash" ] || [ "$(label "$REPO:dev")" != "$hash" ]; then
	# The classic builder: the daemon has no BuildKit/buildx here, and a
	# FROM scratch image needs nothing from a registry.
	if ! out="$(DOCKER_BUILDKIT=0 docker build -q -t "$ref" -t "$REPO:dev" \
		--build-arg VERSION="$version" --build-arg BUILD_HASH="$hash" "$ctx" 2>&1)"; then
		log "building $ref failed:"
		printf '%s\n' "$out" >&2
		exit 1
	fi
	log "built $ref"
fi
echo "$ref"
