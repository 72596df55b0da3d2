//! `due-payments`: each day, the installments due that day (or earlier, if
//! the job was down) fall due, and the borrower's wallet pays what it can
//! of everything the loan owes (partly, when it holds part of it); what is
//! still unpaid on a due date that has come becomes `overdue`, and the
//! borrower is told. Loans with overdue installments are collected from
//! again every day, so money the borrower adds goes to the arrears.
//!
//! Loans go in batches of [`BATCH`], each one committed transaction: it
//! locks the batch's borrowers' wallets, then its loans (the platform's lock
//! order, as a payment by hand takes them), reads each kind of row once for
//! the whole batch, works every payment out in memory and writes them all
//! with a statement or two per table (`services::receipts`). Each
//! installment moves by a conditional update on the status it was read in:
//! a run killed halfway leaves every batch either done or untouched, and a
//! run again (or a second instance at once) finds nothing left to move
//! twice. A batch in which something moved meanwhile is gone through again
//! loan by loan, so one busy loan holds up no other.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect,
};
use url::Url;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::{loan_requests, repayment_schedule},
        repo::{installments, loans, users, wallets},
    },
    domain::{
        ids::{LoanId, PaymentId, UserId, WalletId},
        installment::{Installment, InstallmentEvent, InstallmentStatus},
        lifecycle::LoanStatus,
        loan::Loan,
        money::Money,
        repayment::overdue_base,
        settings::Settings,
    },
    error::AppError,
    mail::messages::InstallmentOverdue,
    paths,
    services::{
        outbox, penalties, receipts,
        repayment::{self, LoanAccount},
        settings,
    },
};

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Loans looked at.
    pub loans: u32,
    /// Payments collected from wallets.
    pub collected: u32,
    /// Installments that became overdue.
    pub overdue: u32,
}

/// The loans with something to do on `today`: an installment due by then
/// and not yet fallen due, or money owed now.
async fn loans_to_service(
    db: &DatabaseConnection,
    today: NaiveDate,
) -> Result<Vec<LoanId>, AppError> {
    use repayment_schedule::Column;
    let owed = [
        InstallmentStatus::Due,
        InstallmentStatus::PartiallyPaid,
        InstallmentStatus::Overdue,
    ];
    let ids: Vec<uuid::Uuid> = repayment_schedule::Entity::find()
        .select_only()
        .column(Column::LoanId)
        .distinct()
        .inner_join(loan_requests::Entity)
        .filter(loan_requests::Column::Status.eq(LoanStatus::Active.as_str()))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(Column::Status.eq(InstallmentStatus::Scheduled.as_str()))
                        .add(Column::DueDate.lte(today)),
                )
                .add(Column::Status.is_in(InstallmentStatus::words(&owed))),
        )
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().map(LoanId::from_uuid).collect())
}

/// Loans per transaction: large enough that a due day of ten thousand
/// loans is a few dozen round trips per batch, small enough that the locks
/// are held for a moment.
const BATCH: usize = 200;

impl Report {
    fn add(&mut self, other: Self) {
        self.loans += other.loans;
        self.collected += other.collected;
        self.overdue += other.overdue;
    }
}

/// One pass as of the clock's day.
///
/// # Errors
/// Database failures; a loan whose installments moved meanwhile is left to
/// the next pass.
pub async fn run(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    base_url: &Url,
) -> Result<Report, AppError> {
    run_in_batches(db, clock, base_url, BATCH).await
}

/// One pass as of the clock's day, `loans_per_batch` loans per transaction.
///
/// # Errors
/// As [`run`].
pub async fn run_in_batches(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    base_url: &Url,
    loans_per_batch: usize,
) -> Result<Report, AppError> {
    let today = clock.today();
    let settings = settings::load(db).await?;
    let mut report = Report::default();
    for batch in loans_to_service(db, today)
        .await?
        .chunks(loans_per_batch.max(1))
    {
        match service(db, batch, &settings, (clock.now(), today), base_url).await {
            Ok(done) => report.add(done),
            Err(AppError::Conflict) if batch.len() > 1 => {
                for loan_id in batch {
                    let one = std::slice::from_ref(loan_id);
                    match service(db, one, &settings, (clock.now(), today), base_url).await {
                        Ok(done) => report.add(done),
                        Err(AppError::Conflict) => {
                            tracing::info!(%loan_id, "installments moved meanwhile; left to the next pass");
                        }
                        Err(err) => return Err(err),
                    }
                }
            }
            Err(AppError::Conflict) => {
                tracing::info!(loans = ?batch, "installments moved meanwhile; left to the next pass");
            }
            Err(err) => return Err(err),
        }
    }
    Ok(report)
}

/// Falls due, collects and marks overdue for the loans `batch`, in one
/// transaction.
async fn service(
    db: &DatabaseConnection,
    batch: &[LoanId],
    settings: &Settings,
    (now, today): (DateTime<Utc>, NaiveDate),
    base_url: &Url,
) -> Result<Report, AppError> {
    let txn = db::begin_write(db).await?;
    // The borrowers' wallets before the loans, as a payment by hand takes
    // them: the other order deadlocks against it.
    let borrowers = loans::borrowers_of(&txn, batch).await?;
    let wallets = wallets::lock_all_of_users(&txn, &borrowers).await?;
    let loans: Vec<Loan> = loans::lock_many(&txn, batch)
        .await?
        .into_iter()
        .filter(|loan| loan.status == LoanStatus::Active)
        .collect();
    let keys: Vec<_> = loans
        .iter()
        .map(|loan| (loan.id, loan.currency()))
        .collect();
    let mut schedules = installments::of_loans(&txn, &keys).await?;

    let falls_due =
        |row: &Installment| row.status == InstallmentStatus::Scheduled && row.due_date <= today;
    let falling: Vec<&Installment> = schedules
        .values()
        .flatten()
        .filter(|row| falls_due(row))
        .collect();
    let fallen = installments::apply_all(&txn, &falling, InstallmentEvent::FallDue, now).await?;
    for (row, status) in schedules
        .values_mut()
        .flatten()
        .filter(|row| falls_due(row))
        .zip(fallen)
    {
        row.status = status;
    }

    let mut accounts = Vec::with_capacity(loans.len());
    for loan in loans {
        let rows = schedules.remove(&loan.id).unwrap_or_default();
        let (rows, _) =
            penalties::accrue(&txn, &loan, rows, settings, (now, today), base_url).await?;
        accounts.push(repayment::account_of(loan, rows, today)?);
    }

    // Each borrower's wallet pays for their loans in turn, as far as it goes.
    let mut available: BTreeMap<WalletId, Money> =
        wallets.iter().map(|w| (w.id, w.available())).collect();
    let mut collections = Vec::new();
    for (index, account) in accounts.iter().enumerate() {
        let loan = &account.loan;
        let Some(wallet) = wallets
            .iter()
            .find(|w| w.owner == Some(loan.borrower_id) && w.currency() == loan.currency())
        else {
            continue;
        };
        let Some(left) = available.get_mut(&wallet.id) else {
            continue;
        };
        if let Some(allocation) = repayment::collection(account, *left, today)? {
            *left = left
                .checked_sub(allocation.amount)
                .map_err(AppError::unexpected)?;
            collections.push((index, allocation, wallet));
        }
    }
    let paying: Vec<&Loan> = collections
        .iter()
        .map(|(i, _, _)| &accounts[*i].loan)
        .collect();
    let stakes = receipts::Stakes::read(&txn, &paying, today).await?;
    let receipts = collections
        .iter()
        .map(|(index, allocation, wallet)| {
            receipts::receipt(
                &stakes,
                (&accounts[*index], settings),
                allocation,
                (PaymentId::new(), receipts::Source::Collection, wallet),
                (now, today),
                base_url,
            )
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let collected = receipts::write(&txn, &stakes, receipts, (now, base_url))
        .await?
        .len();
    for (index, allocation, _) in &collections {
        let rows = &mut accounts[*index].installments;
        for change in &allocation.changes {
            if let Some(row) = rows.iter_mut().find(|row| row.id == change.id) {
                change.apply_to(row).map_err(AppError::unexpected)?;
            }
        }
    }

    let overdue = mark_overdue(&txn, &accounts, (now, today), base_url).await?;
    db::commit(txn).await?;
    Ok(Report {
        loans: u32::try_from(accounts.len()).unwrap_or(u32::MAX),
        collected: u32::try_from(collected).unwrap_or(u32::MAX),
        overdue,
    })
}

/// Moves what is still unpaid on a due date that has come to `overdue`, and
/// tells each borrower concerned what their loan now has overdue. Returns
/// how many installments became overdue.
async fn mark_overdue(
    txn: &impl ConnectionTrait,
    accounts: &[LoanAccount],
    (now, today): (DateTime<Utc>, NaiveDate),
    base_url: &Url,
) -> Result<u32, AppError> {
    let newly = |row: &Installment| {
        matches!(
            row.status,
            InstallmentStatus::Due | InstallmentStatus::PartiallyPaid
        ) && row.due_date <= today
    };
    let late: Vec<&LoanAccount> = accounts
        .iter()
        .filter(|account| account.installments.iter().any(newly))
        .collect();
    if late.is_empty() {
        return Ok(0);
    }
    let rows: Vec<&Installment> = late
        .iter()
        .flat_map(|account| account.installments.iter().filter(|row| newly(row)))
        .collect();
    installments::apply_all(txn, &rows, InstallmentEvent::BecomeOverdue, now).await?;
    let borrowers: Vec<UserId> = late
        .iter()
        .map(|account| account.loan.borrower_id)
        .collect();
    let borrowers = users::get_many(txn, &borrowers).await?;
    let mut emails = Vec::with_capacity(late.len());
    for account in late {
        let loan = &account.loan;
        let mut overdue = Money::zero(loan.currency());
        for row in account
            .installments
            .iter()
            .filter(|row| newly(row) || row.status == InstallmentStatus::Overdue)
        {
            overdue = overdue
                .checked_add(overdue_base(row).map_err(AppError::unexpected)?)
                .and_then(|sum| sum.checked_add(row.penalty_accrued.checked_sub(row.penalty_paid)?))
                .map_err(AppError::unexpected)?;
        }
        let borrower = borrowers.get(&loan.borrower_id).ok_or_else(|| {
            AppError::unexpected(anyhow::anyhow!("no account {}", loan.borrower_id))
        })?;
        emails.push(outbox::render(
            borrower.email.as_str(),
            &InstallmentOverdue {
                full_name: borrower.full_name.clone(),
                loan_url: outbox::link(base_url, &paths::borrower_loan(loan.id)),
                due_dates: account
                    .installments
                    .iter()
                    .filter(|row| newly(row))
                    .map(|row| row.due_date)
                    .collect(),
                overdue,
            },
        )?);
    }
    outbox::queue(txn, now, emails).await?;
    Ok(u32::try_from(rows.len()).unwrap_or(u32::MAX))
}
