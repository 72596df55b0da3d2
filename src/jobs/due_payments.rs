//! `due-payments`: each day, the installments due that day (or earlier, if
//! the job was down) fall due, and the borrower's wallet pays what it can
//! of everything the loan owes (partly, when it holds part of it); what is
//! still unpaid on a due date that has come becomes `overdue`, and the
//! borrower is told. Loans with overdue installments are collected from
//! again every day, so money the borrower adds goes to the arrears.
//!
//! One committed transaction per loan, which locks the loan first and moves
//! each installment by a conditional update on the status it read: a run
//! killed halfway leaves every loan either done or untouched, and a run
//! again (or a second instance at once) finds nothing left to move twice.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use url::Url;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::{loan_requests, repayment_schedule},
        repo::{installments, loans, users, wallets},
    },
    domain::{
        ids::LoanId,
        installment::{InstallmentEvent, InstallmentStatus},
        lifecycle::LoanStatus,
        money::Money,
        repayment::overdue_base,
        settings::Settings,
    },
    error::AppError,
    mail::messages::InstallmentOverdue,
    paths,
    services::{outbox, repayment, settings},
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
    let today = clock.today();
    let settings = settings::load(db).await?;
    let mut report = Report::default();
    for loan_id in loans_to_service(db, today).await? {
        report.loans += 1;
        match service(db, (loan_id, &settings), clock.now(), today, base_url).await {
            Ok((collected, overdue)) => {
                report.collected += u32::from(collected);
                report.overdue += overdue;
            }
            Err(AppError::Conflict) => {
                tracing::info!(%loan_id, "installments moved meanwhile; left to the next pass");
            }
            Err(err) => return Err(err),
        }
    }
    Ok(report)
}

/// Falls due, collects and marks overdue for one loan, in one transaction.
async fn service(
    db: &DatabaseConnection,
    (loan_id, settings): (LoanId, &Settings),
    now: DateTime<Utc>,
    today: NaiveDate,
    base_url: &Url,
) -> Result<(bool, u32), AppError> {
    let txn = db::begin_write(db).await?;
    // The borrower's wallets before the loan, as a payment by hand takes
    // them: the other order deadlocks against it.
    let borrower = loans::get(&txn, loan_id).await?.borrower_id;
    wallets::lock_all_of(&txn, borrower).await?;
    let loan = loans::lock(&txn, loan_id).await?;
    if loan.status != LoanStatus::Active {
        return Ok((false, 0));
    }
    let mut rows = installments::of_loan(&txn, loan.id, loan.currency()).await?;
    for row in &mut rows {
        if row.status == InstallmentStatus::Scheduled && row.due_date <= today {
            row.status = installments::apply(&txn, row, InstallmentEvent::FallDue, now).await?;
        }
    }
    let collected =
        repayment::collect(&txn, (loan.clone(), rows), settings, (now, today), base_url)
            .await?
            .is_some();
    let mut newly_overdue = Vec::new();
    let mut overdue = Money::zero(loan.currency());
    for row in installments::of_loan(&txn, loan.id, loan.currency()).await? {
        let owed = matches!(
            row.status,
            InstallmentStatus::Due | InstallmentStatus::PartiallyPaid
        );
        if owed && row.due_date <= today {
            installments::apply(&txn, &row, InstallmentEvent::BecomeOverdue, now).await?;
        } else if row.status != InstallmentStatus::Overdue {
            continue;
        }
        overdue = overdue
            .checked_add(overdue_base(&row).map_err(AppError::unexpected)?)
            .and_then(|sum| sum.checked_add(row.penalty_accrued.checked_sub(row.penalty_paid)?))
            .map_err(AppError::unexpected)?;
        if owed && row.due_date <= today {
            newly_overdue.push(row);
        }
    }
    if !newly_overdue.is_empty() {
        let borrower = users::get(&txn, loan.borrower_id).await?;
        outbox::enqueue(
            &txn,
            now,
            borrower.email.as_str(),
            &InstallmentOverdue {
                full_name: borrower.full_name.clone(),
                loan_url: outbox::link(base_url, &paths::borrower_loan(loan.id)),
                due_dates: newly_overdue.iter().map(|row| row.due_date).collect(),
                overdue,
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok((
        collected,
        u32::try_from(newly_overdue.len()).unwrap_or(u32::MAX),
    ))
}
