//! Fills a running demo database with `SEED_LOANS` loans open for investment
//! (default 10 000), for `scripts/bench/pages.sh /marketplace`: varied grades,
//! rates, terms, amounts, purposes, funded shares and deadlines, all borrowed
//! by the first demo borrower. Rows go straight into `loan_requests` (a
//! benchmark fixture, not a way loans are made). The database is
//! `DATABASE_URL`, or the SQLite file under `DATA_DIR` as `serve` uses it.
//! On PostgreSQL it then runs `ANALYZE loan_requests`, as autovacuum would
//! within a minute of such a load, so a measurement does not straddle the
//! moment the planner's statistics change; SQLite gets none (the server never
//! runs `ANALYZE`, so its queries must plan well without statistics).

use chrono::{SubsecRound, TimeDelta};
use crowdlend::{
    clock::{Clock, SystemClock},
    db::{
        self,
        entities::{loan_requests, users},
    },
    domain::application::Purpose,
    domain::lifecycle::LoanStatus,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
};
use uuid::Uuid;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let count: i64 = std::env::var("SEED_LOANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => format!(
            "sqlite://{}/crowdlend.db?mode=rwc",
            std::env::var("DATA_DIR").unwrap_or_else(|_| "data".to_owned())
        ),
    };
    let db = db::connect(&url).await?;
    let borrower = users::Entity::find()
        .filter(users::Column::Role.eq("borrower"))
        .one(&db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no borrower: start the server with --demo first"))?;
    // Microseconds, as deadlines are stored (see services::review).
    let now = SystemClock.now().trunc_subsecs(6);
    let grades = ["A", "B", "C", "D", "E", "F"];
    let terms = [3, 6, 9, 12, 18, 24, 36, 48, 60];
    let rows: Vec<loan_requests::ActiveModel> = (0..count)
        .map(|n| {
            // Minor units: 10 000 to 3 000 000 roubles in steps of 1 000.
            let amount = (10_000 + (n * 7_919 % 2_990) * 1_000) * 100;
            let purpose = Purpose::ALL[usize::try_from(n).unwrap_or(0) % Purpose::ALL.len()];
            loan_requests::ActiveModel {
                id: Set(Uuid::now_v7()),
                borrower_id: Set(borrower.id),
                amount: Set(amount),
                currency: Set("RUB".to_owned()),
                term_months: Set(terms[usize::try_from(n).unwrap_or(0) % terms.len()]),
                rate_annual: Set(Some(1_200 + i32::try_from(n * 37 % 3_800).unwrap_or(0))),
                requested_amount: Set(amount),
                requested_term_months: Set(12),
                purpose: Set(purpose.as_str().to_owned()),
                description: Set("A seeded loan for the marketplace benchmark.".to_owned()),
                status: Set(LoanStatus::Funding.as_str().to_owned()),
                funded_amount: Set(amount * (n % 100) / 100),
                risk_grade: Set(Some(grades[usize::try_from(n).unwrap_or(0) % 6].to_owned())),
                scoring_score: Set(Some(i32::try_from(n % 1000).unwrap_or(0))),
                listing_mode: Set("fixed".to_owned()),
                funding_deadline: Set(Some(now + TimeDelta::minutes(60 + n % 20_000))),
                listed_at: Set(Some(now)),
                funded_at: Set(None),
                disbursed_at: Set(None),
                closed_at: Set(None),
                rejection_reason: Set(None),
                default_reason: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
        })
        .collect();
    let txn = db::begin_write(&db).await?;
    for chunk in rows.chunks(500) {
        loan_requests::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("ANALYZE loan_requests").await?;
    }
    println!("seeded {count} loans open for investment");
    Ok(())
}
