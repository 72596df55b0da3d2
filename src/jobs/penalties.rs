//! `penalties`: each day, every overdue installment of a loan being repaid
//! is charged penalty interest for each day since it was last charged (and
//! its late fee on the first), as `services::penalties` computes. One
//! committed transaction per loan, after the loan's lock; a day charged
//! twice would break `penalty_accruals`' unique key, and the charges are
//! read after the lock, so a run again (or a second instance) adds nothing.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use url::Url;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::{loan_requests, repayment_schedule},
        repo::{installments, loans},
    },
    domain::{ids::LoanId, installment::InstallmentStatus, lifecycle::LoanStatus},
    error::AppError,
    services::{penalties, settings},
};

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Loans with overdue installments looked at.
    pub loans: u32,
    /// Installments charged.
    pub charged: u32,
}

/// The loans being repaid with an overdue installment.
pub(crate) async fn overdue_loans(db: &DatabaseConnection) -> Result<Vec<LoanId>, AppError> {
    let ids: Vec<uuid::Uuid> = repayment_schedule::Entity::find()
        .select_only()
        .column(repayment_schedule::Column::LoanId)
        .distinct()
        .inner_join(loan_requests::Entity)
        .filter(loan_requests::Column::Status.eq(LoanStatus::Active.as_str()))
        .filter(repayment_schedule::Column::Status.eq(InstallmentStatus::Overdue.as_str()))
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
    let settings = settings::load(db).await?;
    let mut report = Report::default();
    for loan_id in overdue_loans(db).await? {
        report.loans += 1;
        let txn = db::begin_write(db).await?;
        let loan = loans::lock(&txn, loan_id).await?;
        if loan.status != LoanStatus::Active {
            continue;
        }
        let rows = installments::of_loan(&txn, loan.id, loan.currency()).await?;
        match penalties::accrue(
            &txn,
            &loan,
            rows,
            &settings,
            (clock.now(), clock.today()),
            base_url,
        )
        .await
        {
            Ok((_, charged)) => {
                db::commit(txn).await?;
                report.charged += charged;
            }
            Err(AppError::Conflict) => {
                tracing::info!(%loan_id, "installments moved meanwhile; left to the next pass");
            }
            Err(err) => return Err(err),
        }
    }
    Ok(report)
}
