//! Investments as the use cases and pages read them: a loan's commitments,
//! an investor's portfolio, one investment with its loan, the agreements.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, Func},
};
use uuid::Uuid;

use super::{Page, fetch_page};
use crate::{
    db::entities::{documents, investments, loan_requests, repayment_schedule, users},
    domain::ids::UserId,
    domain::investing::InvestmentStatus,
};

pub const PORTFOLIO_PER_PAGE: u64 = 20;

/// A loan's investments in `statuses`, earliest first (the order that breaks
/// ties in every pro-rata split).
///
/// # Errors
/// On database failure.
pub async fn for_loan(
    conn: &impl ConnectionTrait,
    loan_id: Uuid,
    statuses: &[InvestmentStatus],
) -> Result<Vec<investments::Model>, DbErr> {
    investments::Entity::find()
        .filter(investments::Column::LoanId.eq(loan_id))
        .filter(investments::Column::Status.is_in(InvestmentStatus::words(statuses)))
        .order_by_asc(investments::Column::CreatedAt)
        .order_by_asc(investments::Column::Id)
        .all(conn)
        .await
}

/// How many different investors hold a live stake in the loan.
///
/// # Errors
/// On database failure.
pub async fn investor_count(conn: &impl ConnectionTrait, loan_id: Uuid) -> Result<i64, DbErr> {
    #[derive(FromQueryResult)]
    struct Count {
        investors: i64,
    }
    let row = investments::Entity::find()
        .select_only()
        .column_as(
            Expr::expr(Func::count_distinct(Expr::col(
                investments::Column::InvestorId,
            ))),
            "investors",
        )
        .filter(investments::Column::LoanId.eq(loan_id))
        .filter(investments::Column::Status.is_in(InvestmentStatus::words(&InvestmentStatus::LIVE)))
        .into_model::<Count>()
        .one(conn)
        .await?;
    Ok(row.map_or(0, |r| r.investors))
}

/// What the investor committed from `from` (inclusive) to `to` (exclusive),
/// in minor units, counting what the yearly limit counts.
///
/// # Errors
/// On database failure.
pub async fn committed_between(
    conn: &impl ConnectionTrait,
    investor_id: UserId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64, DbErr> {
    #[derive(FromQueryResult)]
    struct Sum {
        total: Option<i64>,
    }
    let row = investments::Entity::find()
        .select_only()
        // PostgreSQL sums BIGINT as NUMERIC; the cast reads back as i64 on both.
        .column_as(Expr::cust("CAST(SUM(amount) AS BIGINT)"), "total")
        .filter(investments::Column::InvestorId.eq(investor_id))
        .filter(investments::Column::Status.is_in(InvestmentStatus::words(
            &InvestmentStatus::COUNTED_FOR_LIMIT,
        )))
        .filter(investments::Column::AcceptedAt.gte(from))
        .filter(investments::Column::AcceptedAt.lt(to))
        .into_model::<Sum>()
        .one(conn)
        .await?;
    Ok(row.and_then(|r| r.total).unwrap_or(0))
}

/// The investor's investments, newest first, with their loans.
///
/// # Errors
/// On database failure.
pub async fn portfolio(
    conn: &impl ConnectionTrait,
    investor_id: UserId,
    page: Option<u64>,
) -> Result<Page<(investments::Model, Option<loan_requests::Model>)>, DbErr> {
    let paginator = investments::Entity::find()
        .find_also_related(loan_requests::Entity)
        .filter(investments::Column::InvestorId.eq(investor_id))
        .order_by_desc(investments::Column::CreatedAt)
        .order_by_desc(investments::Column::Id)
        .paginate(conn, PORTFOLIO_PER_PAGE);
    fetch_page(paginator, page).await
}

/// Totals of the investor's investments by status: (status, count, sum).
///
/// # Errors
/// On database failure.
pub async fn totals_by_status(
    conn: &impl ConnectionTrait,
    investor_id: UserId,
) -> Result<Vec<(String, i64, i64)>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        status: String,
        count: i64,
        total: Option<i64>,
    }
    let rows = investments::Entity::find()
        .select_only()
        .column(investments::Column::Status)
        .column_as(investments::Column::Id.count(), "count")
        // PostgreSQL sums BIGINT as NUMERIC; the cast reads back as i64 on both.
        .column_as(Expr::cust("CAST(SUM(amount) AS BIGINT)"), "total")
        .filter(investments::Column::InvestorId.eq(investor_id))
        .group_by(investments::Column::Status)
        .into_model::<Row>()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.status, r.count, r.total.unwrap_or(0)))
        .collect())
}

/// One of the investor's investments with its loan; someone else's reads
/// exactly like one that does not exist.
///
/// # Errors
/// On database failure.
pub async fn owned_by(
    conn: &impl ConnectionTrait,
    investor_id: UserId,
    investment_id: Uuid,
) -> Result<Option<(investments::Model, loan_requests::Model)>, DbErr> {
    Ok(investments::Entity::find_by_id(investment_id)
        .filter(investments::Column::InvestorId.eq(investor_id))
        .find_also_related(loan_requests::Entity)
        .one(conn)
        .await?
        .and_then(|(investment, loan)| Some((investment, loan?))))
}

/// An investment with its loan, whoever holds it (for the parties' checks).
///
/// # Errors
/// On database failure.
pub async fn with_loan(
    conn: &impl ConnectionTrait,
    investment_id: Uuid,
) -> Result<Option<(investments::Model, loan_requests::Model)>, DbErr> {
    Ok(investments::Entity::find_by_id(investment_id)
        .find_also_related(loan_requests::Entity)
        .one(conn)
        .await?
        .and_then(|(investment, loan)| Some((investment, loan?))))
}

/// The stored agreement of an investment.
///
/// # Errors
/// On database failure.
pub async fn agreement(
    conn: &impl ConnectionTrait,
    investment_id: Uuid,
) -> Result<Option<documents::Model>, DbErr> {
    documents::Entity::find()
        .filter(documents::Column::InvestmentId.eq(investment_id))
        .filter(documents::Column::Kind.eq("loan_agreement"))
        .one(conn)
        .await
}

/// A loan's live investments with each investor's name (for the borrower's
/// and staff's list of agreements), earliest first.
///
/// # Errors
/// On database failure.
pub async fn with_investors(
    conn: &impl ConnectionTrait,
    loan_id: Uuid,
) -> Result<Vec<(investments::Model, Option<users::Model>)>, DbErr> {
    investments::Entity::find()
        .find_also_related(users::Entity)
        .filter(investments::Column::LoanId.eq(loan_id))
        .filter(investments::Column::Status.is_in(InvestmentStatus::words(&InvestmentStatus::LIVE)))
        .order_by_asc(investments::Column::CreatedAt)
        .order_by_asc(investments::Column::Id)
        .all(conn)
        .await
}

/// A loan's installments in order.
///
/// # Errors
/// On database failure.
pub async fn schedule(
    conn: &impl ConnectionTrait,
    loan_id: Uuid,
) -> Result<Vec<repayment_schedule::Model>, DbErr> {
    repayment_schedule::Entity::find()
        .filter(repayment_schedule::Column::LoanId.eq(loan_id))
        .order_by_asc(repayment_schedule::Column::PaymentNum)
        .all(conn)
        .await
}
