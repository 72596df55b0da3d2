//! Fills a running demo database with `SEED_LISTINGS` secondary-market
//! listings (default 10 000), for `scripts/bench/pages.sh /secondary`:
//! repaying 12-month loans of the first demo borrower, 20 stakes each held
//! by the demo investors, each stake on sale at a markup from -5 % to +5 %.
//! Rows go straight into the tables (a benchmark fixture, not how loans are
//! made or sold). The database is `DATABASE_URL`, or the SQLite file under
//! `DATA_DIR` as `serve` uses it. On PostgreSQL it then runs `ANALYZE`, as
//! autovacuum would within a minute of such a load.

use chrono::SubsecRound;
use crowdlend::{
    clock::{Clock, SystemClock},
    db::{
        self,
        entities::{investments, loan_requests, secondary_listings, users},
        repo::installments,
    },
    domain::{
        ids::{LoanId, UserId},
        lifecycle::LoanStatus,
        money::{Currency, Money, Rate},
        schedule::{self, LoanTerms},
    },
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
};
use uuid::Uuid;

mod support;

/// Stakes per loan, each of this many kopecks.
const STAKES: i64 = 20;
const STAKE: i64 = 1_000_000;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let count: i64 = std::env::var("SEED_LISTINGS")
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
    let investors: Vec<Uuid> = users::Entity::find()
        .filter(users::Column::Role.eq("investor"))
        .all(&db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    anyhow::ensure!(
        !investors.is_empty(),
        "no investor: start with --demo first"
    );
    let now = SystemClock.now().trunc_subsecs(6);
    let grades = ["A", "B", "C", "D", "E", "F"];
    let amount = Money::from_minor(STAKES * STAKE, Currency::Rub)?;
    let (mut loans, mut stakes, mut schedules, mut listings) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for n in 0..(count + STAKES - 1) / STAKES {
        let loan_id = Uuid::now_v7();
        let rate = 1_200 + u32::try_from(n * 37 % 3_800)?;
        loans.push(loan_requests::ActiveModel {
            funded_amount: Set(amount.minor()),
            funding_deadline: Set(Some(now)),
            listed_at: Set(Some(now)),
            funded_at: Set(Some(now)),
            disbursed_at: Set(Some(now)),
            rate_annual: Set(Some(i32::try_from(rate)?)),
            risk_grade: Set(Some(grades[usize::try_from(n)? % 6].to_owned())),
            ..support::loan_row(
                loan_id,
                UserId::from_uuid(borrower.id),
                amount,
                LoanStatus::Active,
                now,
            )
        });
        let plan = schedule::annuity(&LoanTerms {
            principal: amount,
            rate: Rate::from_bps(rate)?,
            term_months: 12,
            start: now.date_naive(),
        })?;
        schedules.extend(
            installments::schedule_rows(LoanId::from_uuid(loan_id), &plan.installments, now)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?,
        );
        for s in 0..STAKES {
            let stake = Uuid::now_v7();
            let seller = investors[usize::try_from(s)? % investors.len()];
            stakes.push(investments::ActiveModel {
                id: Set(stake),
                investor_id: Set(seller),
                loan_id: Set(loan_id),
                amount: Set(STAKE),
                status: Set("active".to_owned()),
                source: Set("manual".to_owned()),
                agreement_hash: Set(None),
                agreement_path: Set(None),
                accepted_at: Set(now),
                created_at: Set(now),
                updated_at: Set(now),
            });
            if i64::try_from(listings.len())? < count {
                listings.push(secondary_listings::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    loan_id: Set(loan_id),
                    investment_id: Set(stake),
                    seller_id: Set(seller),
                    principal: Set(STAKE / 2),
                    currency: Set("RUB".to_owned()),
                    markup_bps: Set(i32::try_from((n * STAKES + s) % 1_001)? - 500),
                    status: Set("open".to_owned()),
                    reason: Set(None),
                    buyer_id: Set(None),
                    buyer_investment_id: Set(None),
                    price: Set(None),
                    fee: Set(None),
                    entry_id: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                    closed_at: Set(None),
                });
            }
        }
    }
    let txn = db::begin_write(&db).await?;
    db::insert_all(&txn, loans).await?;
    db::insert_all(&txn, stakes).await?;
    db::insert_all(&txn, schedules).await?;
    db::insert_all(&txn, listings).await?;
    txn.commit().await?;
    if db.get_database_backend() == DbBackend::Postgres {
        for table in [
            "loan_requests",
            "investments",
            "repayment_schedule",
            "secondary_listings",
        ] {
            db.execute_unprepared(&format!("ANALYZE {table}")).await?;
        }
    }
    println!("seeded {count} secondary-market listings");
    Ok(())
}
