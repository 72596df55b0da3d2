#!/usr/bin/env bash
# Investment commits on one hot loan (release build, benches/investing.rs):
# BENCH_COMMITS commits of 1 000 ₽ (default 2 000) from BENCH_INVESTORS
# investors (default 200) through services::investing::invest, one after
# another and then BENCH_CONCURRENCY at once (default 32), on SQLite and on
# PostgreSQL. On PostgreSQL the one-after-another rate is compared with
# pgbench's TPC-B-like transaction (one client), run right before and after.
#
#   scripts/bench/investing.sh
#   BENCH_COMMITS=500 PGBENCH_SECONDS=10 scripts/bench/investing.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# Benchmarks build in a target folder of their own: `cargo bench` links the
# crowdlend binary too, with the dev-dependencies' features, and must not
# replace the release binary that pages.sh measures.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/crowdlend-target}-bench"
source scripts/bench/pgbench.sh

cargo bench --bench investing --no-run -q

echo "== SQLite"
cargo bench --bench investing -q

echo "== PostgreSQL"
pgbench_prepare
before=$(tps)
output=$(BENCH_DATABASE_URL="$pg_url" cargo bench --bench investing -q)
echo "$output"
after=$(tps)
sequential=$(grep '^RESULT' <<<"$output" | sed -E 's/.*sequential_per_s=([0-9.]+).*/\1/')
compare "${sequential}" "$before" "$after" "commits/s (one after another)"
