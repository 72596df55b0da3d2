//! Two figures of the invest-and-pay-out path, for comparing its shape over
//! time (both run on SQLite, or on PostgreSQL with `BENCH_DATABASE_URL`):
//!
//! - statements per commitment: the SQL statements one
//!   `services::investing::invest` call sends (counted through sea-orm's
//!   metric callback; BEGIN and COMMIT are not statements there), for a
//!   commitment that does not fill its loan;
//! - the payout of a loan funded by `BENCH_PAYOUT_INVESTORS` commitments
//!   (default 50): how long `services::funding::disburse` takes, and how long
//!   other writers wait meanwhile. A probe task writes one small row after
//!   another (an audit record, in its own write transaction) while the
//!   payout runs; its longest wait is how long the payout held the write lock
//!   (on SQLite the whole database's; on PostgreSQL the probe touches no row
//!   of the payout's, so it measures the chain head's lock).
//!
//! `cargo bench --bench payout` (release build).

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use crowdlend::{
    clock::{Clock, SystemClock},
    db::entities::platform_settings,
    ledger::verify::verify,
    services::{
        RequestMeta,
        audit::{self, AuditEvent},
        funding,
        investing::{self, Commitment},
    },
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection};

mod support;

use support::{
    Target, bench_user, count_from_env, database_from_env, funded_investor, new_key, open_loan,
    rub, typed,
};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let investors = count_from_env("BENCH_PAYOUT_INVESTORS", 50);
    let (pg_url, backend) = database_from_env();
    println!("payout benchmark on {backend}: a loan funded by {investors} commitments");
    let mut target = Target::fresh(pg_url.as_deref()).await?;
    let base_url = url::Url::parse("http://127.0.0.1:8080")?;
    let statements = Arc::new(AtomicU64::new(0));
    let slowest: Arc<Mutex<Vec<(Duration, String)>>> = Arc::default();
    let (counter, slow) = (statements.clone(), slowest.clone());
    target.db.set_metric_callback(move |info| {
        counter.fetch_add(1, Ordering::Relaxed);
        let mut slow = slow
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slow.push((info.elapsed, info.statement.sql.chars().take(90).collect()));
        slow.sort_by_key(|(took, _)| std::cmp::Reverse(*took));
        slow.truncate(3);
    });
    let db = &target.db;
    // Paid out by the benchmark, not by the commitment that fills the loan.
    platform_settings::ActiveModel {
        key: Set("disbursement_automatic".to_owned()),
        value: Set("false".to_owned()),
        updated_at: Set(SystemClock.now()),
        updated_by: Set(None),
    }
    .insert(db)
    .await?;

    let borrower = bench_user(db, "borrower", 0).await?;
    let loan_id = open_loan(db, borrower, rub(1_000 * i64::try_from(investors)?)?).await?;
    let mut ids = Vec::new();
    for n in 0..investors {
        ids.push(funded_investor(db, n, rub(10_000)?).await?);
    }

    // Statements of one commitment that leaves the loan open (the first),
    // then the rest, the last of which fills it.
    let mut per_commitment = Vec::new();
    for investor in &ids {
        let before = statements.load(Ordering::Relaxed);
        let commitment = Commitment {
            loan_id,
            amount: typed(1_000)?,
            key: new_key()?,
        };
        investing::invest(db, &SystemClock, *investor, &commitment, &base_url)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        per_commitment.push(statements.load(Ordering::Relaxed) - before);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let probed = Arc::new(AtomicU64::new(0));
    let probe = tokio::spawn(probe_writes(db.clone(), stop.clone(), probed.clone()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = statements.load(Ordering::Relaxed);
    let probed_before = probed.load(Ordering::Relaxed);
    slowest
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    let started = Instant::now();
    funding::disburse(db, &SystemClock, loan_id, None, &base_url)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let payout = started.elapsed();
    // The probe's inserts (one statement each) go through the same counter.
    let payout_statements = (statements.load(Ordering::Relaxed) - before)
        .saturating_sub(probed.load(Ordering::Relaxed) - probed_before);
    let slowest = std::mem::take(
        &mut *slowest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let (writes, longest_wait) = probe.await??;

    let report = verify(db).await?;
    anyhow::ensure!(report.holds(), "verify failed:\n{report}");
    let first = per_commitment.first().copied().unwrap_or_default();
    let last = per_commitment.last().copied().unwrap_or_default();
    println!("  statements for a commitment: {first} (the one that fills the loan: {last})");
    println!(
        "  payout of {investors} commitments: {:.1} ms, {payout_statements} statements",
        payout.as_secs_f64() * 1000.0
    );
    for (took, sql) in &slowest {
        println!("    {:.1} ms: {sql}", took.as_secs_f64() * 1000.0);
    }
    println!(
        "  longest wait of another writer during the payout: {:.1} ms ({writes} probe writes)",
        longest_wait.as_secs_f64() * 1000.0
    );
    println!(
        "RESULT backend={backend} statements_per_commitment={first} payout_ms={:.1} longest_write_wait_ms={:.1}",
        payout.as_secs_f64() * 1000.0,
        longest_wait.as_secs_f64() * 1000.0
    );
    target.drop_schema().await?;
    Ok(())
}

/// Writes one audit row at a time until told to stop, counting them in
/// `written`; returns how many it wrote and the longest any of them took.
async fn probe_writes(
    db: DatabaseConnection,
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
) -> anyhow::Result<(u64, Duration)> {
    let (mut writes, mut longest) = (0, Duration::ZERO);
    let meta = RequestMeta::default();
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let txn = crowdlend::db::begin_write(&db).await?;
        audit::record(
            &txn,
            AuditEvent {
                actor_id: None,
                action: "bench_probe",
                entity: None,
                before: None,
                after: None,
                meta: &meta,
                at: SystemClock.now(),
            },
        )
        .await?;
        txn.commit().await?;
        longest = longest.max(started.elapsed());
        writes += 1;
        written.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok((writes, longest))
}
