//! Investments as pages read them: how many investors a loan has, what an
//! investor committed in a period, an investor's portfolio and totals, and a
//! paid-out loan's schedule with its agreements.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, Func},
};

use super::{Page, fetch_page};
use crate::{
    db::{
        entities::{investments, loan_requests, users},
        repo::{installments, investments as investments_repo, loans},
    },
    domain::{
        ids::{InvestmentId, LoanId, UserId},
        installment::Installment,
        investment::{Investment, InvestmentStatus},
        loan::Loan,
        money::Money,
    },
    error::AppError,
};
use sea_orm::{QueryTrait, SelectTwoModel};

pub const PORTFOLIO_PER_PAGE: u64 = 20;

/// How many different investors hold a live stake in the loan.
///
/// # Errors
/// On database failure.
pub async fn investor_count(conn: &impl ConnectionTrait, loan_id: LoanId) -> Result<i64, AppError> {
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
) -> Result<i64, AppError> {
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

/// What each of `investors` committed from `from` (inclusive) to `to`
/// (exclusive), as [`committed_between`] counts it; an investor who
/// committed nothing is absent.
///
/// # Errors
/// On database failure.
pub async fn committed_between_by(
    conn: &impl ConnectionTrait,
    investors: &[UserId],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<std::collections::BTreeMap<UserId, i64>, AppError> {
    let mut out = std::collections::BTreeMap::new();
    for chunk in investors.chunks(crate::db::ROWS_PER_INSERT) {
        let rows: Vec<(uuid::Uuid, i64)> = investments::Entity::find()
            .select_only()
            .column(investments::Column::InvestorId)
            .column_as(Expr::cust("CAST(SUM(amount) AS BIGINT)"), "total")
            .filter(investments::Column::InvestorId.is_in(chunk.iter().copied()))
            .filter(investments::Column::Status.is_in(InvestmentStatus::words(
                &InvestmentStatus::COUNTED_FOR_LIMIT,
            )))
            .filter(investments::Column::AcceptedAt.gte(from))
            .filter(investments::Column::AcceptedAt.lt(to))
            .group_by(investments::Column::InvestorId)
            .into_tuple()
            .all(conn)
            .await?;
        out.extend(
            rows.into_iter()
                .map(|(id, total)| (UserId::from_uuid(id), total)),
        );
    }
    Ok(out)
}

/// The investor's investments, newest first, with their loans.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn portfolio(
    conn: &impl ConnectionTrait,
    investor_id: UserId,
    page: Option<u64>,
) -> Result<Page<(Investment, Loan)>, AppError> {
    let query = investments::Entity::find()
        .find_also_related(loan_requests::Entity)
        .filter(investments::Column::InvestorId.eq(investor_id))
        .order_by_desc(investments::Column::CreatedAt)
        .order_by_desc(investments::Column::Id)
        .into_query();
    fetch_page::<SelectTwoModel<investments::Model, loan_requests::Model>>(
        conn,
        query,
        PORTFOLIO_PER_PAGE,
        page,
    )
    .await?
    .try_map(|(investment, loan)| {
        let loan = loans::parse(loan.ok_or_else(|| {
            AppError::Unexpected(anyhow::anyhow!("investment {} has no loan", investment.id))
        })?)?;
        Ok((investments_repo::parse(investment, loan.currency())?, loan))
    })
}

/// One agreement of a paid-out loan as its parties see it listed.
#[derive(Debug, Clone)]
pub struct AgreementLine {
    pub investment_id: InvestmentId,
    pub investor_name: Option<String>,
    pub amount: Money,
    pub accepted_at: DateTime<Utc>,
    pub has_agreement: bool,
}

/// A loan's stored schedule and its live investments' agreements (earliest
/// first), for the borrower's and staff's pages.
#[derive(Debug, Clone, Default)]
pub struct Servicing {
    pub schedule: Vec<Installment>,
    pub agreements: Vec<AgreementLine>,
}

/// The schedule and agreements of `loan` (empty before its payout).
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn servicing(conn: &impl ConnectionTrait, loan: &Loan) -> Result<Servicing, AppError> {
    let schedule = installments::of_loan(conn, loan.id, loan.currency()).await?;
    let agreements = investments::Entity::find()
        .find_also_related(users::Entity)
        .filter(investments::Column::LoanId.eq(loan.id))
        .filter(investments::Column::Status.is_in(InvestmentStatus::words(&InvestmentStatus::LIVE)))
        .order_by_asc(investments::Column::CreatedAt)
        .order_by_asc(investments::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|(row, investor)| {
            let investment = investments_repo::parse(row, loan.currency())?;
            Ok(AgreementLine {
                investment_id: investment.id,
                investor_name: investor.map(|u| u.full_name),
                amount: investment.amount,
                accepted_at: investment.accepted_at,
                has_agreement: investment.agreement_hash.is_some(),
            })
        })
        .collect::<Result<_, AppError>>()?;
    Ok(Servicing {
        schedule,
        agreements,
    })
}
