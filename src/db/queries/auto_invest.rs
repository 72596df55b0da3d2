//! Auto-invest as pages and the allocation read it: the loans a rule could
//! look at (open now, or listed lately), and what a rule did with the loans
//! it looked for.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{
    db::{
        entities::{auto_invest_decisions as decisions, investments, loan_requests},
        repo::{investments as investments_repo, loans},
    },
    domain::{
        auto_invest::Skip, ids::RuleId, investment::Investment, lifecycle::LoanStatus, loan::Loan,
        money::Currency,
    },
    error::AppError,
};

/// How many of a rule's latest decisions its page shows, of each kind.
pub const DECISIONS_SHOWN: u64 = 50;

/// Loans open for investment in `currency`, listed earliest first (the
/// order the auto-invest job serves them in).
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn funding(
    conn: &impl ConnectionTrait,
    currency: Currency,
) -> Result<Vec<Loan>, AppError> {
    loan_requests::Entity::find()
        .filter(loan_requests::Column::Status.eq(LoanStatus::Funding.as_str()))
        .filter(loan_requests::Column::Currency.eq(currency.code()))
        .order_by_asc(loan_requests::Column::ListedAt)
        .order_by_asc(loan_requests::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(loans::parse)
        .collect()
}

/// Loans in `currency` listed from `since` on, whatever became of them,
/// earliest first.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn listed_since(
    conn: &impl ConnectionTrait,
    currency: Currency,
    since: DateTime<Utc>,
) -> Result<Vec<Loan>, AppError> {
    loan_requests::Entity::find()
        .filter(loan_requests::Column::ListedAt.gte(since))
        .filter(loan_requests::Column::Currency.eq(currency.code()))
        .order_by_asc(loan_requests::Column::ListedAt)
        .order_by_asc(loan_requests::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(loans::parse)
        .collect()
}

/// An investment a rule made, with its loan.
#[derive(Debug, Clone)]
pub struct Invested {
    pub investment: Investment,
    pub loan: Loan,
}

/// The latest investments `rule` made, newest first.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn invested(
    conn: &impl ConnectionTrait,
    rule: RuleId,
) -> Result<Vec<Invested>, AppError> {
    let rows = decisions::Entity::find()
        .find_also_related(investments::Entity)
        .find_also_related(loan_requests::Entity)
        .filter(decisions::Column::RuleId.eq(rule))
        .filter(decisions::Column::InvestmentId.is_not_null())
        .order_by_desc(decisions::Column::DecidedAt)
        .order_by_desc(decisions::Column::Id)
        .limit(DECISIONS_SHOWN)
        .all(conn)
        .await?;
    rows.into_iter()
        .filter_map(|(_, row, loan)| row.zip(loan))
        .map(|(row, loan)| {
            let loan = loans::parse(loan)?;
            Ok(Invested {
                investment: investments_repo::parse(row, loan.currency())?,
                loan,
            })
        })
        .collect()
}

/// A loan a rule looked for and passed over, and why.
#[derive(Debug, Clone)]
pub struct Passed {
    pub loan: Loan,
    pub reason: Skip,
    pub at: DateTime<Utc>,
}

/// The latest loans `rule` passed over, newest first.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn passed(conn: &impl ConnectionTrait, rule: RuleId) -> Result<Vec<Passed>, AppError> {
    let rows = decisions::Entity::find()
        .find_also_related(loan_requests::Entity)
        .filter(decisions::Column::RuleId.eq(rule))
        .filter(decisions::Column::Reason.is_not_null())
        .order_by_desc(decisions::Column::DecidedAt)
        .order_by_desc(decisions::Column::Id)
        .limit(DECISIONS_SHOWN)
        .all(conn)
        .await?;
    rows.into_iter()
        .filter_map(|(row, loan)| loan.map(|loan| (row, loan)))
        .map(|(row, loan)| {
            let reason = row.reason.as_deref().and_then(Skip::parse).ok_or_else(|| {
                AppError::unexpected(anyhow::anyhow!(
                    "auto-invest decision {}: the stored reason does not parse",
                    row.id
                ))
            })?;
            Ok(Passed {
                loan: loans::parse(loan)?,
                reason,
                at: row.decided_at,
            })
        })
        .collect()
}
