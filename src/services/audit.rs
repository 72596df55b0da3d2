//! The audit log: who did what to which record, with before/after, from where.
//! Written inside the caller's transaction so the record and the change commit together.

use crate::domain::ids::UserId;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr};
use uuid::Uuid;

use crate::{db::entities::audit_log, services::RequestMeta};

/// One audit record.
#[derive(Debug)]
pub struct AuditEvent<'a> {
    pub actor_id: Option<UserId>,
    pub action: &'static str,
    pub entity: Option<(&'static str, String)>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub meta: &'a RequestMeta,
    pub at: DateTime<Utc>,
}

/// Appends an audit record through `conn` (normally the use case's transaction).
///
/// # Errors
/// When the insert fails.
pub async fn record(conn: &impl ConnectionTrait, event: AuditEvent<'_>) -> Result<(), DbErr> {
    let (entity_type, entity_id) = match event.entity {
        Some((kind, id)) => (Some(kind.to_owned()), Some(id)),
        None => (None, None),
    };
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        actor_id: Set(event.actor_id.map(Into::into)),
        action: Set(event.action.to_owned()),
        entity_type: Set(entity_type),
        entity_id: Set(entity_id),
        before: Set(event.before),
        after: Set(event.after),
        ip: Set(event.meta.ip.clone()),
        created_at: Set(event.at),
    }
    .insert(conn)
    .await
    .map(|_| ())
}
