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
# Benchmarks build in a target folder of their own: `cargo bench` links the
# crowdlend binary too, with the dev-dependencies' features, and must not
# replace the release binary that pages.sh measures.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/crowdlend-target}-bench"
source scripts/bench/pgbench.sh

cargo bench --bench applications --no-run -q

echo "== SQLite"
cargo bench --bench applications -q

echo "== PostgreSQL"
pgbench_prepare
before=$(tps)
output=$(BENCH_DATABASE_URL="$pg_url" cargo bench --bench applications -q)
echo "$output"
after=$(tps)
submitted=$(grep '^RESULT' <<<"$output" | sed -E 's/.*per_s=([0-9.]+).*/\1/')
compare "${submitted}" "$before" "$after" "applications/s"
