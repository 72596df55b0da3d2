#!/usr/bin/env bash
# Loan-application write throughput (release build): BENCH_APPLICATIONS
# borrowers (default 2 000) each submit one application through
# services::applications::submit, one transaction each (benches/applications.rs),
# on SQLite and on PostgreSQL. On PostgreSQL the rate is compared with
# pgbench's TPC-B-like transaction (one client), run right before and after.
#
#   scripts/bench/applications.sh
#   BENCH_APPLICATIONS=500 PGBENCH_SECONDS=10 scripts/bench/applications.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/crowdlend-target}"
pg_url="${PG_URL:-postgres://postgres@127.0.0.1/postgres}"
pgbench_db=crowdlend_pgbench
seconds="${PGBENCH_SECONDS:-20}"

cargo bench --bench applications --no-run -q

echo "== SQLite"
cargo bench --bench applications -q

echo "== PostgreSQL"
command -v pgbench >/dev/null || { echo "pgbench not found (apt-get install postgresql-client)"; exit 1; }
psql "$pg_url" -qc "DROP DATABASE IF EXISTS $pgbench_db" -c "CREATE DATABASE $pgbench_db"
trap 'psql "$pg_url" -qc "DROP DATABASE IF EXISTS $pgbench_db"' EXIT
pgbench_url="${pg_url%/*}/$pgbench_db"
pgbench -i -q -s 1 "$pgbench_url" >/dev/null 2>&1
tps() { pgbench -c1 -j1 -T"$seconds" "$pgbench_url" 2>/dev/null | awk '/^tps/ {print $3; exit}'; }
before=$(tps)
output=$(BENCH_DATABASE_URL="$pg_url" cargo bench --bench applications -q)
echo "$output"
after=$(tps)
submitted=$(grep '^RESULT' <<<"$output" | sed -E 's/.*per_s=([0-9.]+).*/\1/')
awk -v s="$submitted" -v b="$before" -v a="$after" 'BEGIN {
  m = (a + b) / 2
  printf "  pgbench (TPC-B-like, 1 client): %.0f tps before, %.0f after\n", b, a
  printf "  applications/s over pgbench tps: %.2f\n", s / m
}'
