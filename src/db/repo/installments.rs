//! A loan's repayment schedule as stored: written once at the payout (one
//! statement for every row), read as domain [`Installment`]s, each moved
//! only by its status machine.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait},
};

use super::corrupt;
use crate::{
    db::entities::repayment_schedule,
    domain::{
        ids::{InstallmentId, LoanId},
        installment::{Installment, InstallmentEvent, InstallmentStatus, installment_transition},
        money::{Currency, Money},
        repayment::InstallmentChange,
        schedule,
    },
    error::AppError,
};

/// The domain's installment of a stored row, in its loan's `currency`.
///
/// # Errors
/// `Unexpected`, naming the row, for a value the domain refuses.
pub fn parse(row: repayment_schedule::Model, currency: Currency) -> Result<Installment, AppError> {
    let bad = |what: &str| corrupt("installment", row.id, what);
    let money = |minor: i64, what: &str| Money::from_minor(minor, currency).map_err(|_| bad(what));
    Ok(Installment {
        id: InstallmentId::from_uuid(row.id),
        loan_id: LoanId::from_uuid(row.loan_id),
        number: u32::try_from(row.payment_num).map_err(|_| bad("number"))?,
        due_date: row.due_date,
        principal: money(row.principal, "principal")?,
        interest: money(row.interest, "interest")?,
        paid_principal: money(row.paid_principal, "paid principal")?,
        paid_interest: money(row.paid_interest, "paid interest")?,
        penalty_accrued: money(row.penalty_accrued, "penalty accrued")?,
        penalty_paid: money(row.penalty_paid, "penalty paid")?,
        status: InstallmentStatus::parse(&row.status).ok_or_else(|| bad("status"))?,
        paid_at: row.paid_at,
    })
}

/// The loan's installments in order.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn of_loan(
    conn: &impl ConnectionTrait,
    loan_id: LoanId,
    currency: Currency,
) -> Result<Vec<Installment>, AppError> {
    repayment_schedule::Entity::find()
        .filter(repayment_schedule::Column::LoanId.eq(loan_id))
        .order_by_asc(repayment_schedule::Column::PaymentNum)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| parse(row, currency))
        .collect()
}

/// Stores a new schedule for `loan_id`, every row `scheduled`, in one statement.
///
/// # Errors
/// Database failures (a schedule stored twice breaks the unique key).
pub async fn insert_schedule(
    conn: &impl ConnectionTrait,
    loan_id: LoanId,
    rows: &[schedule::Installment],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let models = rows
        .iter()
        .map(|row| {
            Ok(repayment_schedule::ActiveModel {
                id: Set(InstallmentId::new().into()),
                loan_id: Set(loan_id.into()),
                payment_num: Set(i32::try_from(row.number)
                    .map_err(|_| anyhow::anyhow!("installment number {}", row.number))?),
                due_date: Set(row.due_date),
                principal: Set(row.principal.minor()),
                interest: Set(row.interest.minor()),
                paid_principal: Set(0),
                paid_interest: Set(0),
                penalty_accrued: Set(0),
                penalty_paid: Set(0),
                status: Set(InstallmentStatus::Scheduled.as_str().to_owned()),
                paid_at: Set(None),
                reminded_on: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    if models.is_empty() {
        return Ok(());
    }
    repayment_schedule::Entity::insert_many(models)
        .exec(conn)
        .await?;
    Ok(())
}

/// Moves `installment` by `event` (its status machine decides), with a
/// conditional update on the status read: a job run twice for one day, or
/// two instances at once, move it once. Returns its new status.
///
/// # Errors
/// `Unexpected` for a move the status machine refuses (the use case checks
/// first); `Conflict` when it moved meanwhile; database failures.
pub async fn apply(
    conn: &impl ConnectionTrait,
    installment: &Installment,
    event: InstallmentEvent,
    now: DateTime<Utc>,
) -> Result<InstallmentStatus, AppError> {
    let to = installment_transition(installment.status, event)
        .map_err(|refused| AppError::Unexpected(refused.into()))?;
    let result = repayment_schedule::Entity::update_many()
        .col_expr(repayment_schedule::Column::Status, Expr::value(to.as_str()))
        .col_expr(repayment_schedule::Column::UpdatedAt, Expr::value(now))
        .filter(repayment_schedule::Column::Id.eq(installment.id))
        .filter(repayment_schedule::Column::Status.eq(installment.status.as_str()))
        .exec(conn)
        .await?;
    if result.rows_affected == 1 {
        Ok(to)
    } else {
        Err(AppError::Conflict)
    }
}

/// Stores what a payment does to one installment: adds what it paid, replaces
/// its amounts where the allocation recomputed them, and moves it by the
/// change's event, conditional on the status the allocation read.
///
/// # Errors
/// `Unexpected` for a move the status machine refuses; `Conflict` when the
/// installment moved meanwhile; database failures.
pub async fn apply_payment(
    conn: &impl ConnectionTrait,
    change: &InstallmentChange,
    now: DateTime<Utc>,
) -> Result<InstallmentStatus, AppError> {
    use repayment_schedule::Column;
    let to = installment_transition(change.from, change.event)
        .map_err(|refused| AppError::Unexpected(refused.into()))?;
    let mut update = repayment_schedule::Entity::update_many()
        .col_expr(Column::Status, Expr::value(to.as_str()))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .col_expr(
            Column::PaidPrincipal,
            Expr::col(Column::PaidPrincipal).add(change.principal_paid.minor()),
        )
        .col_expr(
            Column::PaidInterest,
            Expr::col(Column::PaidInterest).add(change.interest_paid.minor()),
        )
        .col_expr(
            Column::PenaltyPaid,
            Expr::col(Column::PenaltyPaid).add(change.penalty_paid.minor()),
        );
    if let Some(principal) = change.new_principal {
        update = update.col_expr(Column::Principal, Expr::value(principal.minor()));
    }
    if let Some(interest) = change.new_interest {
        update = update.col_expr(Column::Interest, Expr::value(interest.minor()));
    }
    if to == InstallmentStatus::Paid {
        update = update.col_expr(Column::PaidAt, Expr::value(Some(now)));
    }
    let result = update
        .filter(Column::Id.eq(change.id))
        .filter(Column::Status.eq(change.from.as_str()))
        .exec(conn)
        .await?;
    if result.rows_affected == 1 {
        Ok(to)
    } else {
        Err(AppError::Conflict)
    }
}
