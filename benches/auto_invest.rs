//! Instant allocation (issue 15's benchmark): `BENCH_RULES` investors
//! (default 10 000), each with one wide-open auto-invest rule switched on
//! (tickets of 1 000 to 10 000 ₽) and 100 000 ₽ in the wallet; then a
//! 1 000 000 ₽ loan listed and offered whole to every rule
//! (`auto_invest::allocate_loan` in `Mode::Whole`, as a listing with
//! instant allocation on does). Reports the allocation's wall time and
//! statements, then `BENCH_LOANS` more such loans (default 20) allocated one
//! after another: allocations (commits) per second. Runs `verify` at the end.
//!
//! The fixture goes straight into the tables (multi-row inserts; the
//! investors' money arrives in one deposit entry through the ledger, so
//! `verify` holds): a benchmark fixture, not how rules are made.
//!
//! `cargo bench --bench auto_invest` (release; SQLite, or PostgreSQL with
//! `BENCH_DATABASE_URL`); `scripts/bench/auto_invest.sh` runs both.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use crowdlend::{
    clock::{Clock, SystemClock},
    db::{
        self,
        entities::{auto_invest_rules, investor_profiles, loan_requests, users, wallets},
    },
    domain::{user::KycStatus, wallet::WalletKind},
    ledger::verify::verify,
    services::auto_invest::{self, Mode},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

mod support;

use support::{
    Target, bench_user, count_from_env, database_from_env, deposit_each, open_loan, rate, rub,
};

/// What each investor has in the wallet, in kopecks.
const CASH: i64 = 10_000_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)]
async fn main() -> anyhow::Result<()> {
    let rules = count_from_env("BENCH_RULES", 10_000);
    let loans = count_from_env("BENCH_LOANS", 20);
    let (pg_url, backend) = database_from_env();
    println!("auto-invest benchmark on {backend}: {rules} rules, 1 000 000 ₽ loans");
    let target = Target::fresh(pg_url.as_deref()).await?;
    let db = target.db.clone();
    let now = SystemClock.now();
    let seeding = Instant::now();

    let mut user_rows = Vec::new();
    let mut wallet_rows = Vec::new();
    let mut profile_rows = Vec::new();
    let mut rule_rows = Vec::new();
    let mut wallet_ids = Vec::new();
    for n in 0..rules {
        let id = Uuid::now_v7();
        user_rows.push(users::ActiveModel {
            id: Set(id),
            email: Set(format!("bench-rule-{n}@example.com")),
            password_hash: Set("not-a-login".to_owned()),
            full_name: Set(format!("Bench Investor {n}")),
            role: Set("investor".to_owned()),
            kyc_status: Set(KycStatus::Verified.as_str().to_owned()),
            kyc_reason: Set(None),
            failed_login_count: Set(0),
            locked_until: Set(None),
            password_changed_at: Set(now),
            created_at: Set(now),
            updated_at: Set(now),
        });
        let wallet = Uuid::now_v7();
        wallet_ids.push(wallet);
        wallet_rows.push(wallets::ActiveModel {
            id: Set(wallet),
            user_id: Set(Some(id)),
            kind: Set(WalletKind::User.as_str().to_owned()),
            currency: Set("RUB".to_owned()),
            balance: Set(0),
            reserved: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            posting_count: Set(0),
        });
        profile_rows.push(investor_profiles::ActiveModel {
            user_id: Set(id),
            tax_id: Set(Some("500100732259".to_owned())),
            qualified: Set(true),
            risk_declaration_accepted_at: Set(Some(now)),
            created_at: Set(now),
            updated_at: Set(now),
        });
        rule_rows.push(auto_invest_rules::ActiveModel {
            id: Set(Uuid::now_v7()),
            investor_id: Set(id),
            currency: Set("RUB".to_owned()),
            max_per_loan: Set((i64::try_from(n % 10)? + 1) * 100_000),
            min_loan_amount: Set(None),
            max_loan_amount: Set(None),
            grades: Set(String::new()),
            min_rate: Set(None),
            max_term_months: Set(None),
            purposes: Set(String::new()),
            exposure_cap: Set(None),
            cash_reserve: Set(0),
            reinvest: Set(true),
            active: Set(true),
            placed_total: Set(0),
            last_served_seq: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        });
    }
    db::insert_all(&db, user_rows).await?;
    db::insert_all(&db, wallet_rows).await?;
    db::insert_all(&db, profile_rows).await?;
    db::insert_all(&db, rule_rows).await?;

    deposit_each(&db, &wallet_ids, CASH).await?;
    let borrower = bench_user(&db, "borrower", 0).await?;
    let mut listed = Vec::new();
    for _ in 0..=loans {
        listed.push(open_loan(&db, borrower, rub(1_000_000)?).await?);
    }
    for table in [
        "users",
        "wallets",
        "investor_profiles",
        "auto_invest_rules",
        "loan_requests",
    ] {
        db.execute_unprepared(&format!("ANALYZE {table}")).await?;
    }
    println!(
        "seeded in {:.1} s: {rules} investors with a rule each, {} loans",
        seeding.elapsed().as_secs_f64(),
        loans + 1
    );

    let statements = Arc::new(AtomicU64::new(0));
    let counter = statements.clone();
    let mut target = target;
    target.db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let db = target.db.clone();
    let base_url = url::Url::parse("http://127.0.0.1:8080")?;

    let (first, rest) = listed
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("no loan"))?;
    let timer = Instant::now();
    let done = auto_invest::allocate_loan(&db, &SystemClock, *first, Mode::Whole, &base_url)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let instant = timer.elapsed();
    let instant_statements = statements.swap(0, Ordering::Relaxed);
    anyhow::ensure!(done.filled, "the rules did not cover the loan: {done:?}");

    let timer = Instant::now();
    let mut placed = 0;
    for loan in rest {
        let done = auto_invest::allocate_loan(&db, &SystemClock, *loan, Mode::Share, &base_url)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        anyhow::ensure!(done.filled, "a loan was left unfilled: {done:?}");
        placed += done.investments;
    }
    let elapsed = timer.elapsed();
    let shared_statements = statements.load(Ordering::Relaxed);
    let funded: Vec<i64> = loan_requests::Entity::find()
        .select_only()
        .column(loan_requests::Column::FundedAmount)
        .filter(loan_requests::Column::Status.eq("funded"))
        .into_tuple()
        .all(&db)
        .await?;
    anyhow::ensure!(
        funded.len() == listed.len() && funded.iter().all(|f| *f == 100_000_000),
        "every loan funded exactly"
    );
    let spread: (i64, i64) = {
        let totals: Vec<i64> = auto_invest_rules::Entity::find()
            .select_only()
            .column(auto_invest_rules::Column::PlacedTotal)
            .into_tuple()
            .all(&db)
            .await?;
        (
            totals.iter().copied().min().unwrap_or(0),
            totals.iter().copied().max().unwrap_or(0),
        )
    };
    println!(
        "instant allocation: {} investments in {:.3} s, {instant_statements} statements",
        done.investments,
        instant.as_secs_f64()
    );
    println!(
        "then {} loans shared one after another: {placed} investments in {:.2} s ({:.1} allocations/s), {:.1} statements per allocation",
        rest.len(),
        elapsed.as_secs_f64(),
        rate(rest.len() as u64, elapsed),
        shared_statements as f64 / rest.len().max(1) as f64
    );
    println!(
        "placed per rule after {} loans: {:.2} to {:.2} ₽",
        listed.len(),
        spread.0 as f64 / 100.0,
        spread.1 as f64 / 100.0
    );
    println!(
        "RESULT backend={backend} rules={rules} instant_s={:.3} instant_investments={} \
         instant_statements={instant_statements} allocations_per_s={:.2} statements_per_allocation={:.1}",
        instant.as_secs_f64(),
        done.investments,
        rate(rest.len() as u64, elapsed),
        shared_statements as f64 / rest.len().max(1) as f64
    );
    let checked = verify(&db).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    println!(
        "verify: {}",
        if checked.holds() {
            "every invariant holds"
        } else {
            "BROKEN"
        }
    );
    anyhow::ensure!(checked.holds(), "verify failed");
    target.drop_schema().await
}
