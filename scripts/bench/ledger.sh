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
# Benchmarks build in a target folder of their own: `cargo bench` links the
# crowdlend binary too, with the dev-dependencies' features, and must not
# replace the release binary that pages.sh measures.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/crowdlend-target}-bench"
export BENCH_ENTRIES="${BENCH_ENTRIES:-100000}"
source scripts/bench/pgbench.sh

cargo bench --bench ledger --no-run -q

echo "== SQLite"
cargo bench --bench ledger -q

echo "== PostgreSQL"
pgbench_prepare
before=$(tps)
output=$(BENCH_DATABASE_URL="$pg_url" cargo bench --bench ledger -q)
echo "$output"
after=$(tps)
posted=$(grep '^RESULT' <<<"$output" | sed -E 's/.*posted_per_s=([0-9.]+).*/\1/')
compare "${posted}" "$before" "$after" "ledger entries/s"
