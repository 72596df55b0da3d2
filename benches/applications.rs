//! Application throughput: `BENCH_APPLICATIONS` borrowers (default 2 000),
//! each with a saved profile, each submit one loan application through
//! `services::applications::submit`: one write transaction that locks the
//! borrower, reads settings and profile, inserts the application, runs the
//! scorecard, stores its result, moves the status twice through the
//! lifecycle, writes two audit records and queues an email. Sequential, one
//! client, like pgbench's single-client run that `scripts/bench/applications.sh`
//! compares it with.
//!
//! `cargo bench --bench applications` runs on SQLite (a temporary file); with
//! `BENCH_DATABASE_URL=postgres://…` on PostgreSQL in a throw-away schema.

use std::time::Instant;

use chrono::NaiveDate;
use crowdlend::{
    clock::SystemClock,
    domain::{
        application::{
            Asset, AssetKind, Education, Liability, LiabilityKind, ListingMode, LoanRequest,
            Profile, Purpose,
        },
        lifecycle::LoanStatus,
        money::{Currency, Money},
        scoring::Employment,
    },
    services::{RequestMeta, applications},
};
use sea_orm::{EntityTrait, PaginatorTrait};

mod support;

use support::{Target, bench_user, count_from_env, database_from_env, rate};

fn rub(roubles: i64) -> anyhow::Result<Money> {
    Ok(Money::from_minor(roubles * 100, Currency::Rub)?)
}

fn date(y: i32, m: u32, d: u32) -> anyhow::Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| anyhow::anyhow!("date"))
}

/// Profiles that differ by borrower, so the scorecard reaches every grade.
fn profile(n: i64) -> anyhow::Result<Profile> {
    Ok(Profile {
        birth_date: date(
            1970 + i32::try_from(n % 30)?,
            1 + u32::try_from(n % 12)?,
            15,
        )?,
        employment: Employment::Employed,
        employer: Some("Bench Works".to_owned()),
        position: None,
        employed_since: Some(date(2015 + i32::try_from(n % 10)?, 3, 1)?),
        monthly_income: rub(40_000 + (n % 20) * 10_000)?,
        monthly_expenses: rub(30_000)?,
        education: Education::Bachelor,
        university: None,
        graduation_year: None,
        credit_score: u32::try_from(300 + (n * 37) % 700)?,
        avg_bank_balance: rub(50_000)?,
        defaults_12m: u32::try_from(n % 3)?,
        inquiries_12m: u32::try_from(n % 5)?,
        liabilities: vec![Liability {
            kind: LiabilityKind::CreditCard,
            outstanding: rub(50_000)?,
            monthly_payment: rub(5_000)?,
            start_date: date(2023, 1, 1)?,
            end_date: None,
        }],
        assets: vec![Asset {
            kind: AssetKind::Vehicle,
            value: rub(600_000)?,
            ownership_pct: 100,
            held_since: None,
        }],
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let count = count_from_env("BENCH_APPLICATIONS", 2_000);
    let (pg_url, backend) = database_from_env();
    println!("applications benchmark on {backend}: {count} borrowers apply once each");
    let target = Target::fresh(pg_url.as_deref()).await?;
    let db = &target.db;
    let meta = RequestMeta::default();
    let base_url = url::Url::parse("http://127.0.0.1:8080")?;

    // Setup (not timed): borrowers inserted directly (no password hashing),
    // each with a profile saved through the use case.
    let mut borrowers = Vec::new();
    for n in 0..i64::try_from(count)? {
        let id = bench_user(db, "borrower", u64::try_from(n)?).await?;
        applications::save_profile(db, &SystemClock, id, &profile(n)?, &meta)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        borrowers.push(id);
    }

    let request = LoanRequest {
        amount: rub(300_000)?,
        term_months: 24,
        purpose: Purpose::Car,
        description: "A benchmark application for a used car.".to_owned(),
        listing_mode: ListingMode::Fixed,
    };
    let started = Instant::now();
    let mut declined = 0_u64;
    for id in &borrowers {
        let submitted = applications::submit(db, &SystemClock, *id, &request, &base_url, &meta)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        if submitted.status == LoanStatus::Rejected {
            declined += 1;
        }
    }
    let per_second = rate(count, started.elapsed());
    let stored = crowdlend::db::entities::scoring_results::Entity::find()
        .count(db)
        .await?;
    anyhow::ensure!(
        stored == count,
        "{stored} scorecards stored for {count} applications"
    );
    println!("  {per_second:.0} applications/s ({declined} declined by a hard rule)");
    println!("RESULT backend={backend} applications={count} per_s={per_second:.0}");
    target.drop_schema().await?;
    Ok(())
}
