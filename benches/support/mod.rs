//! What the benchmarks share: a fresh database to measure on, and rates.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use crowdlend::{
    clock::{Clock, SystemClock},
    db::{
        self,
        entities::{investor_profiles, loan_requests, users, wallets},
    },
    domain::{
        ids::{LoanId, UserId},
        lifecycle::LoanStatus,
        money::{Currency, Money, TypedAmount},
        user::KycStatus,
        wallet::WalletKind,
    },
    services::{
        RequestMeta,
        idempotency::IdempotencyKey,
        wallet::{self, BankTransferRequest, Direction, NewBankAccount},
    },
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

/// A whole number from the environment variable `name`, or `default`.
#[allow(dead_code)] // each benchmark compiles this module; the seeders measure nothing
pub fn count_from_env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `BENCH_DATABASE_URL` when set (PostgreSQL), else `None` (SQLite), with
/// the backend's name for the report.
#[allow(dead_code)]
pub fn database_from_env() -> (Option<String>, &'static str) {
    let pg_url = std::env::var("BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let backend = if pg_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    (pg_url, backend)
}

/// A freshly migrated database: a temporary SQLite file, or a new PostgreSQL schema.
#[allow(dead_code)]
pub struct Target {
    pub db: DatabaseConnection,
    admin: Option<(DatabaseConnection, String)>,
    _dir: tempfile::TempDir,
}

#[allow(dead_code)]
impl Target {
    pub async fn fresh(pg_url: Option<&str>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let (db, admin) = match pg_url {
            Some(url) => {
                let schema = format!("bench_{}", Uuid::new_v4().simple());
                let admin = db::connect(url).await?;
                admin
                    .execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
                    .await?;
                (
                    db::connect_with_schema(url, Some(&schema)).await?,
                    Some((admin, schema)),
                )
            }
            None => {
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("bench.db").display()
                );
                (db::connect(&url).await?, None)
            }
        };
        db::migrate(&db, &SystemClock).await?;
        Ok(Self {
            db,
            admin,
            _dir: dir,
        })
    }

    pub async fn drop_schema(self) -> anyhow::Result<()> {
        self.db.close().await?;
        if let Some((admin, schema)) = self.admin {
            admin
                .execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .await?;
        }
        Ok(())
    }
}

/// Events per second.
#[allow(dead_code)] // each benchmark compiles this module; not all report rates
pub fn rate(count: u64, elapsed: Duration) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let count = count as f64;
    count / elapsed.as_secs_f64()
}

/// A verified account of `role` with an empty rouble wallet, inserted
/// directly (no password hashing: it never signs in).
#[allow(dead_code)] // each benchmark compiles this module; not all make accounts
pub async fn bench_user(db: &DatabaseConnection, role: &str, n: u64) -> anyhow::Result<UserId> {
    let id = Uuid::now_v7();
    let now = SystemClock.now();
    users::ActiveModel {
        id: Set(id),
        email: Set(format!("bench-{role}-{n}@example.com")),
        password_hash: Set("not-a-login".to_owned()),
        full_name: Set(format!("Bench {role} {n}")),
        role: Set(role.to_owned()),
        kyc_status: Set(KycStatus::Verified.as_str().to_owned()),
        kyc_reason: Set(None),
        failed_login_count: Set(0),
        locked_until: Set(None),
        password_changed_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    wallets::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(Some(id)),
        kind: Set(WalletKind::User.as_str().to_owned()),
        currency: Set("RUB".to_owned()),
        balance: Set(0),
        reserved: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        posting_count: Set(0),
    }
    .insert(db)
    .await?;
    Ok(UserId::from_uuid(id))
}

/// `roubles` as money.
#[allow(dead_code)] // each benchmark compiles this module; not all move money
pub fn rub(roubles: i64) -> anyhow::Result<Money> {
    Ok(Money::from_minor(roubles * 100, Currency::Rub)?)
}

/// A benchmark loan's row: `amount` at 15 % over 12 months, grade A, in
/// `status`, made `at`, nothing funded yet: a fixture, not how loans are
/// made. Callers set the dates and amounts their status has.
#[allow(dead_code)]
pub fn loan_row(
    id: Uuid,
    borrower: UserId,
    amount: Money,
    status: LoanStatus,
    at: DateTime<Utc>,
) -> loan_requests::ActiveModel {
    loan_requests::ActiveModel {
        id: Set(id),
        borrower_id: Set(borrower.into()),
        amount: Set(amount.minor()),
        currency: Set(amount.currency().code().to_owned()),
        term_months: Set(12),
        rate_annual: Set(Some(1_500)),
        requested_amount: Set(amount.minor()),
        requested_term_months: Set(12),
        purpose: Set("business".to_owned()),
        description: Set("A benchmark loan.".to_owned()),
        status: Set(status.as_str().to_owned()),
        funded_amount: Set(0),
        risk_grade: Set(Some("A".to_owned())),
        scoring_score: Set(Some(800)),
        listing_mode: Set("fixed".to_owned()),
        funding_deadline: Set(None),
        listed_at: Set(None),
        funded_at: Set(None),
        disbursed_at: Set(None),
        closed_at: Set(None),
        rejection_reason: Set(None),
        default_reason: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

/// A loan of `amount` open for funding (grade A, 15 %, 12 months), inserted
/// directly: a fixture, not how loans are made.
#[allow(dead_code)]
pub async fn open_loan(
    db: &DatabaseConnection,
    borrower: UserId,
    amount: Money,
) -> anyhow::Result<LoanId> {
    let id = Uuid::now_v7();
    let now = SystemClock.now();
    loan_requests::ActiveModel {
        funding_deadline: Set(Some(now + TimeDelta::days(14))),
        listed_at: Set(Some(now)),
        ..loan_row(id, borrower, amount, LoanStatus::Funding, now)
    }
    .insert(db)
    .await?;
    Ok(LoanId::from_uuid(id))
}

/// Investor number `n`: qualified, the risk declaration accepted, a bank
/// account and `deposit` in the wallet (through the wallet use case).
#[allow(dead_code)]
pub async fn funded_investor(
    db: &DatabaseConnection,
    n: u64,
    deposit: Money,
) -> anyhow::Result<UserId> {
    let id = bench_user(db, "investor", n).await?;
    let now = SystemClock.now();
    investor_profiles::ActiveModel {
        user_id: Set(id.into()),
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
        &RequestMeta::default(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    wallet::transfer(
        db,
        &SystemClock,
        id,
        &BankTransferRequest {
            direction: Direction::Deposit,
            amount: deposit,
            bank_account_id: account,
            key: new_key()?,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(id)
}

/// `roubles` as typed on a form.
#[allow(dead_code)]
pub fn typed(roubles: i64) -> anyhow::Result<TypedAmount> {
    TypedAmount::parse(&roubles.to_string()).map_err(|e| anyhow::anyhow!("{e}"))
}

/// A fresh submission key, as a confirmation page would carry.
#[allow(dead_code)]
pub fn new_key() -> anyhow::Result<IdempotencyKey> {
    IdempotencyKey::parse(&IdempotencyKey::generate()).map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// Puts `minor` into each of `wallets`, in one deposit entry from the
/// settlement wallet through the ledger (so `verify` holds): a fixture.
#[allow(dead_code)]
pub async fn deposit_each(
    db: &DatabaseConnection,
    wallets: &[Uuid],
    minor: i64,
) -> anyhow::Result<()> {
    use crowdlend::{
        domain::journal::EntryKind,
        ledger::{JournalEntry, Posting, store},
    };
    let settlement = store::platform_wallet(db, WalletKind::Settlement.as_str(), "RUB").await?;
    let mut postings: Vec<Posting> = wallets
        .iter()
        .map(|id| Posting {
            wallet_id: *id,
            amount: minor,
        })
        .collect();
    postings.push(Posting {
        wallet_id: settlement.id,
        amount: -minor * i64::try_from(wallets.len())?,
    });
    let entry = JournalEntry::new(EntryKind::Deposit, "Benchmark deposits", postings)?;
    let txn = db::begin_write(db).await?;
    store::post(&txn, &entry, None, SystemClock.now())
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    txn.commit().await?;
    Ok(())
}
