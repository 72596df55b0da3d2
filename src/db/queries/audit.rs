//! The audit log as the back office reads it.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, JoinType, QueryFilter,
    QueryOrder, QuerySelect, RelationTrait,
};

use super::{Page, fetch_page};
use crate::{
    db::entities::{audit_log, users},
    domain::ids::UserId,
    error::AppError,
};
use sea_orm::{QueryTrait, SelectModel};

pub const AUDIT_PER_PAGE: u64 = 50;

#[derive(Debug, Clone, FromQueryResult)]
pub struct AuditRow {
    pub created_at: DateTime<Utc>,
    pub actor_email: Option<String>,
    pub action: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ip: Option<String>,
}

/// What the page can filter on.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    /// Part of the actor's email, any case.
    pub actor: Option<String>,
}

/// One page of the log, newest first.
///
/// # Errors
/// On database failure.
pub async fn list(
    db: &DatabaseConnection,
    filter: &AuditFilter,
    page: Option<u64>,
) -> Result<Page<AuditRow>, AppError> {
    let mut query = audit_log::Entity::find()
        .select_only()
        .columns([
            audit_log::Column::CreatedAt,
            audit_log::Column::Action,
            audit_log::Column::EntityType,
            audit_log::Column::EntityId,
            audit_log::Column::Before,
            audit_log::Column::After,
            audit_log::Column::Ip,
        ])
        .column_as(users::Column::Email, "actor_email")
        .join(JoinType::LeftJoin, audit_log::Relation::Actor.def())
        .order_by_desc(audit_log::Column::CreatedAt)
        .order_by_desc(audit_log::Column::Id);
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::Column::Action.eq(action.as_str()));
    }
    if let Some(actor) = &filter.actor {
        // Emails are stored lowercased.
        query = query.filter(users::Column::Email.like(super::containing(&actor.to_lowercase())));
    }
    fetch_page::<SelectModel<AuditRow>>(db, query.into_query(), AUDIT_PER_PAGE, page).await
}

/// Every action name in the log, for the filter.
///
/// # Errors
/// On database failure.
pub async fn actions(db: &DatabaseConnection) -> Result<Vec<String>, AppError> {
    audit_log::Entity::find()
        .select_only()
        .column(audit_log::Column::Action)
        .distinct()
        .order_by_asc(audit_log::Column::Action)
        .into_tuple::<String>()
        .all(db)
        .await
        .map_err(AppError::from)
}

/// The newest `limit` records about one account: what was done to it and
/// what it did, newest first.
///
/// # Errors
/// On database failure.
pub async fn about_user(
    db: &DatabaseConnection,
    user_id: UserId,
    limit: u64,
) -> Result<Vec<AuditRow>, AppError> {
    audit_log::Entity::find()
        .select_only()
        .columns([
            audit_log::Column::CreatedAt,
            audit_log::Column::Action,
            audit_log::Column::EntityType,
            audit_log::Column::EntityId,
            audit_log::Column::Before,
            audit_log::Column::After,
            audit_log::Column::Ip,
        ])
        .column_as(users::Column::Email, "actor_email")
        .join(JoinType::LeftJoin, audit_log::Relation::Actor.def())
        .filter(
            sea_orm::Condition::any()
                .add(
                    sea_orm::Condition::all()
                        .add(audit_log::Column::EntityType.eq("user"))
                        .add(audit_log::Column::EntityId.eq(user_id.to_string())),
                )
                .add(audit_log::Column::ActorId.eq(user_id)),
        )
        .order_by_desc(audit_log::Column::CreatedAt)
        .order_by_desc(audit_log::Column::Id)
        .limit(limit)
        .into_model::<AuditRow>()
        .all(db)
        .await
        .map_err(AppError::from)
}
