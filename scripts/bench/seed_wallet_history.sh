#!/usr/bin/env bash
# Gives the demo investor (investor@demo.local) a long wallet history, for
# measuring /wallet as it is for someone who has invested for years:
# MOVEMENTS deposits (default 3 000), each a journal entry with its two
# postings (settlement and the investor's wallet), balances moved to match.
# SQLite only; written straight into the tables, so the entries are not
# hash-chained (`ledger verify` reports them): for benchmarks, never for
# a database anyone uses. Works on databases before and after migration 24
# (postings' `seq`, wallets' `posting_count`), so that two builds can be
# compared.
#
#   DATA_DIR=... scripts/bench/seed_wallet_history.sh
#   SEED='scripts/bench/seed_wallet_history.sh' SIGN_IN=investor@demo.local \
#     scripts/bench/pages.sh /wallet
set -euo pipefail
command -v sqlite3 >/dev/null || { echo "install sqlite3 (apt-get install sqlite3)"; exit 1; }
db="${DATA_DIR:?set DATA_DIR to the data folder of the demo server}/crowdlend.db"
movements="${MOVEMENTS:-3000}"
amount=100
posting_seq_column=""
posting_seq_value=""
count_postings=""
if sqlite3 "$db" "SELECT name FROM pragma_table_info('wallet_transactions')" | grep -qx seq; then
  posting_seq_column=", seq"
  posting_seq_value=", n.seq"
  count_postings=", posting_count = posting_count + $movements"
fi
sqlite3 -cmd ".timeout 30000" "$db" <<SQL
BEGIN IMMEDIATE;
CREATE TEMP TABLE n AS
  WITH RECURSIVE i(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM i WHERE k < $movements)
  SELECT k, (SELECT seq FROM ledger_head) + k AS seq, randomblob(16) AS entry_id,
         strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', 'now', '-' || ($movements - k) || ' minutes') AS at
  FROM i;
CREATE TEMP TABLE w AS SELECT
  (SELECT wallets.id FROM wallets JOIN users ON users.id = wallets.user_id
   WHERE users.email = 'investor@demo.local') AS investor,
  (SELECT balance FROM wallets JOIN users ON users.id = wallets.user_id
   WHERE users.email = 'investor@demo.local') AS investor_balance,
  (SELECT id FROM wallets WHERE kind = 'settlement' AND currency =
     (SELECT currency FROM wallets JOIN users ON users.id = wallets.user_id
      WHERE users.email = 'investor@demo.local')) AS settlement,
  (SELECT balance FROM wallets WHERE kind = 'settlement' AND currency =
     (SELECT currency FROM wallets JOIN users ON users.id = wallets.user_id
      WHERE users.email = 'investor@demo.local')) AS settlement_balance;
INSERT INTO ledger_entries (id, seq, kind, memo, created_at, hash, prev_hash)
  SELECT entry_id, seq, 'deposit', 'Bench top-up ' || k, at, 'bench ' || seq, NULL FROM n;
INSERT INTO wallet_transactions (id, entry_id, wallet_id, amount, balance_after, created_at$posting_seq_column)
  SELECT randomblob(16), n.entry_id, w.investor, $amount, w.investor_balance + $amount * n.k, n.at$posting_seq_value
  FROM n, w;
INSERT INTO wallet_transactions (id, entry_id, wallet_id, amount, balance_after, created_at$posting_seq_column)
  SELECT randomblob(16), n.entry_id, w.settlement, -$amount, w.settlement_balance - $amount * n.k, n.at$posting_seq_value
  FROM n, w;
UPDATE wallets SET balance = balance + $amount * $movements$count_postings WHERE id = (SELECT investor FROM w);
UPDATE wallets SET balance = balance - $amount * $movements$count_postings WHERE id = (SELECT settlement FROM w);
UPDATE ledger_head SET seq = seq + $movements;
COMMIT;
SQL
echo "investor@demo.local: $movements more movements"
