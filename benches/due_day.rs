//! One due day of a busy platform (issue 14's benchmark): `BENCH_LOANS`
//! active loans (default 10 000) of 12 months, each funded by
//! `BENCH_HOLDERS` investors (default 20, drawn from a pool of 500), every
//! borrower's wallet holding the first installment; then one
//! `jobs::due_payments` pass on the first due date collects every loan's
//! installment and shares it among its holders: 10 000 payments, 200 000
//! distributions, 10 000 ledger entries and their postings, and the emails
//! (a receipt to each borrower, a note to each holder). With `BENCH_DAYS=N`
//! the first N−1 due days run first and the figures are day N's, when each
//! stake has N−1 payments of history. Reports the pass's
//! wall time, rows written per second, statements and the process's peak
//! memory during the pass, then runs `verify`.
//!
//! The fixture goes straight into the tables (multi-row inserts; the
//! borrowers' money arrives in one deposit entry through the ledger, so
//! `verify` holds): a benchmark fixture, not how loans are made.
//!
//! `cargo bench --bench due_day` (release; SQLite, or PostgreSQL with
//! `BENCH_DATABASE_URL`; `BENCH_PROFILE=1` also lists the statements that
//! took longest in total); `scripts/bench/due_day.sh` runs both.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use chrono::{Months, NaiveTime};
use crowdlend::{
    clock::{Clock, FixedClock, SystemClock},
    db::{
        entities::{investments, loan_requests, wallets},
        repo::installments,
    },
    domain::{
        ids::LoanId,
        lifecycle::LoanStatus,
        money::{Currency, Money, Rate},
        schedule::{self, LoanTerms},
    },
    jobs::due_payments,
    ledger::verify::verify,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use uuid::Uuid;

mod support;

use support::{
    Target, bench_user, count_from_env, database_from_env, deposit_each, loan_row, rate,
};

/// Rows per multi-row insert (well under SQLite's bound-parameter limit).
const CHUNK: usize = 500;

/// Peak resident memory of this process since the last reset, in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Resets the peak (Linux: writing 5 to clear_refs).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn insert_chunks<A, E>(db: &DatabaseConnection, rows: Vec<A>) -> anyhow::Result<()>
where
    E: EntityTrait,
    A: sea_orm::ActiveModelTrait<Entity = E> + Clone + Send,
{
    for chunk in rows.chunks(CHUNK) {
        E::insert_many(chunk.to_vec()).exec(db).await?;
    }
    Ok(())
}

async fn count(db: &DatabaseConnection, table: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) FROM {table}"),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no count"))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)]
async fn main() -> anyhow::Result<()> {
    let loans = count_from_env("BENCH_LOANS", 10_000);
    let holders = count_from_env("BENCH_HOLDERS", 20);
    let pool = count_from_env("BENCH_INVESTORS", 500).max(holders);
    let (pg_url, backend) = database_from_env();
    println!("due-day benchmark on {backend}: {loans} loans of 12 months, {holders} holders each");
    let mut target = Target::fresh(pg_url.as_deref()).await?;
    let db = target.db.clone();
    let now = SystemClock.now();
    let start = now.date_naive();
    let seeding = Instant::now();

    let mut investors = Vec::new();
    for n in 0..pool {
        investors.push(bench_user(&db, "investor", n).await?);
    }
    let mut borrowers = Vec::new();
    for n in 0..loans {
        borrowers.push(bench_user(&db, "borrower", n).await?);
    }
    let amount = Money::from_minor(holders.cast_signed() * 500_000, Currency::Rub)?;
    let terms = LoanTerms {
        principal: amount,
        rate: Rate::from_bps(1_500)?,
        term_months: 12,
        start,
    };
    let plan = schedule::annuity(&terms)?;
    // `BENCH_DAYS` due days in a row (default 1; up to the term): each
    // borrower's wallet holds that many installments, and the figures are
    // the last day's, when every stake has that much history.
    let days = count_from_env("BENCH_DAYS", 1).clamp(1, 12);
    let installment: i64 = plan
        .installments
        .iter()
        .take(usize::try_from(days)?)
        .map(|row| row.principal.minor() + row.interest.minor())
        .sum();

    let mut loan_rows = Vec::new();
    let mut stake_rows = Vec::new();
    let mut schedule_rows = Vec::new();
    let disbursed = start.and_time(NaiveTime::MIN).and_utc();
    for (n, borrower) in borrowers.iter().enumerate() {
        let loan_id = Uuid::now_v7();
        loan_rows.push(loan_requests::ActiveModel {
            funded_amount: Set(amount.minor()),
            funding_deadline: Set(Some(disbursed)),
            listed_at: Set(Some(disbursed)),
            funded_at: Set(Some(disbursed)),
            disbursed_at: Set(Some(disbursed)),
            ..loan_row(loan_id, *borrower, amount, LoanStatus::Active, disbursed)
        });
        for h in 0..holders {
            let investor = investors[(n as u64 * 7 + h * 13) as usize % investors.len()];
            stake_rows.push(investments::ActiveModel {
                id: Set(Uuid::now_v7()),
                investor_id: Set(investor.into()),
                loan_id: Set(loan_id),
                amount: Set(500_000),
                status: Set("active".to_owned()),
                source: Set("manual".to_owned()),
                agreement_hash: Set(None),
                agreement_path: Set(None),
                accepted_at: Set(disbursed),
                created_at: Set(disbursed),
                updated_at: Set(disbursed),
            });
        }
        schedule_rows.extend(
            installments::schedule_rows(LoanId::from_uuid(loan_id), &plan.installments, disbursed)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?,
        );
    }
    insert_chunks(&db, loan_rows).await?;
    insert_chunks(&db, stake_rows).await?;
    insert_chunks(&db, schedule_rows).await?;

    // Each borrower's wallet gets the first installment, in one deposit.
    let borrower_wallets: Vec<Uuid> = wallets::Entity::find()
        .filter(
            wallets::Column::UserId
                .is_in(borrowers.iter().map(|b| b.as_uuid()).collect::<Vec<_>>()),
        )
        .all(&db)
        .await?
        .into_iter()
        .map(|w| w.id)
        .collect();
    deposit_each(&db, &borrower_wallets, installment).await?;
    // A platform that grew to this size has planner statistics on the
    // tables the fixture filled in one go (the app runs `PRAGMA optimize` on
    // SQLite, autovacuum analyzes on PostgreSQL). The tables the day fills
    // are left without: statistics taken while they are empty would make
    // PostgreSQL check every foreign key into them by scanning them.
    for table in [
        "users",
        "wallets",
        "loan_requests",
        "investments",
        "repayment_schedule",
    ] {
        db.execute_unprepared(&format!("ANALYZE {table}")).await?;
    }
    println!(
        "seeded in {:.1} s: {loans} loans, {} stakes, {} installments",
        seeding.elapsed().as_secs_f64(),
        loans * holders,
        loans * 12
    );

    let statements = Arc::new(AtomicU64::new(0));
    let counter = statements.clone();
    let by_statement: Arc<
        std::sync::Mutex<std::collections::HashMap<String, (u64, std::time::Duration)>>,
    > = Arc::default();
    let timings = by_statement.clone();
    target.db.set_metric_callback(move |info| {
        counter.fetch_add(1, Ordering::Relaxed);
        let key: String = info.statement.sql.chars().take(90).collect();
        let mut map = timings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let slot = map.entry(key).or_default();
        slot.0 += 1;
        slot.1 += info.elapsed;
    });
    let db = target.db.clone();
    let base_url = url::Url::parse("http://127.0.0.1:8080")?;
    let at_nine = |months: u64| -> anyhow::Result<FixedClock> {
        let due = start
            .checked_add_months(Months::new(u32::try_from(months)?))
            .ok_or_else(|| anyhow::anyhow!("date"))?;
        Ok(FixedClock::at(
            due.and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default())
                .and_utc(),
        ))
    };
    for month in 1..days {
        let timer = Instant::now();
        let report = due_payments::run(&db, &at_nine(month)?, &base_url)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        println!(
            "day {month}: {} payments in {:.2} s",
            report.collected,
            timer.elapsed().as_secs_f64()
        );
    }
    statements.store(0, Ordering::Relaxed);
    by_statement
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    let clock = at_nine(days)?;
    let tables = [
        "loan_payments",
        "distributions",
        "ledger_entries",
        "wallet_transactions",
        "outbox_emails",
    ];
    let mut before = Vec::new();
    for table in tables {
        before.push(count(&db, table).await?);
    }
    let resident = peak_mib();
    reset_peak();
    let timer = Instant::now();
    let report = due_payments::run(&db, &clock, &base_url)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let elapsed = timer.elapsed();
    let peak = peak_mib();
    let mut written = 0;
    for (table, was) in tables.iter().zip(&before) {
        let now = count(&db, table).await?;
        println!("  {table}: {}", now - was);
        written += now - was;
    }
    // Each installment row is updated too.
    let collected = u64::from(report.collected);
    println!(
        "RESULT backend={backend} loans={loans} day={days} collected={collected} wall_s={:.2} \
         payments_per_s={:.0} rows_per_s={:.0} statements={} statements_per_loan={:.1} \
         peak_mib={peak:.1} resident_before_mib={resident:.1}",
        elapsed.as_secs_f64(),
        rate(collected, elapsed),
        rate(u64::try_from(written)? + collected, elapsed),
        statements.load(Ordering::Relaxed),
        statements.load(Ordering::Relaxed) as f64 / loans as f64,
    );
    if std::env::var("BENCH_PROFILE").is_ok() {
        let map = by_statement
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut slowest: Vec<_> = map.iter().collect();
        slowest.sort_by_key(|(_, (_, total))| std::cmp::Reverse(*total));
        for (sql, (n, total)) in slowest.iter().take(15) {
            println!("  {:>8.1} ms {n:>7}x  {sql}", total.as_secs_f64() * 1000.0);
        }
    }
    let checked = verify(&db).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    println!(
        "verify: {}",
        if checked.holds() {
            "every invariant holds"
        } else {
            "VIOLATIONS"
        }
    );
    if !checked.holds() {
        println!("{checked}");
    }
    target.drop_schema().await?;
    Ok(())
}
