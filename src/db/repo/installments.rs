//! A loan's repayment schedule as stored: written once at the payout (one
//! statement for every row), read as domain [`Installment`]s, each moved
//! only by its status machine.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{CaseStatement, Expr, ExprTrait},
};

use super::{ROWS_PER_STATEMENT, corrupt, moved, read_in_status};
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

/// The installments of each of `loans` (with its currency), in order, in
/// one query.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn of_loans(
    conn: &impl ConnectionTrait,
    loans: &[(LoanId, Currency)],
) -> Result<BTreeMap<LoanId, Vec<Installment>>, AppError> {
    let currencies: BTreeMap<LoanId, Currency> = loans.iter().copied().collect();
    let mut schedules: BTreeMap<LoanId, Vec<Installment>> = BTreeMap::new();
    for row in repayment_schedule::Entity::find()
        .filter(repayment_schedule::Column::LoanId.is_in(currencies.keys().copied()))
        .order_by_asc(repayment_schedule::Column::LoanId)
        .order_by_asc(repayment_schedule::Column::PaymentNum)
        .all(conn)
        .await?
    {
        let loan_id = LoanId::from_uuid(row.loan_id);
        let currency = *currencies
            .get(&loan_id)
            .ok_or_else(|| corrupt("installment", row.id, "loan"))?;
        schedules
            .entry(loan_id)
            .or_default()
            .push(parse(row, currency)?);
    }
    Ok(schedules)
}

/// The rows of a new schedule for `loan_id`, every one `scheduled`.
///
/// # Errors
/// `Unexpected` for an installment number beyond the column's range.
pub fn schedule_rows(
    loan_id: LoanId,
    rows: &[schedule::Installment],
    now: DateTime<Utc>,
) -> Result<Vec<repayment_schedule::ActiveModel>, AppError> {
    rows.iter()
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
    let models = schedule_rows(loan_id, rows, now)?;
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
    apply_all(conn, &[installment], event, now)
        .await?
        .pop()
        .ok_or(AppError::Conflict)
}

/// Moves every one of `installments` by `event`, as [`apply`] moves one,
/// with one statement per status they are in. Returns their new statuses,
/// in order.
///
/// # Errors
/// As [`apply`]: `Conflict` when any of them moved meanwhile.
pub async fn apply_all(
    conn: &impl ConnectionTrait,
    installments: &[&Installment],
    event: InstallmentEvent,
    now: DateTime<Utc>,
) -> Result<Vec<InstallmentStatus>, AppError> {
    use repayment_schedule::Column;
    let mut by_move: BTreeMap<(&'static str, &'static str), Vec<(uuid::Uuid, &'static str)>> =
        BTreeMap::new();
    let mut statuses = Vec::with_capacity(installments.len());
    for installment in installments {
        let (from, to) = (
            installment.status,
            installment_transition(installment.status, event)
                .map_err(|refused| AppError::Unexpected(refused.into()))?,
        );
        by_move
            .entry((from.as_str(), to.as_str()))
            .or_default()
            .push((installment.id.as_uuid(), from.as_str()));
        statuses.push(to);
    }
    for ((_, to), guards) in by_move {
        for chunk in guards.chunks(ROWS_PER_STATEMENT) {
            let result = repayment_schedule::Entity::update_many()
                .col_expr(Column::Status, Expr::value(to))
                .col_expr(Column::UpdatedAt, Expr::value(now))
                .filter(read_in_status(
                    (Column::Id, Column::Status),
                    chunk.iter().copied(),
                ))
                .exec(conn)
                .await?;
            moved(&result, chunk.len())?;
        }
    }
    Ok(statuses)
}

/// Stores what payments do to installments: adds what each paid, replaces
/// amounts where an allocation recomputed them, and moves each by its
/// change's event, conditional on the status the allocation read. One
/// statement for up to [`ROWS_PER_STATEMENT`] changes.
///
/// # Errors
/// `Unexpected` for a move the status machine refuses; `Conflict` when an
/// installment moved meanwhile; database failures.
pub async fn apply_payments(
    conn: &impl ConnectionTrait,
    changes: &[InstallmentChange],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use repayment_schedule::Column;
    for chunk in changes.chunks(ROWS_PER_STATEMENT) {
        let mut status = CaseStatement::new();
        let mut paid_principal = CaseStatement::new();
        let mut paid_interest = CaseStatement::new();
        let mut penalty_paid = CaseStatement::new();
        let mut principal = CaseStatement::new();
        let mut interest = CaseStatement::new();
        let mut paid_at = CaseStatement::new();
        let (mut new_principal, mut new_interest, mut settled) = (false, false, false);
        let mut guards = Vec::with_capacity(chunk.len());
        for change in chunk {
            let to = installment_transition(change.from, change.event)
                .map_err(|refused| AppError::Unexpected(refused.into()))?;
            let this = || Column::Id.eq(change.id);
            status = status.case(this(), Expr::value(to.as_str()));
            paid_principal =
                paid_principal.case(this(), Expr::value(change.principal_paid.minor()));
            paid_interest = paid_interest.case(this(), Expr::value(change.interest_paid.minor()));
            penalty_paid = penalty_paid.case(this(), Expr::value(change.penalty_paid.minor()));
            if let Some(amount) = change.new_principal {
                principal = principal.case(this(), Expr::value(amount.minor()));
                new_principal = true;
            }
            if let Some(amount) = change.new_interest {
                interest = interest.case(this(), Expr::value(amount.minor()));
                new_interest = true;
            }
            if to == InstallmentStatus::Paid {
                paid_at = paid_at.case(this(), Expr::value(Some(now)));
                settled = true;
            }
            guards.push((change.id.as_uuid(), change.from.as_str()));
        }
        let added = |column: Column, case: CaseStatement| -> Expr {
            let case: Expr = case.finally(Expr::value(0_i64)).into();
            Expr::col(column).add(case)
        };
        let mut update = repayment_schedule::Entity::update_many()
            .col_expr(
                Column::Status,
                status.finally(Expr::col(Column::Status)).into(),
            )
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .col_expr(
                Column::PaidPrincipal,
                added(Column::PaidPrincipal, paid_principal),
            )
            .col_expr(
                Column::PaidInterest,
                added(Column::PaidInterest, paid_interest),
            )
            .col_expr(
                Column::PenaltyPaid,
                added(Column::PenaltyPaid, penalty_paid),
            );
        if new_principal {
            update = update.col_expr(
                Column::Principal,
                principal.finally(Expr::col(Column::Principal)).into(),
            );
        }
        if new_interest {
            update = update.col_expr(
                Column::Interest,
                interest.finally(Expr::col(Column::Interest)).into(),
            );
        }
        if settled {
            update = update.col_expr(
                Column::PaidAt,
                paid_at.finally(Expr::col(Column::PaidAt)).into(),
            );
        }
        let result = update
            .filter(read_in_status((Column::Id, Column::Status), guards))
            .exec(conn)
            .await?;
        moved(&result, chunk.len())?;
    }
    Ok(())
}
