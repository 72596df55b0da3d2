//! Investment commits on one hot loan: `BENCH_INVESTORS` investors (default
//! 200) each with money in their wallet commit 1 000 ₽ at a time to the same
//! loan through `services::investing::invest` (one write transaction: the
//! idempotency key, settings, the investor's checks, the wallet then the loan
//! locked, the yearly limit summed, the reservation, the loan's funded amount,
//! the investment row, the confirmation email queued, the key stored).
//! `BENCH_COMMITS` commits (default 2 000) are made twice: one after another
//! (one client, like pgbench's single-client run `scripts/bench/investing.sh`
//! compares it with), then from `BENCH_CONCURRENCY` tasks at once (default
//! 32), all on the one loan. The loan is large enough never to fill, so every
//! commit is the same work; `verify` must hold afterwards.
//!
//! `cargo bench --bench investing` runs on SQLite (a temporary file); with
//! `BENCH_DATABASE_URL=postgres://…` on PostgreSQL in a throw-away schema.

use std::{sync::Arc, time::Instant};

use chrono::TimeDelta;
use crowdlend::{
    clock::{Clock, SystemClock},
    db::entities::{investments, investor_profiles, loan_requests},
    domain::money::{Currency, Money},
    ledger::verify::verify,
    services::{
        RequestMeta,
        idempotency::IdempotencyKey,
        investing::{self, Commitment},
        wallet::{self, BankTransferRequest, Direction, NewBankAccount},
    },
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait,
};
use uuid::Uuid;

mod support;

use support::{Target, bench_user, count_from_env, database_from_env, rate};

fn rub(roubles: i64) -> anyhow::Result<Money> {
    Ok(Money::from_minor(roubles * 100, Currency::Rub)?)
}

/// A loan open for funding, inserted directly (a fixture, not how loans are made).
async fn hot_loan(db: &DatabaseConnection, borrower: Uuid) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    let now = SystemClock.now();
    let amount = rub(900_000_000)?.minor();
    loan_requests::ActiveModel {
        id: Set(id),
        borrower_id: Set(borrower),
        amount: Set(amount),
        currency: Set("RUB".to_owned()),
        term_months: Set(12),
        rate_annual: Set(Some(1_500)),
        requested_amount: Set(amount),
        requested_term_months: Set(12),
        purpose: Set("business".to_owned()),
        description: Set("A benchmark loan that never fills.".to_owned()),
        status: Set("funding".to_owned()),
        funded_amount: Set(0),
        risk_grade: Set(Some("A".to_owned())),
        scoring_score: Set(Some(800)),
        listing_mode: Set("fixed".to_owned()),
        funding_deadline: Set(Some(now + TimeDelta::days(14))),
        listed_at: Set(Some(now)),
        funded_at: Set(None),
        disbursed_at: Set(None),
        closed_at: Set(None),
        rejection_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(id)
}

async fn commit(
    db: &DatabaseConnection,
    base_url: &url::Url,
    investor: Uuid,
    loan_id: Uuid,
) -> anyhow::Result<()> {
    let commitment = Commitment {
        loan_id,
        amount: rub(1_000)?,
        key: IdempotencyKey::parse(&IdempotencyKey::generate())
            .map_err(|e| anyhow::anyhow!("{e:?}"))?,
    };
    investing::invest(db, &SystemClock, investor, &commitment, base_url)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let investors = count_from_env("BENCH_INVESTORS", 200);
    let commits = count_from_env("BENCH_COMMITS", 2_000);
    let concurrency = count_from_env("BENCH_CONCURRENCY", 32);
    let (pg_url, backend) = database_from_env();
    println!(
        "investing benchmark on {backend}: {investors} investors, {commits} commits of 1 000 ₽ on one loan, \
         sequential then {concurrency} at once"
    );
    let target = Target::fresh(pg_url.as_deref()).await?;
    let db = &target.db;
    let base_url = url::Url::parse("http://127.0.0.1:8080")?;
    let meta = RequestMeta::default();

    // Setup (not timed): the investors, qualified, with the risk declaration
    // accepted and 100 000 ₽ deposited through the wallet use case.
    let borrower = bench_user(db, "borrower", 0).await?;
    let loan_id = hot_loan(db, borrower).await?;
    let mut ids = Vec::new();
    for n in 0..investors {
        let id = bench_user(db, "investor", n).await?;
        let now = SystemClock.now();
        investor_profiles::ActiveModel {
            user_id: Set(id),
            tax_id: Set(Some("500100732259".to_owned())),
            qualified: Set(true),
            risk_declaration_accepted_at: Set(Some(now)),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await?;
        let account = wallet::add_bank_account(
            db,
            &SystemClock,
            id,
            NewBankAccount::parse("Bench Investor", "Bench Bank", "40817810000000000001")
                .map_err(|e| anyhow::anyhow!("{e:?}"))?,
            &meta,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        wallet::transfer(
            db,
            &SystemClock,
            id,
            &BankTransferRequest {
                direction: Direction::Deposit,
                amount: rub(100_000)?,
                bank_account_id: account,
                key: IdempotencyKey::parse(&IdempotencyKey::generate())
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        ids.push(id);
    }
    let investors_list = Arc::new(ids);

    let started = Instant::now();
    for n in 0..commits {
        let investor = investors_list[usize::try_from(n)? % investors_list.len()];
        commit(db, &base_url, investor, loan_id).await?;
    }
    let sequential = rate(commits, started.elapsed());

    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let db = db.clone();
        let base_url = base_url.clone();
        let list = investors_list.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = task;
            while n < commits {
                let investor = list[usize::try_from(n)? % list.len()];
                commit(&db, &base_url, investor, loan_id).await?;
                n += concurrency;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let concurrent = rate(commits, started.elapsed());

    let made = investments::Entity::find().count(db).await?;
    anyhow::ensure!(
        made == 2 * commits,
        "{made} investments for {} commits",
        2 * commits
    );
    let report = verify(db).await?;
    anyhow::ensure!(
        report.holds(),
        "verify failed after the benchmark:\n{report}"
    );
    println!("  one after another: {sequential:.0} commits/s");
    println!("  {concurrency} at once on the same loan: {concurrent:.0} commits/s");
    println!(
        "  verify: every invariant holds over {} entries",
        report.entries
    );
    println!(
        "RESULT backend={backend} commits={commits} sequential_per_s={sequential:.0} concurrent_per_s={concurrent:.0}"
    );
    target.drop_schema().await?;
    Ok(())
}
