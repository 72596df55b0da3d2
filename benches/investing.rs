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

use crowdlend::{
    clock::SystemClock,
    db::entities::investments,
    domain::ids::{LoanId, UserId},
    ledger::verify::verify,
    services::investing::{self, Commitment},
};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

mod support;

use support::{
    Target, bench_user, count_from_env, database_from_env, funded_investor, new_key, open_loan,
    rate, rub, typed,
};

async fn commit(
    db: &DatabaseConnection,
    base_url: &url::Url,
    investor: UserId,
    loan_id: LoanId,
) -> anyhow::Result<()> {
    let commitment = Commitment {
        loan_id,
        amount: typed(1_000)?,
        key: new_key()?,
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

    // Setup (not timed): the investors, qualified, with the risk declaration
    // accepted and 100 000 ₽ deposited through the wallet use case.
    let borrower = bench_user(db, "borrower", 0).await?;
    let loan_id = open_loan(db, borrower, rub(900_000_000)?).await?;
    let mut ids = Vec::new();
    for n in 0..investors {
        ids.push(funded_investor(db, n, rub(100_000)?).await?);
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
