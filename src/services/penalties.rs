//! Late payment (DESIGN.md section 7): penalties charged on a loan's overdue
//! installments through a day, by the `penalties` job each day and by every
//! payment first (so a payment made before the job ran pays the penalties
//! of the days before it, and each day is charged on what was unpaid that
//! day). Always inside the caller's transaction, after the loan's lock.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use url::Url;

use crate::{
    db::repo::{penalties, users},
    domain::{
        accrual::{PenaltyAccrual, PenaltyHistory, PenaltyTerms, penalties_due},
        ids::InstallmentId,
        installment::{Installment, InstallmentStatus},
        loan::Loan,
        money::Money,
        repayment::overdue_base,
        settings::Settings,
    },
    error::AppError,
    mail::messages::PenaltyStarted,
    paths,
    services::outbox,
};

/// The settings' penalty terms, in the loan's currency.
#[must_use]
pub fn terms(settings: &Settings) -> PenaltyTerms {
    PenaltyTerms {
        daily: settings.penalty_daily,
        cap: settings.penalty_cap,
        late_fee: settings.late_fee,
    }
}

/// Penalties one installment has not been charged yet through a day.
#[derive(Debug, Clone)]
pub struct Pending {
    pub installment: InstallmentId,
    pub accruals: Vec<PenaltyAccrual>,
    /// Whether these are the installment's first penalties.
    pub first: bool,
    /// What the installment has unpaid (principal and interest).
    pub base: Money,
}

/// What the loan's overdue installments `rows` would be charged through
/// `today` that is not yet charged.
///
/// # Errors
/// Database failures; amounts out of range.
pub async fn pending(
    conn: &impl ConnectionTrait,
    loan: &Loan,
    settings: &Settings,
    rows: &[Installment],
    today: NaiveDate,
) -> Result<Vec<Pending>, AppError> {
    let currency = loan.currency();
    if !rows
        .iter()
        .any(|row| row.status == InstallmentStatus::Overdue)
    {
        return Ok(Vec::new());
    }
    let mut terms = terms(settings);
    if terms.late_fee.currency() != currency {
        terms.late_fee = Money::zero(currency);
    }
    let histories = penalties::history(conn, loan.id, currency).await?;
    let mut pending = Vec::new();
    for row in rows {
        let history = histories
            .get(&row.id)
            .copied()
            .unwrap_or_else(|| PenaltyHistory::none(currency));
        let accruals = penalties_due(row, &history, &terms, today).map_err(|err| {
            AppError::unexpected(anyhow::anyhow!("installment {}: {err}", row.id))
        })?;
        if !accruals.is_empty() {
            pending.push(Pending {
                installment: row.id,
                accruals,
                first: !histories.contains_key(&row.id),
                base: overdue_base(row).map_err(AppError::unexpected)?,
            });
        }
    }
    Ok(pending)
}

/// `rows` as they will stand once `pending` is charged.
///
/// # Errors
/// Amounts out of range.
pub fn add_pending(rows: &mut [Installment], pending: &[Pending]) -> Result<(), AppError> {
    for charge in pending {
        if let Some(row) = rows.iter_mut().find(|row| row.id == charge.installment) {
            for accrual in &charge.accruals {
                row.penalty_accrued = row
                    .penalty_accrued
                    .checked_add(accrual.amount)
                    .map_err(AppError::unexpected)?;
            }
        }
    }
    Ok(())
}

/// Charges the locked `loan`'s overdue installments (`rows`, its whole
/// schedule as read under the lock) their penalties through `today`; the
/// borrower is told when an installment's first penalty is charged.
/// Returns the rows as they now stand, and how many were charged.
///
/// # Errors
/// Database failures; `Conflict` when an installment moved meanwhile.
pub async fn accrue(
    txn: &impl ConnectionTrait,
    loan: &Loan,
    mut rows: Vec<Installment>,
    settings: &Settings,
    (now, today): (DateTime<Utc>, NaiveDate),
    base_url: &Url,
) -> Result<(Vec<Installment>, u32), AppError> {
    let pending = pending(txn, loan, settings, &rows, today).await?;
    let mut overdue = Money::zero(loan.currency());
    for charge in &pending {
        penalties::record(txn, (loan.id, charge.installment), &charge.accruals, now).await?;
        overdue = overdue
            .checked_add(charge.base)
            .map_err(AppError::unexpected)?;
    }
    if pending.iter().any(|charge| charge.first) {
        let borrower = users::get(txn, loan.borrower_id).await?;
        outbox::enqueue(
            txn,
            now,
            borrower.email.as_str(),
            &PenaltyStarted {
                full_name: borrower.full_name.clone(),
                loan_url: outbox::link(base_url, &paths::borrower_loan(loan.id)),
                overdue,
                late_fee: terms(settings).late_fee,
                daily: settings.penalty_daily,
            },
        )
        .await?;
    }
    add_pending(&mut rows, &pending)?;
    Ok((rows, u32::try_from(pending.len()).unwrap_or(u32::MAX)))
}
