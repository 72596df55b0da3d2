//! An investor's commitments (DESIGN.md section 5, step 4): invest in a loan
//! open for funding, reduce or cancel a commitment until the loan is funded.
//! The amount is reserved in the wallet (`reserved += x`), never moved, until
//! the loan is paid out (`services::funding`, which the caller asks for when
//! a commitment fills a loan; this module never pays out).
//!
//! A commitment takes its locks by writing, in the platform's one order: the
//! investor's wallet (reserving), then the loan (raising its funded
//! amount), each a conditional update that cannot over-reserve or
//! over-subscribe, returning the row it changed. The rules are then checked
//! against what the rows held before; a refusal rolls both back. The loan's
//! lock serialises every commitment to one loan. When a conditional update
//! refuses, the rows are read under the same locks and checked, to say why.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection};
use url::Url;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::loan_requests,
        queries::investments as queries,
        repo::{
            investments::{self, NewCommitment},
            loans,
            users::{self, InvestorStanding},
            wallets,
        },
    },
    domain::{
        error::DomainError,
        ids::{InvestmentId, LoanId, UserId},
        investing::{CommitmentLimits, YearlyLimit, check_commitment, check_reduction},
        investment::{InvestmentEvent, InvestmentSource, InvestmentStatus, investor_totals},
        lifecycle::{LoanEvent, LoanStatus},
        loan::{Loan, funded_percent},
        money::{Money, TypedAmount},
        settings::Settings,
        user::KycStatus,
        wallet::Wallet,
    },
    error::{AppError, FieldErrors},
    ledger::{LedgerError, store},
    mail::messages::{InvestmentConfirmed, LoanFunded},
    paths,
    services::{
        idempotency::{self, IdempotencyKey},
        outbox, settings,
    },
};

/// A commitment as the investor confirmed it: the amount as typed, read in
/// the loan's currency once the loan is locked.
#[derive(Debug)]
pub struct Commitment {
    pub loan_id: LoanId,
    pub amount: TypedAmount,
    pub key: IdempotencyKey,
}

/// What a commitment led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invested {
    pub investment_id: InvestmentId,
    /// What is reserved, in the loan's currency.
    pub amount: Money,
    /// Whether this commitment filled the loan (`false` on a replay): the
    /// caller then has it paid out (`funding::pay_out_if_automatic`).
    pub filled: bool,
}

/// Reserves the commitment in the investor's wallet. The commitment that
/// fills the loan makes it `funded` and tells the borrower and every
/// investor. A repeated submission (same key, same values) reserves nothing
/// and answers as the first did.
///
/// # Errors
/// `Validation` on `amount` for every limit (minimum ticket, what is left,
/// available money, the yearly limit); `Domain` without the risk declaration
/// or the identity check, for a loan not open for investment, or a reused
/// submission key; `NotFound` for an unknown loan.
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
    ]);
    match attempt(db, clock, investor_id, commitment, &hash, base_url).await {
        // A concurrent submission with the same key committed first: answer as it did.
        Err(lost) if idempotency::lost_race(&lost) => {
            let first = idempotency::replay(db, investor_id, &commitment.key, &hash)
                .await?
                .ok_or(lost)?;
            replayed(db, &first).await
        }
        other => other,
    }
}

/// The first answer to a repeated submission, from what its key stored: the
/// investment's id (keys stored before ids were kept there hold the
/// investment's page).
async fn replayed(conn: &impl ConnectionTrait, stored: &str) -> Result<Invested, AppError> {
    let id: InvestmentId = stored
        .rsplit('/')
        .next()
        .unwrap_or(stored)
        .parse()
        .map_err(|err| anyhow::anyhow!("stored answer {stored:?}: {err}"))?;
    let (investment, _) = investments::with_loan(conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Invested {
        investment_id: id,
        amount: investment.amount,
        filled: false,
    })
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
    let investment_id = InvestmentId::new();
    let txn = db::begin_write(db).await?;
    idempotency::claim(
        &txn,
        investor_id,
        &commitment.key,
        hash,
        &investment_id.to_string(),
        now,
    )
    .await?;
    let settings = settings::load(&txn).await?;
    let (investor, wallet) =
        users::investor_with_wallet_for(&txn, investor_id, commitment.loan_id).await?;
    may_invest(&investor, settings.kyc_required)?;
    // Reserve and fund first, each a conditional update that locks its row
    // (the wallet, then the loan: the platform's lock order), then check the
    // commitment against what they held before it; a refusal rolls both back.
    let minor = commitment.amount.minor();
    let (wallet, loan) = match reserve_and_fund(&txn, &wallet, commitment.loan_id, minor, now).await
    {
        Ok(before) => before,
        Err(AppError::Conflict) => {
            return Err(refusal(&txn, &settings, &investor, commitment, now).await);
        }
        Err(err) => return Err(err),
    };
    let amount = commitment.amount.in_currency(loan.currency());
    loan.open_for_investment(now)?;
    let limits = limits(&txn, &settings, &investor, (&loan, &wallet), now).await?;
    check_commitment(amount, &limits).map_err(|problem| {
        AppError::Validation(FieldErrors::single("amount", problem.to_string()))
    })?;

    let investment = investments::insert(
        &txn,
        NewCommitment {
            id: investment_id,
            investor_id,
            loan_id: loan.id,
            amount,
            source: InvestmentSource::Manual,
            at: now,
        },
    )
    .await?;
    let funded = loan
        .funded
        .checked_add(amount)
        .map_err(AppError::unexpected)?;
    outbox::enqueue(
        &txn,
        now,
        investor.user.email.as_str(),
        &InvestmentConfirmed {
            full_name: investor.user.full_name.clone(),
            investment_url: outbox::link(base_url, &paths::investment(investment.id)),
            amount,
            loan_amount: loan.amount,
            rate: loan.rate.ok_or_else(|| no_rate(&loan))?,
            term_months: i32::try_from(loan.term_months).unwrap_or(i32::MAX),
            grade: loan
                .grade
                .map(|g| g.as_str().to_owned())
                .unwrap_or_default(),
            funded_percent: funded_percent(funded, loan.amount),
            funding_deadline: loan.funding_deadline,
            rule_url: None,
        },
    )
    .await?;
    let filled = funded == loan.amount;
    if filled {
        let raised = Loan { funded, ..loan };
        let automatic = settings.disbursement_automatic;
        fully_subscribed(&txn, &raised, Default::default(), automatic, base_url, now).await?;
    }
    db::commit(txn).await?;
    Ok(Invested {
        investment_id: investment.id,
        amount,
        filled,
    })
}

/// Reserves `minor` in `wallet` and adds it to the loan's funded amount;
/// returns both as they were before. `Conflict` when either conditional
/// update finds too little available or remaining (or the loan not in
/// funding).
async fn reserve_and_fund(
    txn: &impl ConnectionTrait,
    wallet: &Wallet,
    loan_id: LoanId,
    minor: i64,
    now: DateTime<Utc>,
) -> Result<(Wallet, Loan), AppError> {
    let reserved = match store::reserve(txn, wallet.id.as_uuid(), minor).await {
        Ok(row) => wallets::parse(row)?,
        Err(store::PostError::Ledger(LedgerError::InsufficientFunds { .. })) => {
            return Err(AppError::Conflict);
        }
        Err(err) => return Err(err.into()),
    };
    let raised = loans::add_funded(txn, loan_id, minor, now).await?;
    let before = |money: Money| money.checked_sub(Money::from_minor(minor, money.currency())?);
    Ok((
        Wallet {
            reserved: before(reserved.reserved).map_err(AppError::unexpected)?,
            ..reserved
        },
        Loan {
            funded: before(raised.funded).map_err(AppError::unexpected)?,
            ..raised
        },
    ))
}

/// Why a commitment the conditional updates refused cannot be made, read
/// under the locks a commitment takes (its wallets, then the loan) and
/// checked as the commitment is; `Conflict` if nothing stands in its way
/// any more (what stood there changed meanwhile: the form may be sent again).
async fn refusal(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    investor: &InvestorStanding,
    commitment: &Commitment,
    now: DateTime<Utc>,
) -> AppError {
    let explained = async {
        let wallets = wallets::lock_all_of(txn, investor.user.id).await?;
        let loan = loans::lock(txn, commitment.loan_id).await?;
        loan.open_for_investment(now)?;
        let wallet = wallets
            .into_iter()
            .find(|w| w.currency() == loan.currency())
            .ok_or(AppError::NotFound)?;
        let limits = limits(txn, settings, investor, (&loan, &wallet), now).await?;
        check_commitment(commitment.amount.in_currency(loan.currency()), &limits).map_err(
            |problem| AppError::Validation(FieldErrors::single("amount", problem.to_string())),
        )?;
        Ok::<(), AppError>(())
    };
    match explained.await {
        Ok(()) => AppError::Conflict,
        Err(err) => err,
    }
}

fn no_rate(loan: &Loan) -> AppError {
    AppError::Unexpected(anyhow::anyhow!("loan {} is listed without a rate", loan.id))
}

/// What bounds the investor's next commitment to `loan` now.
async fn limits(
    conn: &impl ConnectionTrait,
    settings: &Settings,
    investor: &InvestorStanding,
    (loan, wallet): (&Loan, &Wallet),
    now: DateTime<Utc>,
) -> Result<CommitmentLimits, AppError> {
    let yearly = if investor.qualified {
        None
    } else {
        let (from, to) = calendar_year(now);
        let used = queries::committed_between(conn, investor.user.id, from, to).await?;
        Some(YearlyLimit {
            limit: settings.unqualified_annual_limit,
            used: Money::from_minor(used, loan.currency()).map_err(AppError::unexpected)?,
        })
    };
    Ok(CommitmentLimits {
        min_ticket: settings.min_investment,
        remaining: loan.remaining(),
        available: wallet.available(),
        yearly,
    })
}

/// What the investment page shows before anything is reserved.
#[derive(Debug, Clone)]
pub struct Preview {
    pub loan: Loan,
    pub limits: CommitmentLimits,
    /// Why the investor cannot invest at all yet (identity check, risk
    /// declaration).
    pub blocker: Option<DomainError>,
}

/// The loan and the investor's limits as they stand (plain reads; the
/// commitment itself checks everything again under its locks).
///
/// # Errors
/// `NotFound` for an unknown loan; `Domain` for one not open for investment.
pub async fn preview(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    investor_id: UserId,
    loan_id: LoanId,
) -> Result<Preview, AppError> {
    let settings = settings::load(db).await?;
    let loan = loans::get(db, loan_id).await?;
    loan.open_for_investment(clock.now())?;
    let investor = users::investor(db, investor_id).await?;
    let blocker = may_invest(&investor, settings.kyc_required).err();
    let wallet = wallets::of_user(db, investor_id, loan.currency())
        .await?
        .ok_or(AppError::NotFound)?;
    let limits = limits(db, &settings, &investor, (&loan, &wallet), clock.now()).await?;
    Ok(Preview {
        loan,
        limits,
        blocker,
    })
}

/// The identity check and the risk declaration come before any investment.
pub(crate) fn may_invest(
    investor: &InvestorStanding,
    kyc_required: bool,
) -> Result<(), DomainError> {
    if kyc_required && investor.user.kyc_status != KycStatus::Verified {
        return Err(DomainError::IdentityNotVerified);
    }
    if investor.risk_declaration_accepted_at.is_none() {
        return Err(DomainError::RiskDeclarationNotAccepted);
    }
    Ok(())
}

/// The first instant of the calendar year (UTC) and of the next.
pub(crate) fn calendar_year(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |year| {
        NaiveDate::from_ymd_opt(year, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(now, |d| d.and_utc())
    };
    (start(now.year()), start(now.year() + 1))
}

/// Moves a loan its commitments now cover whole (`raised`, with its new
/// funded amount) to `funded`, storing `also` (e.g. the rate of an accepted
/// offer) with the time, and tells the borrower and every investor.
///
/// # Errors
/// `Conflict` when the loan moved meanwhile; database failures.
pub(crate) async fn fully_subscribed(
    conn: &impl ConnectionTrait,
    raised: &Loan,
    also: loan_requests::ActiveModel,
    automatic_payout: bool,
    base_url: &Url,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let funded_at = loan_requests::ActiveModel {
        funded_at: Set(Some(now)),
        ..also
    };
    loans::apply(conn, raised, LoanEvent::FullySubscribe, now, funded_at).await?;
    tell_funded(conn, raised, automatic_payout, base_url, now).await
}

/// Tells the borrower and every investor that the loan is fully funded.
async fn tell_funded(
    conn: &impl ConnectionTrait,
    loan: &Loan,
    automatic: bool,
    base_url: &Url,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let commitments = investments::of_loan(conn, loan, &[InvestmentStatus::Pending]).await?;
    let totals = investor_totals(&commitments).map_err(AppError::unexpected)?;
    let mut ids: Vec<UserId> = totals.iter().map(|t| t.investor_id).collect();
    ids.push(loan.borrower_id);
    let people = users::get_many(conn, &ids).await?;
    let person = |id: &UserId| people.get(id).ok_or(AppError::NotFound);
    let borrower = person(&loan.borrower_id)?;
    let mut emails = vec![outbox::render(
        borrower.email.as_str(),
        &LoanFunded {
            full_name: borrower.full_name.clone(),
            url: outbox::link(base_url, &paths::borrower_loan(loan.id)),
            loan_amount: loan.amount,
            your_amount: None,
            automatic,
        },
    )?];
    for total in &totals {
        let investor = person(&total.investor_id)?;
        emails.push(outbox::render(
            investor.email.as_str(),
            &LoanFunded {
                full_name: investor.full_name.clone(),
                url: outbox::link(base_url, &paths::investment(total.first)),
                loan_amount: loan.amount,
                your_amount: Some(total.total),
                automatic,
            },
        )?);
    }
    outbox::queue(conn, now, emails).await
}

/// A change to an open commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Lower it to this amount (read in the loan's currency).
    ReduceTo(TypedAmount),
    /// Take it back whole.
    Cancel,
}

/// Reduces or cancels one of the investor's commitments while its loan is
/// still open for funding; the difference is released in the wallet and
/// returned. Repeating a change that is already done is refused with a
/// reason, never applied twice.
///
/// # Errors
/// `NotFound` for someone else's investment; `Validation` on `amount` for a
/// reduction that is not lower or goes below the minimum; `Domain` once the
/// loan is funded or the commitment is no longer open.
pub async fn change(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    investor_id: UserId,
    investment_id: InvestmentId,
    change: Change,
) -> Result<Money, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let (_, listed) = investments::owned_by(&txn, investor_id, investment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let wallet = wallets::lock(&txn, &[investor_id], &[], listed.currency())
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)?;
    let loan = loans::lock(&txn, listed.id).await?;
    // Read again under the locks: every change to it holds this wallet.
    let (investment, _) = investments::owned_by(&txn, investor_id, investment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if investment.status != InvestmentStatus::Pending {
        return Err(DomainError::InvestmentNotChangeable.into());
    }
    if loan.status != LoanStatus::Funding {
        return Err(DomainError::FundingOver.into());
    }
    let released = match change {
        Change::ReduceTo(typed) => {
            let new = typed.in_currency(loan.currency());
            let settings = settings::load(&txn).await?;
            check_reduction(investment.amount, new, settings.min_investment).map_err(
                |problem| AppError::Validation(FieldErrors::single("amount", problem.to_string())),
            )?;
            investments::reduce(&txn, &investment, new, now).await?;
            investment
                .amount
                .checked_sub(new)
                .map_err(AppError::unexpected)?
        }
        Change::Cancel => {
            investments::apply(&txn, &investment, InvestmentEvent::Cancel, now).await?;
            investment.amount
        }
    };
    store::release(&txn, wallet.id.as_uuid(), released.minor()).await?;
    loans::add_funded(&txn, loan.id, -released.minor(), now).await?;
    db::commit(txn).await?;
    Ok(released)
}
