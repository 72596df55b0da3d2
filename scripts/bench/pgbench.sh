# Shared by the write benchmarks: a throw-away pgbench database on the same
# PostgreSQL, and tps() = pgbench's TPC-B-like transaction with one client for
# $PGBENCH_SECONDS (default 20). Source it, then call pgbench_prepare.
pg_url="${PG_URL:-postgres://postgres@127.0.0.1/postgres}"
pgbench_db=crowdlend_pgbench
seconds="${PGBENCH_SECONDS:-20}"

pgbench_prepare() {
  command -v pgbench >/dev/null || { echo "pgbench not found (apt-get install postgresql-client)"; exit 1; }
  psql "$pg_url" -qc "DROP DATABASE IF EXISTS $pgbench_db" -c "CREATE DATABASE $pgbench_db"
  trap 'psql "$pg_url" -qc "DROP DATABASE IF EXISTS $pgbench_db"' EXIT
  pgbench_url="${pg_url%/*}/$pgbench_db"
  pgbench -i -q -s 1 "$pgbench_url" >/dev/null 2>&1
}

tps() { pgbench -c1 -j1 -T"$seconds" "$pgbench_url" 2>/dev/null | awk '/^tps/ {print $3; exit}'; }

# compare RATE BEFORE AFTER WHAT: prints pgbench's rates and RATE over their mean.
compare() {
  awk -v r="$1" -v b="$2" -v a="$3" -v what="$4" 'BEGIN {
    m = (a + b) / 2
    printf "  pgbench (TPC-B-like, 1 client): %.0f tps before, %.0f after\n", b, a
    printf "  %s over pgbench tps: %.2f\n", what, r / m
  }'
}
