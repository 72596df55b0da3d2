//! Penalties as charged (`penalty_accruals`), one row per installment, day
//! and kind, and their running total on the installment
//! (`repayment_schedule.penalty_accrued`), written together.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};

use super::corrupt;
use crate::{
    db::entities::{penalty_accruals, repayment_schedule},
    domain::{
        accrual::{PenaltyAccrual, PenaltyHistory, PenaltyKind},
        ids::{InstallmentId, LoanId},
        installment::InstallmentStatus,
        money::{Currency, Money},
    },
    error::AppError,
};

/// What each of the loan's installments has accrued so far.
///
/// # Errors
/// Database failures; a stored kind or amount that does not parse.
pub async fn history(
    conn: &impl ConnectionTrait,
    loan_id: LoanId,
    currency: Currency,
) -> Result<BTreeMap<InstallmentId, PenaltyHistory>, AppError> {
    use penalty_accruals::Column;
    let rows: Vec<(uuid::Uuid, String, NaiveDate, i64)> = penalty_accruals::Entity::find()
        .select_only()
        .column(Column::InstallmentId)
        .column(Column::Kind)
        .column_as(Column::AccruedOn.max(), "through")
        .column_as(Expr::cust("CAST(SUM(amount) AS BIGINT)"), "total")
        .filter(Column::LoanId.eq(loan_id))
        .group_by(Column::InstallmentId)
        .group_by(Column::Kind)
        .into_tuple()
        .all(conn)
        .await?;
    let mut histories = BTreeMap::new();
    for (installment, kind, through, total) in rows {
        let id = InstallmentId::from_uuid(installment);
        let entry = histories.entry(id).or_insert(PenaltyHistory {
            daily_through: None,
            daily_total: Money::zero(currency),
            late_fee_charged: false,
        });
        match PenaltyKind::parse(&kind) {
            Some(PenaltyKind::Daily) => {
                entry.daily_through = Some(through);
                entry.daily_total = Money::from_minor(total, currency)
                    .map_err(|_| corrupt("penalty accruals of installment", id, "total"))?;
            }
            Some(PenaltyKind::LateFee) => entry.late_fee_charged = true,
            None => return Err(corrupt("penalty accruals of installment", id, "kind")),
        }
    }
    Ok(histories)
}

/// Records `accruals` on the overdue installment `id` and adds them to its
/// running total, conditional on it still being overdue.
///
/// # Errors
/// `Conflict` when the installment is no longer overdue; database failures
/// (a day charged twice breaks the unique key).
pub async fn record(
    conn: &impl ConnectionTrait,
    (loan_id, id): (LoanId, InstallmentId),
    accruals: &[PenaltyAccrual],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if accruals.is_empty() {
        return Ok(());
    }
    let total: i64 = accruals.iter().map(|a| a.amount.minor()).sum();
    let updated = repayment_schedule::Entity::update_many()
        .col_expr(
            repayment_schedule::Column::PenaltyAccrued,
            Expr::col(repayment_schedule::Column::PenaltyAccrued).add(total),
        )
        .col_expr(repayment_schedule::Column::UpdatedAt, Expr::value(now))
        .filter(repayment_schedule::Column::Id.eq(id))
        .filter(repayment_schedule::Column::Status.eq(InstallmentStatus::Overdue.as_str()))
        .exec(conn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::Conflict);
    }
    let rows = accruals.iter().map(|a| penalty_accruals::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        installment_id: Set(id.into()),
        loan_id: Set(loan_id.into()),
        accrued_on: Set(a.on),
        kind: Set(a.kind.as_str().to_owned()),
        base: Set(a.base.minor()),
        amount: Set(a.amount.minor()),
        created_at: Set(now),
    });
    crate::db::insert_all(conn, rows.collect()).await?;
    Ok(())
}

/// One day's penalty on one installment, as the loan page lists them.
#[derive(Debug, Clone)]
pub struct Charged {
    pub installment: InstallmentId,
    pub accrual: PenaltyAccrual,
}

/// The loan's penalties day by day, newest first, at most `limit`.
///
/// # Errors
/// Database failures; a stored row that does not parse.
pub async fn of_loan(
    conn: &impl ConnectionTrait,
    loan_id: LoanId,
    currency: Currency,
    limit: u64,
) -> Result<Vec<Charged>, AppError> {
    use penalty_accruals::Column;
    penalty_accruals::Entity::find()
        .filter(Column::LoanId.eq(loan_id))
        .order_by_desc(Column::AccruedOn)
        .order_by_asc(Column::Kind)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| {
            let bad = |what: &str| corrupt("penalty accrual", row.id, what);
            Ok(Charged {
                installment: InstallmentId::from_uuid(row.installment_id),
                accrual: PenaltyAccrual {
                    on: row.accrued_on,
                    kind: PenaltyKind::parse(&row.kind).ok_or_else(|| bad("kind"))?,
                    base: Money::from_minor(row.base, currency).map_err(|_| bad("base"))?,
                    amount: Money::from_minor(row.amount, currency).map_err(|_| bad("amount"))?,
                },
            })
        })
        .collect()
}
