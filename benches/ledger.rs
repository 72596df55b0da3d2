//! Ledger throughput: `ENTRIES` two-posting entries through `ledger::store::post`
//! (each in its own write transaction, as a deposit is), against the same
//! rows written as plain inserts (the ceiling: no locks, no balance updates,
//! no hash chain). The ratio is the figure to watch; absolute rates depend on
//! the machine. Then `verify` over the whole journal.
//!
//! `cargo bench --bench ledger` runs on SQLite (a temporary file);
//! with `BENCH_DATABASE_URL=postgres://…` it runs on PostgreSQL in a fresh
//! schema that is dropped afterwards. `BENCH_ENTRIES` changes the count
//! (default 100 000). `scripts/bench/ledger.sh` runs both and pgbench.

use std::time::Instant;

use crowdlend::{
    clock::{Clock, SystemClock},
    db::{
        self,
        entities::{ledger_entries, wallet_transactions},
    },
    domain::{
        money::{Currency, Money},
        user::{Email, NewPassword, PersonName, Role},
        wallet::WalletKind,
    },
    ledger::{EntryKind, JournalEntry, store, verify::verify},
    services::{RequestMeta, auth},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait,
};
use uuid::Uuid;

mod support;

use support::{Target, count_from_env, database_from_env, rate};

const USERS: usize = 8;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let entries = count_from_env("BENCH_ENTRIES", 100_000);
    let (pg_url, backend) = database_from_env();
    println!("ledger benchmark on {backend}: {entries} two-posting entries, one transaction each");

    let posted = {
        let target = Target::fresh(pg_url.as_deref()).await?;
        let rate = through_the_ledger(&target.db, entries).await?;
        let started = Instant::now();
        let report = verify(&target.db).await?;
        let verify_time = started.elapsed();
        anyhow::ensure!(
            report.holds(),
            "verify failed after the benchmark:\n{report}"
        );
        println!(
            "  verify over {} entries: {:.2} s, every invariant holds",
            report.entries,
            verify_time.as_secs_f64()
        );
        target.drop_schema().await?;
        rate
    };
    let plain = {
        let target = Target::fresh(pg_url.as_deref()).await?;
        let rate = plain_inserts(&target.db, entries).await?;
        target.drop_schema().await?;
        rate
    };
    println!("  through ledger::store::post: {posted:.0} entries/s");
    println!("  plain inserts of the same rows: {plain:.0} entries/s");
    println!("  ratio: {:.2}", posted / plain);
    println!(
        "RESULT backend={backend} entries={entries} posted_per_s={posted:.0} plain_per_s={plain:.0} ratio={:.3}",
        posted / plain
    );
    Ok(())
}

async fn user_wallets(db: &DatabaseConnection) -> anyhow::Result<Vec<Uuid>> {
    let mut wallets = Vec::with_capacity(USERS);
    for n in 0..USERS {
        let email =
            Email::parse(&format!("bench-{n}@example.com")).map_err(|e| anyhow::anyhow!("{e}"))?;
        let account = auth::NewAccount {
            password: NewPassword::parse("bench-password-long", Some(&email))
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            email,
            full_name: PersonName::parse("Bench User").map_err(|e| anyhow::anyhow!("{e}"))?,
            role: Role::Investor,
        };
        let user_id =
            auth::create_account(db, &SystemClock, None, account, &RequestMeta::default())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        let wallet = crowdlend::db::queries::wallet::user_wallet(db, user_id, Currency::Rub)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no wallet"))?;
        wallets.push(wallet.id.as_uuid());
    }
    Ok(wallets)
}

async fn through_the_ledger(db: &DatabaseConnection, entries: u64) -> anyhow::Result<f64> {
    let wallets = user_wallets(db).await?;
    let settlement = store::platform_wallet(db, WalletKind::Settlement.as_str(), "RUB")
        .await?
        .id;
    let started = Instant::now();
    for n in 0..entries {
        let wallet = wallets[usize::try_from(n)? % USERS];
        let amount = Money::from_minor(i64::try_from(n % 10_000)? + 1, Currency::Rub)?;
        let entry =
            JournalEntry::transfer(EntryKind::Deposit, "bench", settlement, wallet, amount)?;
        let txn = db::begin_write(db).await?;
        store::post(&txn, &entry, None, SystemClock.now()).await?;
        txn.commit().await?;
    }
    Ok(rate(entries, started.elapsed()))
}

async fn plain_inserts(db: &DatabaseConnection, entries: u64) -> anyhow::Result<f64> {
    let wallets = user_wallets(db).await?;
    let settlement = store::platform_wallet(db, WalletKind::Settlement.as_str(), "RUB")
        .await?
        .id;
    let started = Instant::now();
    for n in 0..entries {
        let wallet = wallets[usize::try_from(n)? % USERS];
        let amount = i64::try_from(n % 10_000)? + 1;
        let now = SystemClock.now();
        let id = Uuid::now_v7();
        let txn = db::begin_write(db).await?;
        let seq = i64::try_from(n)? + 1;
        ledger_entries::ActiveModel {
            id: Set(id),
            seq: Set(seq),
            kind: Set(EntryKind::Deposit.as_str().to_owned()),
            memo: Set("bench".to_owned()),
            created_by: Set(None),
            created_at: Set(now),
            // Same length as a SHA-256 hex digest, and unique like one.
            hash: Set(format!("{n:064x}")),
            prev_hash: Set(n.checked_sub(1).map(|prev| format!("{prev:064x}"))),
        }
        .insert(&txn)
        .await?;
        for (wallet_id, amount) in [(settlement, -amount), (wallet, amount)] {
            wallet_transactions::ActiveModel {
                id: Set(Uuid::now_v7()),
                entry_id: Set(id),
                wallet_id: Set(wallet_id),
                amount: Set(amount),
                balance_after: Set(0),
                created_at: Set(now),
                seq: Set(seq),
            }
            .insert(&txn)
            .await?;
        }
        txn.commit().await?;
    }
    let stored = ledger_entries::Entity::find().count(db).await?;
    anyhow::ensure!(stored == entries, "{stored} of {entries} rows stored");
    Ok(rate(entries, started.elapsed()))
}
