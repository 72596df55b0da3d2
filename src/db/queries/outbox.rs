//! The email outbox as the back office reads it.

use crate::error::AppError;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{Page, fetch_page};
use crate::{db::entities::outbox_emails, domain::outbox::EmailState};
use sea_orm::{QueryTrait, SelectModel};

pub const EMAILS_PER_PAGE: u64 = 50;

/// How many emails are in each state, in `EmailState::ALL` order.
///
/// # Errors
/// On database failure.
pub async fn count_by_state(db: &DatabaseConnection) -> Result<Vec<(EmailState, u64)>, AppError> {
    let counts: Vec<(String, i64)> = outbox_emails::Entity::find()
        .select_only()
        .column(outbox_emails::Column::State)
        .column_as(outbox_emails::Column::Id.count(), "emails")
        .group_by(outbox_emails::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    Ok(EmailState::ALL
        .into_iter()
        .map(|state| {
            let count = counts
                .iter()
                .find(|(name, _)| name == state.as_str())
                .map_or(0, |(_, count)| count.unsigned_abs());
            (state, count)
        })
        .collect())
}

/// An email that needs someone's eye.
#[derive(Debug, Clone, FromQueryResult)]
pub struct TroubledEmail {
    pub id: Uuid,
    pub kind: String,
    pub to_address: String,
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// Emails that failed for good, and those waiting to be tried again after
/// an error; newest first.
///
/// # Errors
/// On database failure.
pub async fn troubled(
    db: &DatabaseConnection,
    page: Option<u64>,
) -> Result<Page<TroubledEmail>, AppError> {
    let query = outbox_emails::Entity::find()
        .select_only()
        .columns([
            outbox_emails::Column::Id,
            outbox_emails::Column::Kind,
            outbox_emails::Column::ToAddress,
            outbox_emails::Column::State,
            outbox_emails::Column::Attempts,
            outbox_emails::Column::LastError,
            outbox_emails::Column::NextAttemptAt,
            outbox_emails::Column::CreatedAt,
        ])
        .filter(
            Condition::any()
                .add(outbox_emails::Column::State.eq(EmailState::Failed.as_str()))
                .add(
                    Condition::all()
                        .add(outbox_emails::Column::State.eq(EmailState::Pending.as_str()))
                        .add(outbox_emails::Column::LastError.is_not_null()),
                ),
        )
        .order_by_desc(outbox_emails::Column::CreatedAt)
        .order_by_desc(outbox_emails::Column::Id);
    fetch_page::<SelectModel<TroubledEmail>>(db, query.into_query(), EMAILS_PER_PAGE, page).await
}

/// One recorded run of a job.
#[derive(Debug, Clone)]
pub struct JobRun {
    pub name: String,
    pub business_date: chrono::NaiveDate,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    pub items: i32,
    pub outcome: String,
    pub error: Option<String>,
}

/// The latest `limit` job runs, newest first.
///
/// # Errors
/// Database failures.
pub async fn job_runs(
    conn: &impl sea_orm::ConnectionTrait,
    limit: u64,
) -> Result<Vec<JobRun>, AppError> {
    use crate::db::entities::job_runs;
    use sea_orm::{EntityTrait, QueryOrder, QuerySelect};
    Ok(job_runs::Entity::find()
        .order_by_desc(job_runs::Column::StartedAt)
        .order_by_desc(job_runs::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| JobRun {
            name: row.name,
            business_date: row.business_date,
            started_at: row.started_at,
            finished_at: row.finished_at,
            items: row.items,
            outcome: row.outcome,
            error: row.error,
        })
        .collect())
}
