#!/usr/bin/env bash
# The server's resident memory (release build): after `serve --demo` and the
# 10 000 seeded marketplace loans, after 100 sign-ins one after another
# (each hashes a password: argon2id's 19 MiB working buffer), after load on
# the busy pages (wrk -t1 -c32, 5 s each), and 10 s later.
#
#   scripts/bench/memory.sh
#   DATABASE_URL=postgres://... scripts/bench/memory.sh     (PostgreSQL)
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/crowdlend-target}"
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
port="${PORT:-18182}"
base="http://127.0.0.1:$port"

cargo build --release --bin crowdlend -q
(export CARGO_TARGET_DIR="$CARGO_TARGET_DIR-bench"; cargo bench --bench seed_marketplace --no-run -q)
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
export DATA_DIR="$work" BIND="127.0.0.1:$port" RUST_LOG=warn
"$CARGO_TARGET_DIR/release/crowdlend" serve --demo >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.2; done
(export CARGO_TARGET_DIR="$CARGO_TARGET_DIR-bench"; cargo bench --bench seed_marketplace -q)

rss() { awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$server/status"; }
echo "database: ${DATABASE_URL:-sqlite (fresh file)}"
echo "after serve --demo and the seed: $(rss)"

jar="$work/cookies"
for _ in $(seq 100); do
  rm -f "$jar"
  token=$(curl -fs -c "$jar" "$base/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
  curl -fs -b "$jar" -c "$jar" -o /dev/null --data-urlencode "csrf_token=$token" \
    --data-urlencode "email=investor@demo.local" --data-urlencode "password=demo-password" \
    "$base/login"
done
echo "after 100 sign-ins: $(rss)"

session=$(awk '$6 == "crowdlend_session" {print $7}' "$jar")
[ -n "$session" ] || { echo "could not sign in"; exit 1; }
for route in /marketplace /login; do wrk -t1 -c32 -d5s "$base$route" >/dev/null; done
for route in /investor /wallet; do
  wrk -t1 -c32 -d5s -H "Cookie: crowdlend_session=$session" "$base$route" >/dev/null
done
echo "after load on /marketplace, /login, /investor, /wallet: $(rss)"
sleep 10
echo "10 s later: $(rss)"
