//! Borrowers' profiles and loan applications as the borrower pages and the
//! review queue show them, and the stored scorecard read back.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

use super::{Page, fetch_page};
use crate::{
    db::{
        entities::{
            audit_log, borrower_assets, borrower_liabilities, borrower_profiles, loan_requests,
            scoring_results, users,
        },
        repo::{loans, users as repo_users},
    },
    domain::{
        application::{Asset, AssetKind, Education, Liability, LiabilityKind, Profile},
        ids::{LoanId, UserId},
        lifecycle::LoanStatus,
        loan::Loan,
        money::{Currency, Money},
        scoring::Employment,
        user::User,
    },
    error::AppError,
};
use sea_orm::{QueryTrait, SelectTwoModel};

pub const QUEUE_PER_PAGE: u64 = 50;

fn corrupt(what: &str) -> AppError {
    AppError::Unexpected(anyhow::anyhow!("stored {what} does not parse"))
}

fn money(minor: i64, currency: Currency) -> Result<Money, AppError> {
    Money::from_minor(minor, currency).map_err(|_| corrupt("amount"))
}

fn count(value: i32) -> Result<u32, AppError> {
    u32::try_from(value).map_err(|_| corrupt("count"))
}

/// The borrower's stored profile with its debts and assets (oldest row first).
///
/// # Errors
/// On database failure, or a stored value the domain refuses.
pub async fn profile(
    conn: &impl ConnectionTrait,
    user_id: UserId,
) -> Result<Option<Profile>, AppError> {
    let Some(row) = borrower_profiles::Entity::find_by_id(user_id)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let currency = Currency::parse(&row.currency).ok_or_else(|| corrupt("currency"))?;
    let liabilities = borrower_liabilities::Entity::find()
        .filter(borrower_liabilities::Column::UserId.eq(user_id))
        .order_by_asc(borrower_liabilities::Column::CreatedAt)
        .order_by_asc(borrower_liabilities::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|l| {
            Ok(Liability {
                kind: LiabilityKind::parse(&l.kind).ok_or_else(|| corrupt("liability kind"))?,
                outstanding: money(l.outstanding, currency)?,
                monthly_payment: money(l.monthly_payment, currency)?,
                start_date: l.start_date,
                end_date: l.end_date,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let assets = borrower_assets::Entity::find()
        .filter(borrower_assets::Column::UserId.eq(user_id))
        .order_by_asc(borrower_assets::Column::CreatedAt)
        .order_by_asc(borrower_assets::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|a| {
            Ok(Asset {
                kind: AssetKind::parse(&a.kind).ok_or_else(|| corrupt("asset kind"))?,
                value: money(a.value, currency)?,
                ownership_pct: count(a.ownership_pct)?,
                held_since: a.held_since,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(Some(Profile {
        birth_date: row.birth_date,
        employment: Employment::parse(&row.employment_status)
            .ok_or_else(|| corrupt("employment status"))?,
        employer: row.employer,
        position: row.position,
        employed_since: row.employed_since,
        monthly_income: money(row.monthly_income, currency)?,
        monthly_expenses: money(row.monthly_expenses, currency)?,
        education: Education::parse(&row.education).ok_or_else(|| corrupt("education"))?,
        university: row.university,
        graduation_year: row.graduation_year,
        credit_score: count(row.credit_score.unwrap_or(0))?,
        avg_bank_balance: money(row.avg_bank_balance, currency)?,
        defaults_12m: count(row.defaults_12m)?,
        inquiries_12m: count(row.inquiries_12m)?,
        liabilities,
        assets,
    }))
}

/// Whether the borrower has saved a profile.
///
/// # Errors
/// On database failure.
pub async fn has_profile(conn: &impl ConnectionTrait, user_id: UserId) -> Result<bool, AppError> {
    Ok(borrower_profiles::Entity::find_by_id(user_id)
        .count(conn)
        .await?
        > 0)
}

/// One line of a scorecard as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFactor {
    pub key: String,
    pub name: String,
    pub input: String,
    pub points: u32,
    pub max_points: u32,
}

/// A hard rule that declined the application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFailure {
    pub key: String,
    pub message: String,
}

/// A single change that would lift the grade, in the words shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredImprovement {
    pub factor: String,
    pub grade: String,
    pub text: String,
}

/// The latest scorecard of an application, read back from `scoring_results`.
#[derive(Debug, Clone)]
pub struct ScoringView {
    pub model_version: String,
    pub score: i32,
    pub grade: String,
    pub suggested_rate_bps: i32,
    pub max_amount: i64,
    pub max_term_months: i32,
    pub new_installment: i64,
    pub factors: Vec<StoredFactor>,
    pub failures: Vec<StoredFailure>,
    pub improvements: Vec<StoredImprovement>,
    pub computed_at: DateTime<Utc>,
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, AppError> {
    serde_json::from_str(text).map_err(|_| corrupt("scorecard"))
}

/// The most recent scorecard of `loan_id`, if it was scored.
///
/// # Errors
/// On database failure or stored JSON that does not parse.
pub async fn latest_scoring(
    conn: &impl ConnectionTrait,
    loan_id: LoanId,
) -> Result<Option<ScoringView>, AppError> {
    let Some(row) = scoring_results::Entity::find()
        .filter(scoring_results::Column::LoanId.eq(loan_id))
        .order_by_desc(scoring_results::Column::ComputedAt)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(ScoringView {
        factors: from_json(&row.factors)?,
        failures: from_json(&row.hard_rule_failures)?,
        improvements: from_json(&row.improvements)?,
        model_version: row.model_version,
        score: row.score,
        grade: row.grade,
        suggested_rate_bps: row.suggested_rate,
        max_amount: row.max_amount,
        max_term_months: row.max_term_months,
        new_installment: row.new_installment,
        computed_at: row.computed_at,
    }))
}

/// The borrower's applications, newest first.
///
/// # Errors
/// On database failure.
pub async fn for_borrower(
    conn: &impl ConnectionTrait,
    borrower_id: UserId,
) -> Result<Vec<Loan>, AppError> {
    loan_requests::Entity::find()
        .filter(loan_requests::Column::BorrowerId.eq(borrower_id))
        .order_by_desc(loan_requests::Column::CreatedAt)
        .order_by_desc(loan_requests::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(loans::parse)
        .collect()
}

/// The application `loan_id` if it belongs to `borrower_id`; someone else's
/// is reported exactly like one that does not exist.
///
/// # Errors
/// On database failure.
pub async fn owned_by(
    conn: &impl ConnectionTrait,
    borrower_id: UserId,
    loan_id: LoanId,
) -> Result<Option<Loan>, AppError> {
    loan_requests::Entity::find_by_id(loan_id.as_uuid())
        .filter(loan_requests::Column::BorrowerId.eq(borrower_id))
        .one(conn)
        .await?
        .map(loans::parse)
        .transpose()
}

/// An application and its borrower, for staff.
///
/// # Errors
/// On database failure.
pub async fn with_borrower(
    conn: &impl ConnectionTrait,
    loan_id: LoanId,
) -> Result<Option<(Loan, User)>, AppError> {
    let Some((loan, Some(borrower))) = loan_requests::Entity::find_by_id(loan_id.as_uuid())
        .find_also_related(users::Entity)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((loans::parse(loan)?, repo_users::parse(borrower)?)))
}

/// Review-queue filters; `None` shows all.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub status: Option<String>,
    pub grade: Option<String>,
}

/// The review queue: oldest first, with the borrower's name and email.
///
/// # Errors
/// On database failure.
pub async fn queue(
    conn: &impl ConnectionTrait,
    filter: &QueueFilter,
    page: Option<u64>,
) -> Result<Page<(Loan, Option<User>)>, AppError> {
    let mut query = loan_requests::Entity::find().find_also_related(users::Entity);
    if let Some(status) = &filter.status {
        query = query.filter(loan_requests::Column::Status.eq(status.as_str()));
    }
    if let Some(grade) = &filter.grade {
        query = query.filter(loan_requests::Column::RiskGrade.eq(grade.as_str()));
    }
    let query = query
        .order_by_asc(loan_requests::Column::CreatedAt)
        .order_by_asc(loan_requests::Column::Id)
        .into_query();
    fetch_page::<SelectTwoModel<loan_requests::Model, users::Model>>(
        conn,
        query,
        QUEUE_PER_PAGE,
        page,
    )
    .await?
    .try_map(|(loan, borrower)| {
        Ok((
            loans::parse(loan)?,
            borrower.map(repo_users::parse).transpose()?,
        ))
    })
}

/// How many applications wait for staff's decision.
///
/// # Errors
/// On database failure.
pub async fn awaiting_review(conn: &impl ConnectionTrait) -> Result<u64, AppError> {
    Ok(loan_requests::Entity::find()
        .filter(loan_requests::Column::Status.eq(LoanStatus::Scoring.as_str()))
        .count(conn)
        .await?)
}

/// One record of an application's history.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub action: String,
    /// The email of the person who acted (`None`: the platform itself).
    pub actor_email: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// What happened to an application, oldest first (from the audit log).
///
/// # Errors
/// On database failure.
pub async fn history(
    conn: &impl ConnectionTrait,
    loan_id: LoanId,
) -> Result<Vec<HistoryEntry>, AppError> {
    Ok(audit_log::Entity::find()
        .find_also_related(users::Entity)
        .filter(audit_log::Column::EntityType.eq("loan_request"))
        .filter(audit_log::Column::EntityId.eq(loan_id.to_string()))
        .order_by_asc(audit_log::Column::CreatedAt)
        .order_by_asc(audit_log::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|(record, actor)| HistoryEntry {
            at: record.created_at,
            action: record.action,
            actor_email: actor.map(|a| a.email),
            before: record.before,
            after: record.after,
        })
        .collect())
}
