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

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use url::Url;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::{distributions, loan_payments, loan_requests, schedule_versions},
        queries::servicing as servicing_queries,
        repo::{installments, investments, loans, penalties as penalty_repo, users, wallets},
    },
    domain::{
        distribution::{Received, distribute},
        error::DomainError,
        ids::{InvestmentId, LoanId, PaymentId, UserId},
        installment::{Installment, InstallmentEvent},
        investment::{self, Investment, InvestmentEvent, InvestmentStatus},
        journal::EntryKind,
        lifecycle::{LoanEvent, LoanStatus},
        loan::Loan,
        money::{Money, TypedAmount},
        repayment::{self, Allocation, LoanPaymentKind, PaymentError, PaymentKind, Quote},
        schedule::LoanTerms,
        settings::Settings,
        split::Holding,
        wallet::{self, Wallet, WalletKind},
    },
    error::{AppError, FieldErrors, is_unique_violation},
    ledger::{JournalEntry, LedgerError, store},
    mail::messages::{DistributionReceived, LoanRepaid, PaymentReceived},
    paths,
    services::{
        defaults::{self, Claim},
        funding::short_id,
        idempotency::{self, IdempotencyKey},
        outbox, penalties, settings,
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

/// What a payment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paid {
    pub payment_id: PaymentId,
    pub amount: Money,
    /// Whether it settled the loan.
    pub repaid: bool,
}

/// How a payment came in (`loan_payments.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Borrower,
    Collection,
}

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
fn account_of(
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
        Err(AppError::Unexpected(err))
            if err
                .downcast_ref::<sea_orm::DbErr>()
                .is_some_and(is_unique_violation) =>
        {
            let first = idempotency::replay(db, borrower, &payment.key, &hash)
                .await?
                .ok_or(AppError::Unexpected(err))?;
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
        txn.commit().await?;
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
    let paid = receive(
        &txn,
        (&account, &settings),
        &allocation,
        (payment_id, Source::Borrower, Some(borrower), &wallet),
        (now, clock.today()),
        base_url,
    )
    .await?;
    txn.commit().await?;
    Ok(paid)
}

/// What the borrower's wallet can cover of what the loan owes now, collected
/// (the due-payments job, in its transaction, after the loan's installments
/// fell due: `rows` is its schedule as they now stand). `None` when nothing
/// is owed or the wallet has nothing available.
///
/// # Errors
/// Database and ledger failures.
pub async fn collect(
    txn: &impl ConnectionTrait,
    (loan, rows): (Loan, Vec<Installment>),
    settings: &Settings,
    (now, today): (DateTime<Utc>, NaiveDate),
    base_url: &Url,
) -> Result<Option<Paid>, AppError> {
    let Some(wallet) = wallets::of_user(txn, loan.borrower_id, loan.currency()).await? else {
        return Ok(None);
    };
    let (rows, _) = penalties::accrue(txn, &loan, rows, settings, (now, today), base_url).await?;
    let account = account_of(loan, rows, today)?;
    let owed = account.quote.owed.total().map_err(AppError::unexpected)?;
    let available = wallet.available();
    let amount = if available.minor() < owed.minor() {
        available
    } else {
        owed
    };
    if !amount.is_positive() {
        return Ok(None);
    }
    let allocation = repayment::allocate(&account.installments, &account.terms, today, amount)
        .map_err(|err| AppError::unexpected(anyhow::anyhow!("loan {}: {err}", account.loan.id)))?;
    receive(
        txn,
        (&account, settings),
        &allocation,
        (PaymentId::new(), Source::Collection, None, &wallet),
        (now, today),
        base_url,
    )
    .await
    .map(Some)
}

/// Books `allocation` on the locked loan of `account`: installments, the
/// payment, its distributions and ledger entry, the schedule version, and
/// the loan's end when it settles it.
async fn receive(
    txn: &impl ConnectionTrait,
    (account, settings): (&LoanAccount, &Settings),
    allocation: &Allocation,
    (payment_id, source, payer, wallet): (PaymentId, Source, Option<UserId>, &Wallet),
    (now, today): (DateTime<Utc>, NaiveDate),
    base_url: &Url,
) -> Result<Paid, AppError> {
    let loan = &account.loan;
    let holders = investments::of_loan(txn, loan, &[InvestmentStatus::Active]).await?;
    // Shared by the principal each stake still holds: the payment that
    // settles the loan then returns every stake exactly what it lent.
    let repaid = principal_returned(txn, loan.id).await?;
    let holdings: Vec<Holding<InvestmentId>> = holders
        .iter()
        .map(|i| Holding {
            key: i.id,
            weight: i.amount.minor() - repaid.get(&i.id).copied().unwrap_or(0),
        })
        .filter(|h| h.weight > 0)
        .collect();
    let parts = allocation.parts;
    let received = Received {
        principal: parts.principal().map_err(AppError::unexpected)?,
        interest: parts.interest().map_err(AppError::unexpected)?,
        penalty: parts.penalties,
    };
    let (shares, fee) = distribute(received, settings.servicing_fee, &holdings)
        .map_err(|err| AppError::unexpected(anyhow::anyhow!("loan {}: {err}", loan.id)))?;

    let entry_id = post(txn, loan, wallet, &holders, &shares, fee, payer, now).await?;
    for change in &allocation.changes {
        installments::apply_payment(txn, change, now).await?;
    }
    let kind = match (source, allocation.kind) {
        (_, PaymentKind::Payoff) => LoanPaymentKind::Payoff,
        (Source::Collection, PaymentKind::Payment) => LoanPaymentKind::Collection,
        (Source::Borrower, PaymentKind::Payment) => LoanPaymentKind::Payment,
    };
    loan_payments::ActiveModel {
        id: Set(payment_id.into()),
        loan_id: Set(loan.id.into()),
        paid_by: Set(payer.map(Into::into)),
        kind: Set(kind.as_str().to_owned()),
        amount: Set(allocation.amount.minor()),
        currency: Set(loan.currency().code().to_owned()),
        penalty: Set(parts.penalties.minor()),
        interest: Set(received.interest.minor()),
        principal: Set(parts.overdue_principal.minor() + parts.current_principal.minor()),
        prepaid_principal: Set(parts.prepayment.minor()),
        reserve_repaid: Set(0),
        fee: Set(fee.minor()),
        entry_id: Set(entry_id),
        paid_on: Set(today),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    let told_today = paid_today(txn, loan.id, today).await?;
    let rows: Vec<distributions::ActiveModel> = shares
        .iter()
        .filter(|s| !(s.principal.is_zero() && s.interest.is_zero() && s.penalty.is_zero()))
        .map(|share| {
            let holder = holders.iter().find(|i| i.id == share.key).ok_or_else(|| {
                AppError::unexpected(anyhow::anyhow!("share of an unknown investment"))
            })?;
            Ok(distributions::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                payment_id: Set(payment_id.into()),
                investment_id: Set(share.key.into()),
                loan_id: Set(loan.id.into()),
                investor_id: Set(holder.investor_id.into()),
                principal: Set(share.principal.minor()),
                interest: Set(share.interest.minor()),
                penalty: Set(share.penalty.minor()),
                fee: Set(share.fee.minor()),
                created_at: Set(now),
            })
        })
        .collect::<Result<_, AppError>>()?;
    if !rows.is_empty() {
        distributions::Entity::insert_many(rows).exec(txn).await?;
    }
    if allocation.reschedules {
        keep_version(txn, account, allocation, payment_id, now).await?;
    }

    let repaid = allocation.settles_loan(&account.installments);
    let mut emails = distribution_emails(txn, (&holders, &shares), &told_today, base_url).await?;
    let borrower = users::get(txn, loan.borrower_id).await?;
    let loan_url = outbox::link(base_url, &paths::borrower_loan(loan.id));
    emails.push(outbox::render(
        borrower.email.as_str(),
        &PaymentReceived {
            full_name: borrower.full_name.clone(),
            loan_url: loan_url.clone(),
            amount: allocation.amount,
            collected: source == Source::Collection,
            penalties: parts.penalties,
            interest: received.interest,
            principal: received.principal,
            repaid,
        },
    )?);
    if repaid {
        let closed = loan_requests::ActiveModel {
            closed_at: Set(Some(now)),
            ..Default::default()
        };
        loans::apply(txn, loan, LoanEvent::RepayInFull, now, closed).await?;
        investments::apply_to_loan(
            txn,
            loan.id,
            InvestmentStatus::Active,
            InvestmentEvent::RepayInFull,
            holders.len(),
            now,
        )
        .await?;
        let ids: Vec<UserId> = holders.iter().map(|h| h.investor_id).collect();
        let investors = users::get_many(txn, &ids).await?;
        // One email per investor, about their first stake in the loan.
        let mut told = std::collections::BTreeSet::new();
        for holder in &holders {
            let Some(investor) = investors.get(&holder.investor_id) else {
                continue;
            };
            if !told.insert(holder.investor_id) {
                continue;
            }
            emails.push(outbox::render(
                investor.email.as_str(),
                &LoanRepaid {
                    full_name: investor.full_name.clone(),
                    loan_url: outbox::link(base_url, &paths::investment(holder.id)),
                    to_borrower: false,
                },
            )?);
        }
        emails.push(outbox::render(
            borrower.email.as_str(),
            &LoanRepaid {
                full_name: borrower.full_name.clone(),
                loan_url,
                to_borrower: true,
            },
        )?);
    }
    outbox::queue(txn, now, emails).await?;
    Ok(Paid {
        payment_id,
        amount: allocation.amount,
        repaid,
    })
}

/// The investors who already received a share of a payment on the loan
/// dated `today` (told by email then: one email a day per loan).
async fn paid_today(
    txn: &impl ConnectionTrait,
    loan_id: LoanId,
    today: NaiveDate,
) -> Result<std::collections::BTreeSet<UserId>, AppError> {
    let earlier: Vec<uuid::Uuid> = loan_payments::Entity::find()
        .select_only()
        .column(loan_payments::Column::Id)
        .filter(loan_payments::Column::LoanId.eq(loan_id))
        .filter(loan_payments::Column::PaidOn.eq(today))
        .into_tuple()
        .all(txn)
        .await?;
    if earlier.is_empty() {
        return Ok(std::collections::BTreeSet::new());
    }
    let ids: Vec<uuid::Uuid> = distributions::Entity::find()
        .select_only()
        .column(distributions::Column::InvestorId)
        .distinct()
        .filter(distributions::Column::PaymentId.is_in(earlier))
        .into_tuple()
        .all(txn)
        .await?;
    Ok(ids.into_iter().map(UserId::from_uuid).collect())
}

/// "A repayment reached your wallet", once per investor (their stakes added
/// up, linking the first), except to those told today already.
async fn distribution_emails(
    txn: &impl ConnectionTrait,
    (holders, shares): (
        &[Investment],
        &[crate::domain::distribution::Share<InvestmentId>],
    ),
    told_today: &std::collections::BTreeSet<UserId>,
    base_url: &Url,
) -> Result<Vec<outbox::RenderedEmail>, AppError> {
    let mut per_investor: BTreeMap<UserId, (InvestmentId, [Money; 4])> = BTreeMap::new();
    for share in shares {
        let Some(holder) = holders.iter().find(|h| h.id == share.key) else {
            continue;
        };
        if told_today.contains(&holder.investor_id) {
            continue;
        }
        let entry = per_investor
            .entry(holder.investor_id)
            .or_insert((holder.id, [Money::zero(share.principal.currency()); 4]));
        for (sum, part) in
            entry
                .1
                .iter_mut()
                .zip([share.principal, share.interest, share.penalty, share.fee])
        {
            *sum = sum.checked_add(part).map_err(AppError::unexpected)?;
        }
    }
    let ids: Vec<UserId> = per_investor.keys().copied().collect();
    let investors = users::get_many(txn, &ids).await?;
    let mut emails = Vec::new();
    for (investor_id, (first, [principal, interest, penalty, fee])) in per_investor {
        let Some(investor) = investors.get(&investor_id) else {
            continue;
        };
        let net = principal
            .checked_add(interest)
            .and_then(|m| m.checked_add(penalty))
            .and_then(|m| m.checked_sub(fee))
            .map_err(AppError::unexpected)?;
        if !net.is_positive() {
            continue;
        }
        emails.push(outbox::render(
            investor.email.as_str(),
            &DistributionReceived {
                full_name: investor.full_name.clone(),
                investment_url: outbox::link(base_url, &paths::investment(first)),
                principal,
                interest,
                penalty,
                fee,
                net,
            },
        )?);
    }
    Ok(emails)
}

/// The principal each of the loan's investments has received so far.
pub(crate) async fn principal_returned(
    txn: &impl ConnectionTrait,
    loan_id: LoanId,
) -> Result<BTreeMap<InvestmentId, i64>, AppError> {
    let sums: Vec<(uuid::Uuid, i64)> = distributions::Entity::find()
        .select_only()
        .column(distributions::Column::InvestmentId)
        .column_as(Expr::cust("CAST(SUM(principal) AS BIGINT)"), "principal")
        .filter(distributions::Column::LoanId.eq(loan_id))
        .group_by(distributions::Column::InvestmentId)
        .into_tuple()
        .all(txn)
        .await?;
    Ok(sums
        .into_iter()
        .map(|(id, sum)| (InvestmentId::from_uuid(id), sum))
        .collect())
}

/// One entry: the borrower's wallet pays, each investor's wallet gets their
/// shares' net, the fees wallet the servicing fee.
#[expect(clippy::too_many_arguments, reason = "one posting's inputs, named")]
async fn post(
    txn: &impl ConnectionTrait,
    loan: &Loan,
    from: &Wallet,
    holders: &[Investment],
    shares: &[crate::domain::distribution::Share<InvestmentId>],
    fee: Money,
    payer: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<uuid::Uuid, AppError> {
    let investors = investment::investors_of(holders);
    let wallets = wallets::lock(txn, &investors, &[WalletKind::Fees], loan.currency()).await?;
    let fees = wallet::platform(&wallets, WalletKind::Fees)
        .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("no fees wallet")))?;
    let mut postings = Vec::with_capacity(shares.len() + 2);
    let mut paid = 0i64;
    for share in shares {
        let holder = holders.iter().find(|h| h.id == share.key).ok_or_else(|| {
            AppError::unexpected(anyhow::anyhow!("share of an unknown investment"))
        })?;
        let to = wallet::owned_by(&wallets, holder.investor_id).ok_or_else(|| {
            AppError::unexpected(anyhow::anyhow!(
                "investor {} has no wallet",
                holder.investor_id
            ))
        })?;
        let net = share.net().map_err(AppError::unexpected)?.minor();
        postings.push((to.id.as_uuid(), net));
        paid += net;
    }
    postings.push((fees.id.as_uuid(), fee.minor()));
    paid += fee.minor();
    postings.push((from.id.as_uuid(), -paid));
    let entry = JournalEntry::netted(
        EntryKind::Repayment,
        format!("Loan {} repayment", short_id(loan.id)),
        postings,
    )
    .map_err(AppError::unexpected)?;
    store::post(txn, &entry, payer, now)
        .await
        .map_err(|err| match err {
            store::PostError::Ledger(LedgerError::InsufficientFunds { .. }) => {
                AppError::Validation(FieldErrors::single(
                    "amount",
                    "Your wallet does not have that much available.",
                ))
            }
            other => other.into(),
        })
}

/// Keeps the installments as they stood before `allocation` replaced them,
/// as the loan's next schedule version.
async fn keep_version(
    txn: &impl ConnectionTrait,
    account: &LoanAccount,
    allocation: &Allocation,
    payment_id: PaymentId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let last = schedule_versions::Entity::find()
        .filter(schedule_versions::Column::LoanId.eq(account.loan.id))
        .order_by_desc(schedule_versions::Column::Version)
        .one(txn)
        .await?
        .map_or(0, |v| v.version);
    let replaced: Vec<serde_json::Value> = account
        .installments
        .iter()
        .filter(|row| {
            allocation.changes.iter().any(|c| {
                c.id == row.id
                    && (c.event == InstallmentEvent::Reschedule
                        || c.new_principal.is_some()
                        || c.new_interest.is_some())
            })
        })
        .map(|row| {
            serde_json::json!({
                "number": row.number,
                "due_date": row.due_date.to_string(),
                "principal": row.principal.minor(),
                "interest": row.interest.minor(),
            })
        })
        .collect();
    schedule_versions::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        loan_id: Set(account.loan.id.into()),
        version: Set(last + 1),
        payment_id: Set(payment_id.into()),
        installments: Set(serde_json::Value::Array(replaced).to_string()),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(())
}
