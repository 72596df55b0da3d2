//! Investments: read as domain [`Investment`]s (in their loan's currency),
//! created as commitments, reduced, and moved only by the investment's
//! status machine with conditional updates on the status read.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait},
};

use super::{corrupt, loans, moved};
use crate::{
    db::entities::{investments, loan_requests},
    domain::{
        ids::{InvestmentId, LoanId, UserId},
        investment::{
            Investment, InvestmentEvent, InvestmentSource, InvestmentStatus, investment_transition,
        },
        loan::Loan,
        money::{Currency, Money},
    },
    error::AppError,
    paths,
};

/// The domain's investment of a stored row, in its loan's `currency`.
///
/// # Errors
/// `Unexpected`, naming the investment, for a value the domain refuses.
pub fn parse(row: investments::Model, currency: Currency) -> Result<Investment, AppError> {
    let bad = |what: &str| corrupt("investment", row.id, what);
    Ok(Investment {
        id: InvestmentId::from_uuid(row.id),
        investor_id: UserId::from_uuid(row.investor_id),
        loan_id: LoanId::from_uuid(row.loan_id),
        amount: Money::from_minor(row.amount, currency).map_err(|_| bad("amount"))?,
        status: InvestmentStatus::parse(&row.status).ok_or_else(|| bad("status"))?,
        source: InvestmentSource::parse(&row.source).ok_or_else(|| bad("source"))?,
        accepted_at: row.accepted_at,
        agreement_hash: row.agreement_hash,
        created_at: row.created_at,
    })
}

/// The loan's investments in `statuses`, earliest first (the order that
/// breaks ties in every pro-rata split).
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn of_loan(
    conn: &impl ConnectionTrait,
    loan: &Loan,
    statuses: &[InvestmentStatus],
) -> Result<Vec<Investment>, AppError> {
    Ok(of_loans(conn, &[loan], statuses)
        .await?
        .remove(&loan.id)
        .unwrap_or_default())
}

/// The investments in `statuses` of each of `loans`, earliest first, in one
/// query.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn of_loans(
    conn: &impl ConnectionTrait,
    loans: &[&Loan],
    statuses: &[InvestmentStatus],
) -> Result<BTreeMap<LoanId, Vec<Investment>>, AppError> {
    let currencies: BTreeMap<LoanId, Currency> = loans
        .iter()
        .map(|loan| (loan.id, loan.currency()))
        .collect();
    let mut stakes: BTreeMap<LoanId, Vec<Investment>> = BTreeMap::new();
    for row in investments::Entity::find()
        .filter(investments::Column::LoanId.is_in(currencies.keys().copied()))
        .filter(investments::Column::Status.is_in(InvestmentStatus::words(statuses)))
        .order_by_asc(investments::Column::CreatedAt)
        .order_by_asc(investments::Column::Id)
        .all(conn)
        .await?
    {
        let loan_id = LoanId::from_uuid(row.loan_id);
        let currency = *currencies
            .get(&loan_id)
            .ok_or_else(|| corrupt("investment", row.id, "loan"))?;
        stakes
            .entry(loan_id)
            .or_default()
            .push(parse(row, currency)?);
    }
    Ok(stakes)
}

/// An investment with its loan, whoever holds it.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn with_loan(
    conn: &impl ConnectionTrait,
    id: InvestmentId,
) -> Result<Option<(Investment, Loan)>, AppError> {
    let Some((row, Some(loan))) = investments::Entity::find_by_id(id.as_uuid())
        .find_also_related(loan_requests::Entity)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let loan = loans::parse(loan)?;
    Ok(Some((parse(row, loan.currency())?, loan)))
}

/// One of `investor`'s investments with its loan; someone else's reads
/// exactly like one that does not exist.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn owned_by(
    conn: &impl ConnectionTrait,
    investor: UserId,
    id: InvestmentId,
) -> Result<Option<(Investment, Loan)>, AppError> {
    Ok(with_loan(conn, id)
        .await?
        .filter(|(investment, _)| investment.investor_id == investor))
}

/// A new commitment, reserved: `pending`.
#[derive(Debug, Clone)]
pub struct NewCommitment {
    /// Chosen before the work, so the submission's key can name it first.
    pub id: InvestmentId,
    pub investor_id: UserId,
    pub loan_id: LoanId,
    pub amount: Money,
    pub source: InvestmentSource,
    pub at: DateTime<Utc>,
}

/// Records a commitment; returns it as stored.
///
/// # Errors
/// Database failures.
pub async fn insert(
    conn: &impl ConnectionTrait,
    new: NewCommitment,
) -> Result<Investment, AppError> {
    let currency = new.amount.currency();
    let stored = row(new).insert(conn).await?;
    parse(stored, currency)
}

/// Records many commitments at once (e.g. an auto-invest allocation).
///
/// # Errors
/// Database failures.
pub async fn insert_all(
    conn: &impl ConnectionTrait,
    commitments: &[NewCommitment],
) -> Result<(), AppError> {
    let rows = commitments
        .iter()
        .map(|new| row(new.clone()))
        .collect::<Vec<_>>();
    crate::db::insert_all(conn, rows).await?;
    Ok(())
}

fn row(new: NewCommitment) -> investments::ActiveModel {
    investments::ActiveModel {
        id: Set(new.id.into()),
        investor_id: Set(new.investor_id.into()),
        loan_id: Set(new.loan_id.into()),
        amount: Set(new.amount.minor()),
        status: Set(InvestmentStatus::Pending.as_str().to_owned()),
        source: Set(new.source.as_str().to_owned()),
        agreement_hash: Set(None),
        agreement_path: Set(None),
        accepted_at: Set(new.at),
        created_at: Set(new.at),
        updated_at: Set(new.at),
    }
}

/// Lowers an open commitment to `to`.
///
/// # Errors
/// `Conflict` when it is no longer the commitment read; database failures.
pub async fn reduce(
    conn: &impl ConnectionTrait,
    investment: &Investment,
    to: Money,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let result = investments::Entity::update_many()
        .col_expr(investments::Column::Amount, Expr::value(to.minor()))
        .col_expr(investments::Column::UpdatedAt, Expr::value(now))
        .filter(investments::Column::Id.eq(investment.id))
        .filter(investments::Column::Status.eq(InvestmentStatus::Pending.as_str()))
        .filter(investments::Column::Amount.eq(investment.amount.minor()))
        .exec(conn)
        .await?;
    one_row(result.rows_affected)
}

/// Moves `investment` by `event`; returns its new status.
///
/// # Errors
/// `Unexpected` for a move the status machine refuses (the use case checks
/// first); `Conflict` when it moved meanwhile; database failures.
pub async fn apply(
    conn: &impl ConnectionTrait,
    investment: &Investment,
    event: InvestmentEvent,
    now: DateTime<Utc>,
) -> Result<InvestmentStatus, AppError> {
    let to = next(investment.status, event)?;
    let result = investments::Entity::update_many()
        .col_expr(investments::Column::Status, Expr::value(to.as_str()))
        .col_expr(investments::Column::UpdatedAt, Expr::value(now))
        .filter(investments::Column::Id.eq(investment.id))
        .filter(investments::Column::Status.eq(investment.status.as_str()))
        .exec(conn)
        .await?;
    one_row(result.rows_affected)?;
    Ok(to)
}

/// Moves every investment of `loan_id` in status `from` by `event`, at once;
/// `expected` is how many the use case read under its locks.
///
/// # Errors
/// `Conflict` when another number moved; as [`apply`] otherwise.
pub async fn apply_to_loan(
    conn: &impl ConnectionTrait,
    loan_id: LoanId,
    from: InvestmentStatus,
    event: InvestmentEvent,
    expected: usize,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    apply_to_loans(conn, &[loan_id], (from, event), expected, now).await
}

/// Moves every investment of `loans` in status `from` by `event`, at once;
/// `expected` is how many the use case read under its locks, all loans
/// together.
///
/// # Errors
/// As [`apply_to_loan`].
pub async fn apply_to_loans(
    conn: &impl ConnectionTrait,
    loans: &[LoanId],
    (from, event): (InvestmentStatus, InvestmentEvent),
    expected: usize,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let to = next(from, event)?;
    let result = investments::Entity::update_many()
        .col_expr(investments::Column::Status, Expr::value(to.as_str()))
        .col_expr(investments::Column::UpdatedAt, Expr::value(now))
        .filter(investments::Column::LoanId.is_in(loans.iter().copied()))
        .filter(investments::Column::Status.eq(from.as_str()))
        .exec(conn)
        .await?;
    moved(&result, expected)
}

/// Pays out an open commitment: it becomes `active` with its agreement's
/// fingerprint.
///
/// # Errors
/// As [`apply`].
pub async fn disburse(
    conn: &impl ConnectionTrait,
    investment: &Investment,
    agreement_sha256: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let to = next(investment.status, InvestmentEvent::Disburse)?;
    let result = investments::Entity::update_many()
        .col_expr(investments::Column::Status, Expr::value(to.as_str()))
        .col_expr(
            investments::Column::AgreementHash,
            Expr::value(agreement_sha256),
        )
        .col_expr(
            investments::Column::AgreementPath,
            Expr::value(paths::agreement(investment.id)),
        )
        .col_expr(investments::Column::UpdatedAt, Expr::value(now))
        .filter(investments::Column::Id.eq(investment.id))
        .filter(investments::Column::Status.eq(investment.status.as_str()))
        .exec(conn)
        .await?;
    one_row(result.rows_affected)
}

/// Hands a whole active stake to `buyer` (a sale of all it holds): the
/// stake, its history of distributions (each row keeps who received it)
/// and its place in the loan stay; it is now the buyer's, bought on the
/// secondary market, without the seller's agreement.
///
/// # Errors
/// `Conflict` when it is no longer the seller's active stake; database
/// failures.
pub async fn transfer(
    conn: &impl ConnectionTrait,
    investment: &Investment,
    buyer: UserId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let result = investments::Entity::update_many()
        .col_expr(
            investments::Column::InvestorId,
            Expr::value(buyer.as_uuid()),
        )
        .col_expr(
            investments::Column::Source,
            Expr::value(InvestmentSource::Secondary.as_str()),
        )
        .col_expr(
            investments::Column::AgreementHash,
            Expr::value(None::<String>),
        )
        .col_expr(
            investments::Column::AgreementPath,
            Expr::value(None::<String>),
        )
        .col_expr(investments::Column::AcceptedAt, Expr::value(now))
        .col_expr(investments::Column::UpdatedAt, Expr::value(now))
        .filter(investments::Column::Id.eq(investment.id))
        .filter(investments::Column::InvestorId.eq(investment.investor_id))
        .filter(investments::Column::Status.eq(InvestmentStatus::Active.as_str()))
        .exec(conn)
        .await?;
    one_row(result.rows_affected)
}

/// Takes `principal` out of an active stake (a partial sale): its amount
/// falls by it, so what it holds (amount less principal returned) falls by
/// it too, and the buyer's new stake ([`insert_bought`]) holds it.
///
/// # Errors
/// `Conflict` when it is no longer that active stake; database failures.
pub async fn sell_part(
    conn: &impl ConnectionTrait,
    investment: &Investment,
    principal: Money,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let result = investments::Entity::update_many()
        .col_expr(
            investments::Column::Amount,
            Expr::col(investments::Column::Amount).sub(principal.minor()),
        )
        .col_expr(investments::Column::UpdatedAt, Expr::value(now))
        .filter(investments::Column::Id.eq(investment.id))
        .filter(investments::Column::Amount.eq(investment.amount.minor()))
        .filter(investments::Column::Status.eq(InvestmentStatus::Active.as_str()))
        .exec(conn)
        .await?;
    one_row(result.rows_affected)
}

/// Records a stake bought on the secondary market: active at once.
///
/// # Errors
/// Database failures.
pub async fn insert_bought(
    conn: &impl ConnectionTrait,
    new: NewCommitment,
) -> Result<(), AppError> {
    let mut bought = row(new);
    bought.status = Set(InvestmentStatus::Active.as_str().to_owned());
    bought.insert(conn).await?;
    Ok(())
}

fn next(from: InvestmentStatus, event: InvestmentEvent) -> Result<InvestmentStatus, AppError> {
    investment_transition(from, event).map_err(|refused| AppError::Unexpected(refused.into()))
}

fn one_row(rows_affected: u64) -> Result<(), AppError> {
    if rows_affected == 1 {
        Ok(())
    } else {
        Err(AppError::Conflict)
    }
}
