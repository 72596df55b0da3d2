//! The one way a loan's status changes: the domain's `transition` decides,
//! and the row is written only if nobody moved the loan in the meantime.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use crate::{
    db::entities::loan_requests,
    domain::{
        error::DomainError,
        lifecycle::{LoanEvent, LoanStatus, transition},
    },
    error::AppError,
};

/// Reads the loan for a use case that will change it: locked until the
/// transaction ends on PostgreSQL (`FOR UPDATE`; SQLite's write transaction
/// already holds the database, and sea-query leaves the clause out there).
///
/// # Errors
/// `NotFound`; database failures.
pub async fn lock(
    conn: &impl ConnectionTrait,
    loan_id: Uuid,
) -> Result<loan_requests::Model, AppError> {
    loan_requests::Entity::find_by_id(loan_id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)
}

/// The loan's status, parsed.
///
/// # Errors
/// When the stored word is not a status (the schema's check forbids it).
pub fn status_of(loan: &loan_requests::Model) -> Result<LoanStatus, AppError> {
    LoanStatus::parse(&loan.status).ok_or_else(|| {
        AppError::Unexpected(anyhow::anyhow!(
            "loan {} has the unknown status {:?}",
            loan.id,
            loan.status
        ))
    })
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
    loan: &loan_requests::Model,
    event: LoanEvent,
    now: DateTime<Utc>,
    changes: loan_requests::ActiveModel,
) -> Result<LoanStatus, AppError> {
    let from = status_of(loan)?;
    let to = transition(from, event).map_err(DomainError::from)?;
    let mut update = changes;
    update.status = Set(to.as_str().to_owned());
    update.updated_at = Set(now);
    let result = loan_requests::Entity::update_many()
        .set(update)
        .filter(loan_requests::Column::Id.eq(loan.id))
        .filter(loan_requests::Column::Status.eq(from.as_str()))
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        return Err(AppError::Conflict);
    }
    Ok(to)
}
