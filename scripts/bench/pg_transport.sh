#!/usr/bin/env bash
# What the way to PostgreSQL costs: `/healthz` (one `SELECT 1`) with
# `wrk -t1 -c32 -d10s` over TCP with TLS (sqlx's default, sslmode=prefer,
# when the server offers TLS), over TCP without it (sslmode=disable) and over
# the Unix socket; for each, requests/s, the app's CPU per request and the
# PostgreSQL processes' CPU per request (user + system, from /proc).
#
#   scripts/bench/pg_transport.sh
#   PG_HOST=127.0.0.1 PG_SOCKET_DIR=/var/run/postgresql scripts/bench/pg_transport.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/crowdlend-target}"
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
host="${PG_HOST:-127.0.0.1}"
socket_dir="${PG_SOCKET_DIR:-/var/run/postgresql}"
db=crowdlend_transport
port="${PORT:-18183}"

cargo build --release --bin crowdlend -q
psql "postgres://postgres@$host/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
work=$(mktemp -d)
server=
trap 'kill $server 2>/dev/null || true; rm -rf "$work"; psql "postgres://postgres@$host/postgres" -qc "DROP DATABASE IF EXISTS $db"' EXIT
ticks_per_s=$(getconf CLK_TCK)
ticks() { for pid in "$@"; do awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || true; done | awk '{s += $1} END {print s + 0}'; }

for variant in \
  "TCP, TLS (sslmode=prefer)|postgres://postgres@$host/$db" \
  "TCP, sslmode=disable|postgres://postgres@$host/$db?sslmode=disable" \
  "Unix socket|postgres://postgres@localhost/$db?host=$socket_dir"; do
  name=${variant%%|*}; url=${variant#*|}
  DATABASE_URL="$url" DATA_DIR="$work" BIND="127.0.0.1:$port" RUST_LOG=warn \
    "$CARGO_TARGET_DIR/release/crowdlend" serve >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  wrk -t1 -c32 -d2s "http://127.0.0.1:$port/healthz" >/dev/null  # fill the pool
  pg=$(pgrep -x postgres || pgrep -f "postgres:" || true)
  app_before=$(ticks "$server"); pg_before=$(ticks $pg)
  out=$(wrk -t1 -c32 -d10s "http://127.0.0.1:$port/healthz")
  app_after=$(ticks "$server"); pg_after=$(ticks $pg)
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  awk -v name="$name" -v rps="$rps" -v n="$requests" -v hz="$ticks_per_s" \
    -v app="$((app_after - app_before))" -v pg="$((pg_after - pg_before))" 'BEGIN {
      printf "%-26s %7.0f req/s, app %4.0f µs, PostgreSQL %4.0f µs CPU a request\n",
        name, rps, app * 1000000 / hz / n, pg * 1000000 / hz / n }'
  kill "$server"; wait "$server" 2>/dev/null || true
done
