#!/usr/bin/env bash
# One due day (release build, benches/due_day.rs): BENCH_LOANS active loans
# (default 10 000) with BENCH_HOLDERS holders each (default 20), every
# borrower's wallet holding the installment, collected by one due-payments
# pass: 10 000 payments and 200 000 distributions. Prints the pass's wall
# time, rows written per second, statements per loan and peak memory, on
# SQLite and on PostgreSQL; on PostgreSQL the payments per second are also
# compared with pgbench's TPC-B-like transaction (one client), run right
# before and right after. BENCH_DAYS=N runs the first N-1 due days first
# and measures day N (12: the day every loan is repaid and ends).
#
#   scripts/bench/due_day.sh
#   BENCH_LOANS=1000 PGBENCH_SECONDS=10 scripts/bench/due_day.sh
#   BENCH_DAYS=12 scripts/bench/due_day.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/crowdlend-target}-bench"
source scripts/bench/pgbench.sh

cargo bench --bench due_day --no-run -q

echo "== SQLite"
cargo bench --bench due_day -q

echo "== PostgreSQL"
pgbench_prepare
before=$(tps)
output=$(BENCH_DATABASE_URL="$pg_url" cargo bench --bench due_day -q)
echo "$output"
after=$(tps)
paid=$(grep '^RESULT' <<<"$output" | sed -E 's/.*payments_per_s=([0-9.]+).*/\1/')
compare "${paid}" "$before" "$after" "payments/s"
