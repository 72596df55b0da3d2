#!/usr/bin/env bash
# Ledger write throughput (release build): 100 000 two-posting entries through
# ledger::store::post, each in its own transaction, against plain inserts of
# the same rows, on SQLite and on PostgreSQL (benches/ledger.rs). On
# PostgreSQL the same single-client rate is also compared with pgbench's
# TPC-B-like transaction (one client, one connection), run right before and
# right after the ledger run; the ratio uses their mean.
#
#   scripts/bench/ledger.sh                 both databases
#   BENCH_ENTRIES=10000 PGBENCH_SECONDS=10 scripts/bench/ledger.sh
#   PG_URL=postgres://postgres@127.0.0.1/postgres (default)
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/crowdlend-target}"
export BENCH_ENTRIES="${BENCH_ENTRIES:-100000}"
pg_url="${PG_URL:-postgres://postgres@127.0.0.1/postgres}"
pgbench_db=crowdlend_pgbench
seconds="${PGBENCH_SECONDS:-20}"

cargo bench --bench ledger --no-run -q

echo "== SQLite"
cargo bench --bench ledger -q

echo "== PostgreSQL"
command -v pgbench >/dev/null || { echo "pgbench not found (apt-get install postgresql-client)"; exit 1; }
psql "$pg_url" -qc "DROP DATABASE IF EXISTS $pgbench_db" -c "CREATE DATABASE $pgbench_db"
trap 'psql "$pg_url" -qc "DROP DATABASE IF EXISTS $pgbench_db"' EXIT
pgbench_url="${pg_url%/*}/$pgbench_db"
pgbench -i -q -s 1 "$pgbench_url" >/dev/null 2>&1
tps() { pgbench -c1 -j1 -T"$seconds" "$pgbench_url" 2>/dev/null | awk '/^tps/ {print $3; exit}'; }
before=$(tps)
output=$(BENCH_DATABASE_URL="$pg_url" cargo bench --bench ledger -q)
echo "$output"
after=$(tps)
posted=$(grep '^RESULT' <<<"$output" | sed -E 's/.*posted_per_s=([0-9.]+).*/\1/')
awk -v p="$posted" -v b="$before" -v a="$after" 'BEGIN {
  m = (a + b) / 2
  printf "  pgbench (TPC-B-like, 1 client): %.0f tps before, %.0f after\n", b, a
  printf "  ledger entries/s over pgbench tps: %.2f\n", p / m
}'
