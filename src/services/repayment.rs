//! Money coming back (DESIGN.md section 7): the borrower paying from the
//! loan page (the next installment, more, or the payoff), and the platform
//! collecting what is due from the borrower's wallet. Each payment is one
//! transaction: the allocation over the installments (the domain's
//! `repayment`), the installments moved, the payment and every investor's
//! share (`distributions`) recorded, one ledger entry from the borrower to
//! the investors and the fees wallet, the replaced schedule kept as a
//! version, and the loan `repaid` by the payment that settles it.
//!
//! Locks, in the platform's order: the borrower's wallets first (a write
//! lock on SQLite's single writer anyway), then the loan; the ledger then
//! locks the wallets it posts to. Everything read to decide is read after
//! the loan's lock, so two payments to one loan are serialised and the
//! second sees the first.

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use url::Url;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::loan_payments,
        queries::servicing as servicing_queries,
        repo::{installments, loans, penalties as penalty_repo, wallets},
    },
    domain::{
        error::DomainError,
        ids::{LoanId, PaymentId, UserId},
        installment::Installment,
        lifecycle::LoanStatus,
        loan::Loan,
        money::{Money, TypedAmount},
        repayment::{self, Allocation, PaymentError, Quote},
        schedule::LoanTerms,
        settings::Settings,
        wallet::Wallet,
    },
    error::{AppError, FieldErrors},
    services::{
        defaults::{self, Claim},
        idempotency::{self, IdempotencyKey},
        penalties, receipts, settings,
    },
};

/// A loan being repaid, as its page and a payment see it on a day.
#[derive(Debug, Clone)]
pub struct LoanAccount {
    pub loan: Loan,
    pub installments: Vec<Installment>,
    pub terms: LoanTerms,
    pub quote: Quote,
}

/// A payment as the borrower confirmed it.
#[derive(Debug)]
pub struct Payment {
    pub loan_id: LoanId,
    pub amount: TypedAmount,
    pub key: IdempotencyKey,
    /// Confirmed as the payoff: refused unless `amount` is exactly what
    /// settles the loan (or the whole debt of a defaulted one) now.
    pub payoff: bool,
}

pub use crate::services::receipts::Paid;

fn amount_error(err: &PaymentError) -> AppError {
    match err {
        PaymentError::Inconsistent(_) | PaymentError::Schedule(_) => {
            AppError::unexpected(anyhow::anyhow!("{err}"))
        }
        _ => AppError::Validation(FieldErrors::single("amount", err.to_string())),
    }
}

/// The loan's account on `today`, from its stored schedule, with the
/// penalties through `today` not yet charged counted in (a payment charges
/// them first).
///
/// # Errors
/// `Unexpected` for a loan without a payout date or rate; database failures.
pub async fn account(
    conn: &impl ConnectionTrait,
    loan: Loan,
    settings: &Settings,
    today: NaiveDate,
) -> Result<LoanAccount, AppError> {
    let mut installments = installments::of_loan(conn, loan.id, loan.currency()).await?;
    let pending = penalties::pending(conn, &loan, settings, &installments, today).await?;
    penalties::add_pending(&mut installments, &pending)?;
    account_of(loan, installments, today)
}

/// The account of `loan` with `installments` (its whole schedule, penalties
/// charged) on `today`.
pub(crate) fn account_of(
    loan: Loan,
    installments: Vec<Installment>,
    today: NaiveDate,
) -> Result<LoanAccount, AppError> {
    let start = loan
        .disbursed_at
        .ok_or_else(|| {
            AppError::unexpected(anyhow::anyhow!("loan {} has no payout date", loan.id))
        })?
        .date_naive();
    let terms = loan
        .terms_for(loan.amount, start)
        .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("loan {} has no rate", loan.id)))?;
    let quote = repayment::quote(&installments, &terms, today)
        .map_err(|err| AppError::unexpected(anyhow::anyhow!("loan {}: {err}", loan.id)))?;
    Ok(LoanAccount {
        loan,
        installments,
        terms,
        quote,
    })
}

/// A paid-out loan as its borrower's page and staff's show it.
#[derive(Debug, Clone)]
pub struct Overview {
    pub account: LoanAccount,
    /// For a defaulted loan: the debt and what was recovered of it.
    pub claim: Option<Claim>,
    pub payments: Vec<servicing_queries::PaymentLine>,
    /// The latest penalties charged, day by day, newest first.
    pub penalties: Vec<penalty_repo::Charged>,
    pub versions: Vec<servicing_queries::ScheduleVersion>,
    /// What the borrower's wallet has available.
    pub available: Money,
}

/// The penalties listed on a loan's page.
const PENALTY_LINES: u64 = 90;

/// `loan`'s servicing on the clock's day; `None` before its payout.
///
/// # Errors
/// Database failures; stored rows that do not parse.
pub async fn overview(
    conn: &impl ConnectionTrait,
    clock: &dyn Clock,
    loan: Loan,
) -> Result<Option<Overview>, AppError> {
    if loan.disbursed_at.is_none() {
        return Ok(None);
    }
    let settings = settings::load(conn).await?;
    let account = account(conn, loan, &settings, clock.today()).await?;
    let available = wallets::of_user(conn, account.loan.borrower_id, account.loan.currency())
        .await?
        .map_or(Money::zero(account.loan.currency()), |w| w.available());
    overview_of(conn, account, available).await.map(Some)
}

/// The overview of a loan whose `account` was just read, its borrower's
/// wallet holding `available` (a payment's confirmation has both).
///
/// # Errors
/// Database failures; stored rows that do not parse.
pub async fn overview_of(
    conn: &impl ConnectionTrait,
    account: LoanAccount,
    available: Money,
) -> Result<Overview, AppError> {
    let loan = &account.loan;
    let claim = if loan.status == LoanStatus::Defaulted {
        Some(defaults::claim(conn, loan).await?)
    } else {
        None
    };
    Ok(Overview {
        claim,
        payments: servicing_queries::payments(conn, loan.id, loan.currency()).await?,
        penalties: penalty_repo::of_loan(conn, loan.id, loan.currency(), PENALTY_LINES).await?,
        versions: servicing_queries::versions(conn, loan.id).await?,
        available,
        account,
    })
}

/// Whether `loan` takes payments: being repaid, or defaulted (recoveries).
fn takes_payments(loan: &Loan) -> Result<(), AppError> {
    if matches!(loan.status, LoanStatus::Active | LoanStatus::Defaulted) {
        Ok(())
    } else {
        Err(DomainError::NotRepaying {
            status: loan.status,
        }
        .into())
    }
}

/// The borrower's own loan, being repaid or defaulted.
///
/// # Errors
/// `NotFound` for someone else's loan; `Domain` for one that takes no
/// payments; database failures.
pub async fn payable_loan(
    conn: &impl ConnectionTrait,
    borrower: UserId,
    loan_id: LoanId,
) -> Result<Loan, AppError> {
    let loan = loans::find(conn, loan_id)
        .await?
        .filter(|loan| loan.borrower_id == borrower)
        .ok_or(AppError::NotFound)?;
    takes_payments(&loan)?;
    Ok(loan)
}

/// What a payment will do.
#[derive(Debug, Clone)]
pub enum Plan {
    /// On a loan being repaid: how it is allocated over the installments.
    Installments(Allocation),
    /// On a defaulted loan: how a recovery is shared.
    Recovery {
        amount: Money,
        to_reserve: Money,
        to_investors: Money,
        claim: Claim,
    },
}

impl Plan {
    #[must_use]
    pub fn amount(&self) -> Money {
        match self {
            Self::Installments(allocation) => allocation.amount,
            Self::Recovery { amount, .. } => *amount,
        }
    }
}

/// A payment as its confirmation page shows it.
#[derive(Debug, Clone)]
pub struct Preview {
    pub account: LoanAccount,
    pub plan: Plan,
    pub wallet: Wallet,
}

/// What paying `amount` on the borrower's loan today would do (the
/// confirmation page), and the borrower's wallet.
///
/// # Errors
/// `Validation` on `amount` for an amount the loan does not take or the
/// wallet does not hold; `NotFound` for someone else's loan; `Domain` for a
/// loan that takes no payments.
pub async fn preview(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    borrower: UserId,
    loan_id: LoanId,
    amount: TypedAmount,
) -> Result<Preview, AppError> {
    let loan = payable_loan(db, borrower, loan_id).await?;
    let settings = settings::load(db).await?;
    let account = account(db, loan, &settings, clock.today()).await?;
    let wallet = wallets::of_user(db, borrower, account.loan.currency())
        .await?
        .ok_or(AppError::NotFound)?;
    let amount = amount.in_currency(account.loan.currency());
    let plan = if account.loan.status == LoanStatus::Defaulted {
        let claim = defaults::claim(db, &account.loan).await?;
        defaults::check_recovery(&claim, amount)?;
        let (_, shares) = defaults::plan_recovery(db, &account.loan, amount).await?;
        let to_reserve = shares
            .iter()
            .try_fold(Money::zero(amount.currency()), |sum, s| {
                sum.checked_add(s.to_reserve)
            })
            .map_err(AppError::unexpected)?;
        Plan::Recovery {
            amount,
            to_reserve,
            to_investors: amount
                .checked_sub(to_reserve)
                .map_err(AppError::unexpected)?,
            claim,
        }
    } else {
        Plan::Installments(allocate(&account, amount, clock)?)
    };
    check_available(&wallet, amount)?;
    Ok(Preview {
        account,
        plan,
        wallet,
    })
}

fn allocate(
    account: &LoanAccount,
    amount: Money,
    clock: &dyn Clock,
) -> Result<Allocation, AppError> {
    repayment::allocate(&account.installments, &account.terms, clock.today(), amount)
        .map_err(|err| amount_error(&err))
}

fn payoff_changed(payoff: Money) -> AppError {
    AppError::Validation(FieldErrors::single(
        "amount",
        format!("Paying off the loan now takes exactly {payoff}; please confirm that amount."),
    ))
}

fn check_available(wallet: &Wallet, amount: Money) -> Result<(), AppError> {
    let available = wallet.available();
    if amount.minor() > available.minor() {
        return Err(AppError::Validation(FieldErrors::single(
            "amount",
            format!(
                "Your wallet has {available} available. Top it up first, or pay a smaller amount."
            ),
        )));
    }
    Ok(())
}

/// Pays `payment` from the borrower's wallet. A repeated submission (same
/// key, same values) pays nothing and answers as the first did.
///
/// # Errors
/// As [`preview`], checked again under the locks; `Domain` for a reused key.
pub async fn pay(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    borrower: UserId,
    payment: &Payment,
    base_url: &Url,
) -> Result<Paid, AppError> {
    let hash = idempotency::request_hash(&[
        if payment.payoff { "payoff" } else { "pay" },
        &payment.loan_id.to_string(),
        &payment.amount.minor().to_string(),
    ]);
    match attempt(db, clock, borrower, payment, &hash, base_url).await {
        Err(lost) if idempotency::lost_race(&lost) => {
            let first = idempotency::replay(db, borrower, &payment.key, &hash)
                .await?
                .ok_or(lost)?;
            replayed(db, &first).await
        }
        other => other,
    }
}

async fn replayed(conn: &impl ConnectionTrait, stored: &str) -> Result<Paid, AppError> {
    let id: PaymentId = stored
        .parse()
        .map_err(|err| anyhow::anyhow!("stored answer {stored:?}: {err}"))?;
    let row = loan_payments::Entity::find_by_id(id.as_uuid())
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)?;
    let loan = loans::get(conn, LoanId::from_uuid(row.loan_id)).await?;
    Ok(Paid {
        payment_id: id,
        amount: Money::from_minor(row.amount, loan.currency()).map_err(AppError::unexpected)?,
        repaid: loan.status == LoanStatus::Repaid,
    })
}

async fn attempt(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    borrower: UserId,
    payment: &Payment,
    hash: &str,
    base_url: &Url,
) -> Result<Paid, AppError> {
    let now = clock.now();
    let payment_id = PaymentId::new();
    let txn = db::begin_write(db).await?;
    idempotency::claim(
        &txn,
        borrower,
        &payment.key,
        hash,
        &payment_id.to_string(),
        now,
    )
    .await?;
    let own = payable_loan(&txn, borrower, payment.loan_id).await?;
    wallets::lock_all_of(&txn, borrower).await?;
    let loan = loans::lock(&txn, own.id).await?;
    takes_payments(&loan)?;
    let amount = payment.amount.in_currency(loan.currency());
    let wallet = wallets::of_user(&txn, borrower, loan.currency())
        .await?
        .ok_or(AppError::NotFound)?;
    if loan.status == LoanStatus::Defaulted {
        let claim = defaults::claim(&txn, &loan).await?;
        defaults::check_recovery(&claim, amount)?;
        if payment.payoff && amount != claim.remaining {
            return Err(payoff_changed(claim.remaining));
        }
        check_available(&wallet, amount)?;
        let paid = defaults::recover(
            &txn,
            &loan,
            (&wallet, borrower),
            (payment_id, amount),
            (now, clock.today()),
            base_url,
        )
        .await?;
        db::commit(txn).await?;
        return Ok(paid);
    }
    let settings = settings::load(&txn).await?;
    let rows = installments::of_loan(&txn, loan.id, loan.currency()).await?;
    let (rows, _) =
        penalties::accrue(&txn, &loan, rows, &settings, (now, clock.today()), base_url).await?;
    let account = account_of(loan, rows, clock.today())?;
    if payment.payoff && amount != account.quote.payoff {
        return Err(payoff_changed(account.quote.payoff));
    }
    let allocation = allocate(&account, amount, clock)?;
    check_available(&wallet, amount)?;
    let stakes = receipts::Stakes::read(&txn, &[&account.loan], clock.today()).await?;
    let receipt = receipts::receipt(
        &stakes,
        (&account, &settings),
        &allocation,
        (payment_id, receipts::Source::Borrower(borrower), &wallet),
        (now, clock.today()),
        base_url,
    )?;
    let paid = receipt.paid();
    receipts::write(&txn, &stakes, vec![receipt], (now, base_url)).await?;
    db::commit(txn).await?;
    Ok(paid)
}

/// What the due-payments job collects on `account` (a loan being repaid, its
/// installments fallen due and penalties charged) from a wallet with
/// `available`: everything owed now, or as much of it as the wallet holds.
/// `None` when nothing is owed or nothing is available.
///
/// # Errors
/// `Unexpected` for a schedule the allocation refuses.
pub fn collection(
    account: &LoanAccount,
    available: Money,
    today: NaiveDate,
) -> Result<Option<Allocation>, AppError> {
    let owed = account.quote.owed.total().map_err(AppError::unexpected)?;
    let amount = if available.minor() < owed.minor() {
        available
    } else {
        owed
    };
    if !amount.is_positive() {
        return Ok(None);
    }
    repayment::allocate(&account.installments, &account.terms, today, amount)
        .map(Some)
        .map_err(|err| AppError::unexpected(anyhow::anyhow!("loan {}: {err}", account.loan.id)))
}
