#!/usr/bin/env bash
# Instant allocation (release build, benches/auto_invest.rs): BENCH_RULES
# investors (default 10 000) with a wide-open auto-invest rule each and
# 100 000 ₽ in the wallet; a 1 000 000 ₽ loan offered whole to every rule
# (time and statements), then BENCH_LOANS more (default 20) shared one after
# another (allocations per second), on SQLite and on PostgreSQL; on
# PostgreSQL the allocations per second are also compared with pgbench's
# TPC-B-like transaction (one client), run right before and right after.
#
#   scripts/bench/auto_invest.sh
#   BENCH_RULES=1000 PGBENCH_SECONDS=10 scripts/bench/auto_invest.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/crowdlend-target}-bench"
source scripts/bench/pgbench.sh

cargo bench --bench auto_invest --no-run -q

echo "== SQLite"
cargo bench --bench auto_invest -q

echo "== PostgreSQL"
pgbench_prepare
before=$(tps)
output=$(BENCH_DATABASE_URL="$pg_url" cargo bench --bench auto_invest -q)
echo "$output"
after=$(tps)
allocations=$(grep '^RESULT' <<<"$output" | sed -E 's/.*allocations_per_s=([0-9.]+).*/\1/')
compare "${allocations}" "$before" "$after" "allocations/s"
