//! An investor's commitments (DESIGN.md section 5, step 4): invest in a loan
//! open for funding, reduce or cancel a commitment until the loan is funded.
//! The amount is reserved in the wallet (`reserved += x`), never moved, until
//! the loan is paid out.
//!
//! Locks, in the platform's one order: the investor's wallet, then the loan.
//! The loan lock serialises every commitment to one loan, so what is left is
//! read and written by one request at a time; the conditional updates of
//! `reserved` and `funded_amount` (and the database's `funded_amount <=
//! amount` check) would refuse an over-subscription even without it.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use url::Url;
use uuid::Uuid;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::{investments, investor_profiles, loan_requests, users, wallets},
        queries::{investments as queries, wallet as wallet_queries},
    },
    domain::ids::UserId,
    domain::{
        error::DomainError,
        investing::{
            CommitmentLimits, InvestmentStatus, YearlyLimit, check_commitment, check_reduction,
        },
        lifecycle::{LoanEvent, LoanStatus},
        money::{Currency, Money, Rate},
        settings::Settings,
        user::KycStatus,
    },
    error::{AppError, FieldErrors, is_unique_violation},
    ledger::store,
    mail::messages::{InvestmentConfirmed, LoanFunded},
    services::{
        funding,
        idempotency::{self, IdempotencyKey},
        loans, outbox, settings,
    },
};

/// A commitment as the investor confirmed it.
#[derive(Debug)]
pub struct Commitment {
    pub loan_id: Uuid,
    pub amount: Money,
    pub key: IdempotencyKey,
}

/// What a commitment led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invested {
    /// Where to send the investor: the investment's page.
    pub location: String,
    /// Whether this commitment filled the loan (`false` on a replay).
    pub filled: bool,
}

/// The page of one investment.
#[must_use]
pub fn investment_path(investment_id: Uuid) -> String {
    format!("/investor/investments/{investment_id}")
}

/// The currency a loan is in.
pub(crate) fn currency_of(loan: &loan_requests::Model) -> Result<Currency, AppError> {
    Currency::parse(&loan.currency).ok_or_else(|| {
        AppError::Unexpected(anyhow::anyhow!(
            "loan {} has the unknown currency {:?}",
            loan.id,
            loan.currency
        ))
    })
}

/// The annual rate a loan was approved at.
pub(crate) fn rate_of(loan: &loan_requests::Model) -> Result<Rate, AppError> {
    loan.rate_annual
        .and_then(|bps| Rate::from_bps(u32::try_from(bps).ok()?).ok())
        .ok_or_else(|| {
            AppError::Unexpected(anyhow::anyhow!(
                "loan {} has no usable rate ({:?})",
                loan.id,
                loan.rate_annual
            ))
        })
}

pub(crate) fn money(minor: i64, currency: Currency) -> Result<Money, AppError> {
    Money::from_minor(minor, currency).map_err(|err| AppError::Unexpected(err.into()))
}

/// Whole percent funded, rounded down (a loan shows 100 % only when full).
#[must_use]
pub fn funded_percent(funded: i64, amount: i64) -> u32 {
    if amount <= 0 {
        return 0;
    }
    u32::try_from((i128::from(funded) * 100 / i128::from(amount)).clamp(0, 100)).unwrap_or(0)
}

/// Reserves `commitment.amount` of the investor's wallet for the loan. The
/// commitment that fills the loan makes it `funded`; with automatic
/// disbursement the loan is then paid out at once, in its own transaction
/// (a failure there leaves it `funded` for staff, and is logged).
///
/// # Errors
/// `Validation` on `amount` for every limit (minimum ticket, what is left,
/// available money, the yearly limit); `Rejected` without the risk
/// declaration or the identity check, for a loan not open for investment, or
/// a reused submission key; `NotFound` for an unknown loan.
pub async fn invest(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    investor_id: UserId,
    commitment: &Commitment,
    base_url: &Url,
) -> Result<Invested, AppError> {
    let hash = idempotency::request_hash(&[
        "invest",
        &commitment.loan_id.to_string(),
        &commitment.amount.minor().to_string(),
        commitment.amount.currency().code(),
    ]);
    let invested = match attempt(db, clock, investor_id, commitment, &hash, base_url).await {
        // A concurrent submission with the same key committed first: answer as it did.
        Err(AppError::Unexpected(err))
            if err
                .downcast_ref::<sea_orm::DbErr>()
                .is_some_and(is_unique_violation) =>
        {
            let location = idempotency::replay(db, investor_id, &commitment.key, &hash)
                .await?
                .ok_or(AppError::Unexpected(err))?;
            Invested {
                location,
                filled: false,
            }
        }
        other => other?,
    };
    if invested.filled
        && settings::load(db).await?.disbursement_automatic
        && let Err(err) = funding::disburse(db, clock, commitment.loan_id, None, base_url).await
    {
        tracing::error!(loan_id = %commitment.loan_id, error = ?err, "automatic disbursement failed; the loan waits for staff");
    }
    Ok(invested)
}

async fn attempt(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    investor_id: UserId,
    commitment: &Commitment,
    hash: &str,
    base_url: &Url,
) -> Result<Invested, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    if let Some(location) = idempotency::replay(&txn, investor_id, &commitment.key, hash).await? {
        return Ok(Invested {
            location,
            filled: false,
        });
    }
    let settings = settings::load(&txn).await?;
    let investor = users::Entity::find_by_id(investor_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let profile = investor_profiles::Entity::find_by_id(investor_id)
        .one(&txn)
        .await?;
    may_invest(&investor, profile.as_ref(), settings.kyc_required)?;
    let qualified = profile.is_some_and(|p| p.qualified);

    let listed = loan_requests::Entity::find_by_id(commitment.loan_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let currency = currency_of(&listed)?;
    if currency != commitment.amount.currency() {
        return Err(AppError::Validation(FieldErrors::single(
            "amount",
            format!("This loan is in {}.", currency.code()),
        )));
    }
    let wallet = lock_wallet(&txn, investor_id, currency).await?;
    let loan = loans::lock(&txn, commitment.loan_id).await?;
    open_for_investment(&loan, now)?;

    let amount = commitment.amount;
    let limits = limits(
        &txn,
        &settings,
        investor_id,
        qualified,
        (&loan, &wallet),
        now,
    )
    .await?;
    check_commitment(amount, &limits).map_err(|problem| {
        AppError::Validation(FieldErrors::single("amount", problem.to_string()))
    })?;

    store::reserve(&txn, wallet.id, amount.minor()).await?;
    change_funded_amount(&txn, &loan, amount.minor(), now).await?;
    let investment_id = Uuid::now_v7();
    investments::ActiveModel {
        id: Set(investment_id),
        investor_id: Set(investor_id.into()),
        loan_id: Set(loan.id),
        amount: Set(amount.minor()),
        status: Set(InvestmentStatus::Pending.as_str().to_owned()),
        source: Set("manual".to_owned()),
        agreement_hash: Set(None),
        agreement_path: Set(None),
        accepted_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;

    let funded = loan.funded_amount + amount.minor();
    let location = investment_path(investment_id);
    outbox::enqueue(
        &txn,
        now,
        &investor.email,
        &InvestmentConfirmed {
            full_name: investor.full_name.clone(),
            investment_url: outbox::link(base_url, &location),
            amount,
            loan_amount: money(loan.amount, currency)?,
            rate: rate_of(&loan)?,
            term_months: loan.term_months,
            grade: loan.risk_grade.clone().unwrap_or_default(),
            funded_percent: funded_percent(funded, loan.amount),
            funding_deadline: loan
                .funding_deadline
                .map(|d| d.format("%-d %b %Y, %H:%M UTC").to_string())
                .unwrap_or_default(),
        },
    )
    .await?;
    let filled = funded == loan.amount;
    if filled {
        let funded_at = loan_requests::ActiveModel {
            funded_at: Set(Some(now)),
            ..Default::default()
        };
        loans::apply(&txn, &loan, LoanEvent::FullySubscribe, now, funded_at).await?;
        tell_funded(
            &txn,
            &loan,
            currency,
            settings.disbursement_automatic,
            base_url,
            now,
        )
        .await?;
    }
    idempotency::save(&txn, investor_id, &commitment.key, hash, &location, now).await?;
    txn.commit().await?;
    Ok(Invested { location, filled })
}

/// What bounds the investor's next commitment to `loan` now.
async fn limits(
    conn: &impl ConnectionTrait,
    settings: &Settings,
    investor_id: UserId,
    qualified: bool,
    (loan, wallet): (&loan_requests::Model, &wallets::Model),
    now: DateTime<Utc>,
) -> Result<CommitmentLimits, AppError> {
    let currency = currency_of(loan)?;
    let yearly = if qualified {
        None
    } else {
        let (from, to) = calendar_year(now);
        Some(YearlyLimit {
            limit: settings.unqualified_annual_limit,
            used: money(
                queries::committed_between(conn, investor_id, from, to).await?,
                currency,
            )?,
        })
    };
    Ok(CommitmentLimits {
        min_ticket: settings.min_investment,
        remaining: money(loan.amount - loan.funded_amount, currency)?,
        available: money(wallet.balance - wallet.reserved, currency)?,
        yearly,
    })
}

/// The currency a loan's amounts are in (to read an amount typed for it).
///
/// # Errors
/// `NotFound` for an unknown loan.
pub async fn loan_currency(db: &DatabaseConnection, loan_id: Uuid) -> Result<Currency, AppError> {
    let loan = loan_requests::Entity::find_by_id(loan_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    currency_of(&loan)
}

/// What the investment page shows before anything is reserved.
#[derive(Debug, Clone)]
pub struct Preview {
    pub loan: loan_requests::Model,
    pub currency: Currency,
    pub limits: CommitmentLimits,
    /// Why the investor cannot invest at all yet (identity check, risk
    /// declaration).
    pub blocker: Option<DomainError>,
}

/// The loan and the investor's limits as they stand (a read; the commitment
/// itself checks everything again under its locks).
///
/// # Errors
/// `NotFound` for an unknown loan; `Rejected` for one not open for investment.
pub async fn preview(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    investor_id: UserId,
    loan_id: Uuid,
) -> Result<Preview, AppError> {
    let settings = settings::load(db).await?;
    let loan = loan_requests::Entity::find_by_id(loan_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    open_for_investment(&loan, clock.now())?;
    let currency = currency_of(&loan)?;
    let investor = users::Entity::find_by_id(investor_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let profile = investor_profiles::Entity::find_by_id(investor_id)
        .one(db)
        .await?;
    let blocker = may_invest(&investor, profile.as_ref(), settings.kyc_required).err();
    let qualified = profile.is_some_and(|p| p.qualified);
    let wallet = wallet_queries::user_wallet(db, investor_id, currency.code())
        .await?
        .ok_or(AppError::NotFound)?;
    let limits = limits(
        db,
        &settings,
        investor_id,
        qualified,
        (&loan, &wallet),
        clock.now(),
    )
    .await?;
    Ok(Preview {
        loan,
        currency,
        limits,
        blocker,
    })
}

/// The identity check and the risk declaration come before any investment.
fn may_invest(
    investor: &users::Model,
    profile: Option<&investor_profiles::Model>,
    kyc_required: bool,
) -> Result<(), DomainError> {
    if kyc_required && investor.kyc_status != KycStatus::Verified.as_str() {
        return Err(DomainError::IdentityNotVerified);
    }
    if profile
        .and_then(|p| p.risk_declaration_accepted_at)
        .is_none()
    {
        return Err(DomainError::RiskDeclarationNotAccepted);
    }
    Ok(())
}

/// Why a loan takes no commitments, if it does not.
fn open_for_investment(loan: &loan_requests::Model, now: DateTime<Utc>) -> Result<(), AppError> {
    if loans::status_of(loan)? != LoanStatus::Funding {
        return Err(DomainError::LoanNotOpen.into());
    }
    if loan
        .funding_deadline
        .is_some_and(|deadline| deadline <= now)
    {
        return Err(DomainError::FundingClosed.into());
    }
    Ok(())
}

/// The first instant of the calendar year (UTC) and of the next.
fn calendar_year(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |year| {
        NaiveDate::from_ymd_opt(year, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(now, |d| d.and_utc())
    };
    (start(now.year()), start(now.year() + 1))
}

/// The investor's wallet in `currency`, locked for the rest of the transaction.
pub(crate) async fn lock_wallet(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    currency: Currency,
) -> Result<wallets::Model, AppError> {
    let wallet = wallet_queries::user_wallet(conn, user_id, currency.code())
        .await?
        .ok_or(AppError::NotFound)?;
    wallets::Entity::find_by_id(wallet.id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)
}

/// Adds `delta` (negative to take back) to a loan's funded amount, only while
/// it is open for funding and within its amount.
async fn change_funded_amount(
    conn: &impl ConnectionTrait,
    loan: &loan_requests::Model,
    delta: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let result = loan_requests::Entity::update_many()
        .col_expr(
            loan_requests::Column::FundedAmount,
            Expr::col(loan_requests::Column::FundedAmount).add(delta),
        )
        .col_expr(loan_requests::Column::UpdatedAt, Expr::value(now))
        .filter(loan_requests::Column::Id.eq(loan.id))
        .filter(loan_requests::Column::Status.eq(LoanStatus::Funding.as_str()))
        .filter(
            Expr::col(loan_requests::Column::FundedAmount)
                .add(delta)
                .lte(Expr::col(loan_requests::Column::Amount)),
        )
        .filter(
            Expr::col(loan_requests::Column::FundedAmount)
                .add(delta)
                .gte(0),
        )
        .exec(conn)
        .await?;
    if result.rows_affected == 1 {
        Ok(())
    } else {
        Err(AppError::Conflict)
    }
}

/// Tells the borrower and every investor that the loan is fully funded.
async fn tell_funded(
    conn: &impl ConnectionTrait,
    loan: &loan_requests::Model,
    currency: Currency,
    automatic: bool,
    base_url: &Url,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let loan_amount = money(loan.amount, currency)?;
    let borrower = users::Entity::find_by_id(loan.borrower_id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)?;
    outbox::enqueue(
        conn,
        now,
        &borrower.email,
        &LoanFunded {
            full_name: borrower.full_name,
            url: outbox::link(base_url, &format!("/borrower/loans/{}", loan.id)),
            loan_amount,
            your_amount: None,
            automatic,
        },
    )
    .await?;
    for (investor, total, first) in funding::per_investor(
        conn,
        &queries::for_loan(conn, loan.id, &[InvestmentStatus::Pending]).await?,
    )
    .await?
    {
        outbox::enqueue(
            conn,
            now,
            &investor.email,
            &LoanFunded {
                full_name: investor.full_name,
                url: outbox::link(base_url, &investment_path(first)),
                loan_amount,
                your_amount: Some(money(total, currency)?),
                automatic,
            },
        )
        .await?;
    }
    Ok(())
}

/// A change to an open commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Lower it to this amount.
    ReduceTo(Money),
    /// Take it back whole.
    Cancel,
}

/// Reduces or cancels one of the investor's commitments while its loan is
/// still open for funding; the difference is released in the wallet.
/// Repeating a change that is already done is refused with a message, never
/// applied twice.
///
/// # Errors
/// `NotFound` for someone else's investment; `Validation` on `amount` for a
/// reduction that is not lower or goes below the minimum; `Rejected` once the
/// loan is funded or the commitment is no longer open.
pub async fn change(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    investor_id: UserId,
    investment_id: Uuid,
    change: Change,
) -> Result<Money, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let (_, listed) = queries::owned_by(&txn, investor_id, investment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let currency = currency_of(&listed)?;
    let wallet = lock_wallet(&txn, investor_id, currency).await?;
    let loan = loans::lock(&txn, listed.id).await?;
    // Read again under the locks: every change to it holds this wallet.
    let (investment, _) = queries::owned_by(&txn, investor_id, investment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if investment.status != InvestmentStatus::Pending.as_str() {
        return Err(DomainError::InvestmentNotChangeable.into());
    }
    if loans::status_of(&loan)? != LoanStatus::Funding {
        return Err(DomainError::FundingOver.into());
    }
    let current = money(investment.amount, currency)?;
    let (kept, status) = match change {
        Change::ReduceTo(new) => {
            let settings = settings::load(&txn).await?;
            check_reduction(current, new, settings.min_investment).map_err(|problem| {
                AppError::Validation(FieldErrors::single("amount", problem.to_string()))
            })?;
            (new.minor(), InvestmentStatus::Pending)
        }
        Change::Cancel => (0, InvestmentStatus::Cancelled),
    };
    let released = investment.amount - kept;
    store::release(&txn, wallet.id, released).await?;
    change_funded_amount(&txn, &loan, -released, now).await?;
    let mut update: investments::ActiveModel = investment.into();
    if kept > 0 {
        update.amount = Set(kept);
    }
    update.status = Set(status.as_str().to_owned());
    update.updated_at = Set(now);
    update.update(&txn).await?;
    txn.commit().await?;
    money(released, currency)
}
