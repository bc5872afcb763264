#!/usr/bin/env bash
# Brings up what rtmanager needs locally, idempotently, whatever state it finds:
# PostgreSQL and Redis on loopback (installed with apt-get when missing), the
# rtmanager schema and role, and the Docker network. Runs as root on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

NETWORK="${RTMANAGER_DOCKER_NETWORK:-galaxy-net}"
REDIS_PORT="${RTMANAGER_LOCAL_REDIS_PORT:-6379}"

log() { printf '[deps] %s\n' "$*" >&2; }

pg_bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }

need_install=()
[ -n "$(pg_bin_dir)" ] && [ -x "$(pg_bin_dir)/postgres" ] || need_install+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need_install+=(redis-server)
if [ ${#need_install[@]} -gt 0 ]; then
	log "installing ${need_install[*]} with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${need_install[@]}" >/dev/null
fi

# PostgreSQL: make sure a cluster exists and is running on loopback.
bin="$(pg_bin_dir)"
ver="$(basename "$(dirname "$bin")")"
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$ver main"; then
	log "creating PostgreSQL $ver cluster"
	pg_createcluster "$ver" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $4}' | grep -qx online; then
	log "starting PostgreSQL $ver"
	# A stale pid file from a killed server blocks the start; pg_ctlcluster clears it.
	pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
fi
for _ in $(seq 1 60); do
	pg_isready -q -h 127.0.0.1 -p 5432 && break
	sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p 5432 || { log "PostgreSQL did not come up"; exit 1; }

log "provisioning schema and role"
runuser -u postgres -- psql -q -X -v ON_ERROR_STOP=1 -f - <sql/provision.sql >/dev/null

# Redis: loopback only, no persistence (Redis holds only coordination state).
if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
	log "starting redis-server on 127.0.0.1:$REDIS_PORT"
	redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
		--logfile /tmp/rtmanager-redis.log --pidfile "/tmp/rtmanager-redis-$REDIS_PORT.pid"
	for _ in $(seq 1 40); do
		redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
		sleep 0.25
	done
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null || { log "Redis did not come up"; exit 1; }
fi

# Docker network RTM attaches engines to (RTM itself never creates it).
if ! docker network inspect "$NETWORK" >/dev/null 2>&1; then
	log "creating Docker network $NETWORK"
	docker network create "$NETWORK" >/dev/null
fi
log "ready: postgres 127.0.0.1:5432, redis 127.0.0.1:$REDIS_PORT, network $NETWORK"
