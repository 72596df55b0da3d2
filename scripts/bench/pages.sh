#!/usr/bin/env bash
# Page throughput relative to /healthz, measured in one run so the machine's
# noise cancels out. For each route: `wrk -t1 -c32` against the route and
# against /healthz, interleaved, three rounds; prints each round, then the
# median ratio of requests per second, the median p99 latencies and the
# server's CPU time per request of the route (user + system, from /proc), and
# at the end the server's resident memory.
#
#   scripts/bench/pages.sh [ROUTE ...]        default routes: / /login
#   DATABASE_URL=postgres://... scripts/bench/pages.sh /     (PostgreSQL)
#   SIGN_IN=investor@demo.local scripts/bench/pages.sh /wallet
#                                  (signs in with the demo password first and
#                                   sends that session's cookie with the route's
#                                   requests; /healthz stays anonymous, the ceiling)
#   SEED="cargo bench --bench seed_marketplace -q" scripts/bench/pages.sh /marketplace
#                                  (runs SEED against the running demo database
#                                   first: 10 000 loans open for investment; it
#                                   builds in $CARGO_TARGET_DIR-bench, so the
#                                   measured binary stays the one
#                                   `cargo build --release` makes)
#   scripts/bench/pages.sh next:/marketplace
#                                  (a route written next:ROUTE is the page that
#                                   ROUTE's rel="next" link leads to, looked up
#                                   after SEED, e.g. the marketplace's page 2)
#   BIN=/tmp/crowdlend-before scripts/bench/pages.sh /marketplace
#                                  (measures that binary instead of building
#                                   one: a copy of an earlier build, to compare
#                                   before and after on the same day)
#   DURATION=10s ROUNDS=3 ...
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/crowdlend-target}"
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }

duration="${DURATION:-10s}"
rounds="${ROUNDS:-3}"
routes=("$@")
[ ${#routes[@]} -gt 0 ] || routes=(/ /login)
port="${PORT:-18181}"

bin="${BIN:-$CARGO_TARGET_DIR/release/crowdlend}"
[ -n "${BIN:-}" ] || cargo build --release --bin crowdlend -q
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
export DATA_DIR="$work" BIND="127.0.0.1:$port" RUST_LOG=warn
"$bin" serve --demo >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
[ -z "${SEED:-}" ] || (export CARGO_TARGET_DIR="$CARGO_TARGET_DIR-bench"; eval "$SEED")

cookie_header=()
if [ -n "${SIGN_IN:-}" ]; then
  jar="$work/cookies"
  token=$(curl -fs -c "$jar" "http://127.0.0.1:$port/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
  curl -fs -b "$jar" -c "$jar" -o /dev/null --data-urlencode "csrf_token=$token" \
    --data-urlencode "email=$SIGN_IN" --data-urlencode "password=${SIGN_IN_PASSWORD:-demo-password}" \
    "http://127.0.0.1:$port/login"
  session=$(awk '$6 == "crowdlend_session" {print $7}' "$jar")
  [ -n "$session" ] || { echo "could not sign in as $SIGN_IN"; exit 1; }
  cookie_header=(-H "Cookie: crowdlend_session=$session")
  echo "signed in as $SIGN_IN"
fi

# next:ROUTE -> the href of ROUTE's rel="next" link (HTML-unescaped).
resolve() {
  case "$1" in
    next:*)
      local link
      link=$(curl -fs "${cookie_header[@]}" "http://127.0.0.1:$port${1#next:}" \
        | sed -n 's/.*href="\([^"]*\)" rel="next".*/\1/p' | head -1)
      [ -n "$link" ] || { echo "no rel=\"next\" link on ${1#next:}" >&2; return 1; }
      printf '%s\n' "${link//&amp;/&}"
      ;;
    *) printf '%s\n' "$1" ;;
  esac
}
resolved=()
for route in "${routes[@]}"; do resolved+=("$(resolve "$route")"); done
routes=("${resolved[@]}")

# The server's user + system CPU time so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
ticks_per_s=$(getconf CLK_TCK)

# wrk prints "Requests/sec: N", "N requests in" and, with --latency,
# "99% X(us|ms|s)". Prints: requests/s, p99, server CPU µs per request.
measure() {
  local out rps p99 requests before after
  local headers=()
  [ "$1" = /healthz ] || headers=("${cookie_header[@]}")
  before=$(cpu_ticks)
  out=$(wrk -t1 -c32 -d"$duration" --latency "${headers[@]}" "http://127.0.0.1:$port$1")
  after=$(cpu_ticks)
  # An error page is fast: a figure made of them would measure nothing.
  if grep -q "Non-2xx or 3xx responses" <<<"$out"; then
    echo "$1 answered with errors under load:" >&2
    grep "Non-2xx" <<<"$out" >&2
    tail -5 "$work/server.log" >&2
    exit 1
  fi
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$rps $p99 $(awk -v t="$((after - before))" -v n="$requests" -v hz="$ticks_per_s" \
    'BEGIN { printf "%.0f", t * 1000000 / hz / n }')"
}

to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

echo "database: ${DATABASE_URL:-sqlite (fresh file)}, wrk -t1 -c32 -d$duration, $rounds rounds"
for route in "${routes[@]}"; do
  ratios=(); p99s=(); hp99s=(); cpus=()
  for round in $(seq "$rounds"); do
    figures=$(measure "$route")
    read -r rps p99 cpu <<<"$figures"
    figures=$(measure /healthz)
    read -r hrps hp99 _ <<<"$figures"
    ratio=$(awk -v a="$rps" -v b="$hrps" 'BEGIN { printf "%.3f", a / b }')
    ratios+=("$ratio"); p99s+=("$(to_ms "$p99")"); hp99s+=("$(to_ms "$hp99")"); cpus+=("$cpu")
    printf '  %-10s round %d: %9.0f req/s (p99 %s, %s µs CPU) vs /healthz %9.0f req/s (p99 %s): ratio %s\n' \
      "$route" "$round" "$rps" "$p99" "$cpu" "$hrps" "$hp99" "$ratio"
  done
  printf '%-10s median ratio %s, median p99 %s ms (healthz %s ms), median %s µs server CPU a request\n' \
    "$route" "$(printf '%s\n' "${ratios[@]}" | median)" "$(printf '%s\n' "${p99s[@]}" | median)" \
    "$(printf '%s\n' "${hp99s[@]}" | median)" "$(printf '%s\n' "${cpus[@]}" | median)"
done
echo "server resident memory: $(awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$server/status")"
