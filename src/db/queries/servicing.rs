//! A paid-out loan's history as its pages show it: the payments received,
//! the schedules a prepayment replaced, and what each of an investment's
//! payments and the reserve fund brought its holder.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
    sea_query::Expr,
};

use crate::{
    db::{
        entities::{
            distributions, loan_payments, loan_requests, repayment_schedule, reserve_fund_events,
            schedule_versions, users,
        },
        repo::corrupt,
    },
    domain::{
        ids::{InvestmentId, LoanId},
        installment::InstallmentStatus,
        lifecycle::LoanStatus,
        money::{Currency, Money},
        recovery::ReserveEventKind,
        repayment::LoanPaymentKind,
    },
    error::AppError,
};

/// One amount received for a loan.
#[derive(Debug, Clone)]
pub struct PaymentLine {
    pub paid_on: NaiveDate,
    pub kind: LoanPaymentKind,
    pub amount: Money,
    pub penalty: Money,
    pub interest: Money,
    pub principal: Money,
    pub prepaid_principal: Money,
    pub reserve_repaid: Money,
    pub fee: Money,
}

/// The loan's payments, newest first.
///
/// # Errors
/// Database failures; a stored amount out of range.
pub async fn payments(
    conn: &impl ConnectionTrait,
    loan_id: LoanId,
    currency: Currency,
) -> Result<Vec<PaymentLine>, AppError> {
    loan_payments::Entity::find()
        .filter(loan_payments::Column::LoanId.eq(loan_id))
        .order_by_desc(loan_payments::Column::CreatedAt)
        .order_by_desc(loan_payments::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| {
            let money = |minor: i64| {
                Money::from_minor(minor, currency)
                    .map_err(|_| corrupt("loan payment", row.id, "amount"))
            };
            Ok(PaymentLine {
                paid_on: row.paid_on,
                amount: money(row.amount)?,
                penalty: money(row.penalty)?,
                interest: money(row.interest)?,
                principal: money(row.principal)?,
                prepaid_principal: money(row.prepaid_principal)?,
                reserve_repaid: money(row.reserve_repaid)?,
                fee: money(row.fee)?,
                kind: LoanPaymentKind::parse(&row.kind)
                    .ok_or_else(|| corrupt("loan payment", row.id, "kind"))?,
            })
        })
        .collect()
}

/// One installment of a replaced schedule.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ReplacedRow {
    pub number: u32,
    pub due_date: NaiveDate,
    pub principal: i64,
    pub interest: i64,
}

/// A schedule a prepayment replaced.
#[derive(Debug, Clone)]
pub struct ScheduleVersion {
    pub version: i32,
    pub replaced_at: DateTime<Utc>,
    pub rows: Vec<ReplacedRow>,
}

/// The loan's replaced schedules, newest first.
///
/// # Errors
/// Database failures; stored rows that do not parse.
pub async fn versions(
    conn: &impl ConnectionTrait,
    loan_id: LoanId,
) -> Result<Vec<ScheduleVersion>, AppError> {
    schedule_versions::Entity::find()
        .filter(schedule_versions::Column::LoanId.eq(loan_id))
        .order_by_desc(schedule_versions::Column::Version)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| {
            Ok(ScheduleVersion {
                version: row.version,
                replaced_at: row.created_at,
                rows: serde_json::from_str(&row.installments)
                    .map_err(|_| corrupt("schedule version", row.id, "installments"))?,
            })
        })
        .collect()
}

/// What one payment brought an investment's holder, or what the reserve
/// fund paid for it.
#[derive(Debug, Clone)]
pub struct CashFlow {
    pub on: NaiveDate,
    /// The payment it came from; `None` for the reserve fund's payout.
    pub kind: Option<LoanPaymentKind>,
    pub principal: Money,
    pub interest: Money,
    pub penalty: Money,
    pub fee: Money,
}

impl CashFlow {
    /// What reached the holder's wallet.
    #[must_use]
    pub fn net(&self) -> Money {
        let minor = self.principal.minor() + self.interest.minor() + self.penalty.minor()
            - self.fee.minor();
        Money::from_minor(minor, self.principal.currency())
            .unwrap_or_else(|_| Money::zero(self.principal.currency()))
    }
}

/// Every amount an investment's holder received, newest first: its
/// distributions and the reserve fund's payouts.
///
/// # Errors
/// Database failures; a stored amount out of range.
pub async fn cash_flows(
    conn: &impl ConnectionTrait,
    investment: InvestmentId,
    currency: Currency,
) -> Result<Vec<CashFlow>, AppError> {
    let rows: Vec<(distributions::Model, Option<loan_payments::Model>)> =
        distributions::Entity::find()
            .find_also_related(loan_payments::Entity)
            .filter(distributions::Column::InvestmentId.eq(investment))
            .all(conn)
            .await?;
    let money = |minor: i64, id: uuid::Uuid| {
        Money::from_minor(minor, currency).map_err(|_| corrupt("distribution", id, "amount"))
    };
    let mut flows = Vec::with_capacity(rows.len());
    for (row, payment) in rows {
        let payment = payment.ok_or_else(|| corrupt("distribution", row.id, "payment"))?;
        flows.push((
            row.created_at,
            CashFlow {
                on: payment.paid_on,
                kind: Some(
                    LoanPaymentKind::parse(&payment.kind)
                        .ok_or_else(|| corrupt("loan payment", payment.id, "kind"))?,
                ),
                principal: money(row.principal, row.id)?,
                interest: money(row.interest, row.id)?,
                penalty: money(row.penalty, row.id)?,
                fee: money(row.fee, row.id)?,
            },
        ));
    }
    let zero = Money::zero(currency);
    for event in reserve_fund_events::Entity::find()
        .filter(reserve_fund_events::Column::InvestmentId.eq(investment))
        .filter(reserve_fund_events::Column::Kind.eq(ReserveEventKind::Covered.as_str()))
        .all(conn)
        .await?
    {
        flows.push((
            event.created_at,
            CashFlow {
                on: event.created_at.date_naive(),
                kind: None,
                principal: money(event.amount, event.id)?,
                interest: zero,
                penalty: zero,
                fee: zero,
            },
        ));
    }
    flows.sort_by_key(|flow| std::cmp::Reverse(flow.0));
    Ok(flows.into_iter().map(|(_, flow)| flow).collect())
}

/// A loan being repaid with overdue installments.
#[derive(Debug, Clone)]
pub struct Arrears {
    pub loan_id: LoanId,
    pub borrower: String,
    /// The oldest unpaid due date.
    pub oldest_due: NaiveDate,
    /// Principal, interest and penalties overdue.
    pub overdue: Money,
}

/// Every loan being repaid that has overdue installments, most overdue first.
///
/// # Errors
/// Database failures; a stored amount out of range.
pub async fn arrears(conn: &impl ConnectionTrait) -> Result<Vec<Arrears>, AppError> {
    use repayment_schedule::Column;
    let rows: Vec<(uuid::Uuid, NaiveDate, i64, String, String, String)> =
        repayment_schedule::Entity::find()
            .select_only()
            .column(Column::LoanId)
            .column_as(Column::DueDate.min(), "oldest_due")
            .column_as(
                Expr::cust(
                    "CAST(SUM(repayment_schedule.principal + repayment_schedule.interest \
                     - repayment_schedule.paid_principal - repayment_schedule.paid_interest \
                     + repayment_schedule.penalty_accrued - repayment_schedule.penalty_paid) AS BIGINT)",
                ),
                "overdue",
            )
            .column_as(Expr::col((loan_requests::Entity, loan_requests::Column::Currency)), "currency")
            .column_as(Expr::col((users::Entity, users::Column::FullName)), "full_name")
            .column_as(Expr::col((users::Entity, users::Column::Email)), "email")
            .inner_join(loan_requests::Entity)
            .join(
                sea_orm::JoinType::InnerJoin,
                loan_requests::Relation::Borrower.def(),
            )
            .filter(Column::Status.eq(InstallmentStatus::Overdue.as_str()))
            .filter(loan_requests::Column::Status.eq(LoanStatus::Active.as_str()))
            .group_by(Column::LoanId)
            .group_by(loan_requests::Column::Currency)
            .group_by(users::Column::FullName)
            .group_by(users::Column::Email)
            .order_by_asc(Expr::cust("oldest_due"))
            .into_tuple()
            .all(conn)
            .await?;
    rows.into_iter()
        .map(|(loan_id, oldest_due, overdue, currency, name, email)| {
            let currency =
                Currency::parse(&currency).ok_or_else(|| corrupt("loan", loan_id, "currency"))?;
            Ok(Arrears {
                loan_id: LoanId::from_uuid(loan_id),
                borrower: format!("{name} <{email}>"),
                oldest_due,
                overdue: Money::from_minor(overdue, currency)
                    .map_err(|_| corrupt("loan", loan_id, "overdue amount"))?,
            })
        })
        .collect()
}
