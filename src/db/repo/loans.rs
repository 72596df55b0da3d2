//! Loans (`loan_requests`): one row read as a domain [`Loan`], locked for a
//! use case that changes it, moved only by the lifecycle's `transition` with
//! a conditional update on the status it read.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};

use super::{corrupt, moved, read_in_status};
use crate::{
    db::entities::loan_requests,
    domain::{
        application::{ListingMode, Purpose},
        error::DomainError,
        ids::{LoanId, UserId},
        lifecycle::{LoanEvent, LoanStatus, transition},
        loan::Loan,
        money::{Currency, Money, Rate},
        scoring::Grade,
    },
    error::AppError,
};

/// The domain's loan of a stored row.
///
/// # Errors
/// `Unexpected`, naming the loan, for a value the domain refuses.
pub fn parse(row: loan_requests::Model) -> Result<Loan, AppError> {
    let bad = |what: &str| corrupt("loan", row.id, what);
    let currency = Currency::parse(&row.currency).ok_or_else(|| bad("currency"))?;
    let money = |minor: i64, what: &str| Money::from_minor(minor, currency).map_err(|_| bad(what));
    let count = |value: i32, what: &str| u32::try_from(value).map_err(|_| bad(what));
    let rate = row
        .rate_annual
        .map(|bps| {
            u32::try_from(bps)
                .ok()
                .and_then(|bps| Rate::from_bps(bps).ok())
                .ok_or_else(|| bad("rate"))
        })
        .transpose()?;
    let grade = row
        .risk_grade
        .as_deref()
        .map(|g| Grade::parse(g).ok_or_else(|| bad("grade")))
        .transpose()?;
    Ok(Loan {
        id: LoanId::from_uuid(row.id),
        borrower_id: UserId::from_uuid(row.borrower_id),
        amount: money(row.amount, "amount")?,
        funded: money(row.funded_amount, "funded amount")?,
        requested_amount: money(row.requested_amount, "requested amount")?,
        term_months: count(row.term_months, "term")?,
        requested_term_months: count(row.requested_term_months, "requested term")?,
        rate,
        status: LoanStatus::parse(&row.status).ok_or_else(|| bad("status"))?,
        grade,
        score: row.scoring_score.map(|s| count(s, "score")).transpose()?,
        purpose: Purpose::parse(&row.purpose).ok_or_else(|| bad("purpose"))?,
        listing_mode: ListingMode::parse(&row.listing_mode).ok_or_else(|| bad("listing mode"))?,
        description: row.description,
        funding_deadline: row.funding_deadline,
        listed_at: row.listed_at,
        funded_at: row.funded_at,
        disbursed_at: row.disbursed_at,
        closed_at: row.closed_at,
        rejection_reason: row.rejection_reason,
        default_reason: row.default_reason,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// The loan `id`, if there is one.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn find(conn: &impl ConnectionTrait, id: LoanId) -> Result<Option<Loan>, AppError> {
    loan_requests::Entity::find_by_id(id.as_uuid())
        .one(conn)
        .await?
        .map(parse)
        .transpose()
}

/// The loan `id`.
///
/// # Errors
/// `NotFound`; database failures; a row that does not parse.
pub async fn get(conn: &impl ConnectionTrait, id: LoanId) -> Result<Loan, AppError> {
    find(conn, id).await?.ok_or(AppError::NotFound)
}

/// Reads the loan for a use case that will change it: locked until the
/// transaction ends on PostgreSQL (`FOR UPDATE`; SQLite's write transaction
/// already holds the database, and sea-query leaves the clause out there).
///
/// # Errors
/// `NotFound`; database failures; a row that does not parse.
pub async fn lock(conn: &impl ConnectionTrait, id: LoanId) -> Result<Loan, AppError> {
    loan_requests::Entity::find_by_id(id.as_uuid())
        .lock_exclusive()
        .one(conn)
        .await?
        .map(parse)
        .transpose()?
        .ok_or(AppError::NotFound)
}

/// Reads and locks the loans `ids` that exist, in id order (the platform's
/// lock order for loans), as [`lock`] does one.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn lock_many(conn: &impl ConnectionTrait, ids: &[LoanId]) -> Result<Vec<Loan>, AppError> {
    loan_requests::Entity::find()
        .filter(loan_requests::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(loan_requests::Column::Id)
        .lock_exclusive()
        .all(conn)
        .await?
        .into_iter()
        .map(parse)
        .collect()
}

/// The borrowers of the loans `ids` (a plain read: a use case about to
/// lock them takes their borrowers' wallets first).
///
/// # Errors
/// Database failures.
pub async fn borrowers_of(
    conn: &impl ConnectionTrait,
    ids: &[LoanId],
) -> Result<Vec<UserId>, AppError> {
    let borrowers: Vec<uuid::Uuid> = loan_requests::Entity::find()
        .select_only()
        .column(loan_requests::Column::BorrowerId)
        .distinct()
        .filter(loan_requests::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(borrowers.into_iter().map(UserId::from_uuid).collect())
}

/// Moves `loan` by `event`, writing the new status together with `changes`
/// (timestamps, terms). The update is conditional on the status read, so two
/// requests racing on one loan cannot both move it.
///
/// # Errors
/// `Domain(IllegalTransition)` for a move the lifecycle refuses; `Conflict`
/// when the loan moved meanwhile; database failures.
pub async fn apply(
    conn: &impl ConnectionTrait,
    loan: &Loan,
    event: LoanEvent,
    now: DateTime<Utc>,
    changes: loan_requests::ActiveModel,
) -> Result<LoanStatus, AppError> {
    let to = transition(loan.status, event).map_err(DomainError::from)?;
    apply_all(conn, &[loan], event, now, changes).await?;
    Ok(to)
}

/// Loans per statement of [`apply_all`].
const LOANS_PER_UPDATE: usize = 500;

/// Moves every one of `loans` by `event` with the same `changes`, as
/// [`apply`] moves one, in a statement per few hundred loans.
///
/// # Errors
/// As [`apply`]: `Conflict` when any of them moved meanwhile.
pub async fn apply_all(
    conn: &impl ConnectionTrait,
    loans: &[&Loan],
    event: LoanEvent,
    now: DateTime<Utc>,
    changes: loan_requests::ActiveModel,
) -> Result<(), AppError> {
    use loan_requests::Column;
    let mut by_move: BTreeMap<(&'static str, &'static str), Vec<(uuid::Uuid, &'static str)>> =
        BTreeMap::new();
    for loan in loans {
        let to = transition(loan.status, event).map_err(DomainError::from)?;
        by_move
            .entry((loan.status.as_str(), to.as_str()))
            .or_default()
            .push((loan.id.as_uuid(), loan.status.as_str()));
    }
    for ((_, to), guards) in by_move {
        for chunk in guards.chunks(LOANS_PER_UPDATE) {
            let mut update = changes.clone();
            update.status = Set(to.to_owned());
            update.updated_at = Set(now);
            let result = loan_requests::Entity::update_many()
                .set(update)
                .filter(read_in_status(
                    (Column::Id, Column::Status),
                    chunk.iter().copied(),
                ))
                .exec(conn)
                .await?;
            moved(&result, chunk.len())?;
        }
    }
    Ok(())
}

/// Adds `delta` (negative to take back) to a loan's funded amount, only while
/// it is open for funding and within its amount (the schema checks the
/// bound again); returns the loan as it is now, locked until the
/// transaction ends.
///
/// # Errors
/// `Conflict` when the condition no longer holds; database failures.
pub async fn add_funded(
    conn: &impl ConnectionTrait,
    id: LoanId,
    delta: i64,
    now: DateTime<Utc>,
) -> Result<Loan, AppError> {
    let funded = || Expr::col(loan_requests::Column::FundedAmount).add(delta);
    let changed = loan_requests::Entity::update_many()
        .col_expr(loan_requests::Column::FundedAmount, funded())
        .col_expr(loan_requests::Column::UpdatedAt, Expr::value(now))
        .filter(loan_requests::Column::Id.eq(id.as_uuid()))
        .filter(loan_requests::Column::Status.eq(LoanStatus::Funding.as_str()))
        .filter(funded().lte(Expr::col(loan_requests::Column::Amount)))
        .filter(funded().gte(0))
        .exec_with_returning(conn)
        .await?;
    changed
        .into_iter()
        .next()
        .map(parse)
        .transpose()?
        .ok_or(AppError::Conflict)
}
