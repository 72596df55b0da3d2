//! Platform settings: reading them (defaults overridden by what admins saved)
//! and saving an admin's edit, audited with the values before and after.

use std::collections::BTreeMap;

use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, sea_query::OnConflict,
};

use crate::{
    clock::Clock,
    db::{self, entities::platform_settings},
    domain::ids::UserId,
    domain::settings::{SettingError, Settings},
    error::{AppError, FieldErrors},
    services::{
        RequestMeta,
        audit::{self, AuditEvent},
    },
};

/// The settings in force. A stored value that no longer parses keeps its
/// default and is logged, so a bad row never takes the platform down.
///
/// # Errors
/// On database failure.
pub async fn load(conn: &impl ConnectionTrait) -> Result<Settings, AppError> {
    let rows = platform_settings::Entity::find().all(conn).await?;
    let (settings, problems) = Settings::from_stored(
        rows.iter()
            .map(|row| (row.key.as_str(), row.value.as_str())),
    );
    for problem in problems {
        tracing::warn!(key = %problem.key, message = %problem.message, "ignoring a stored setting");
    }
    Ok(settings)
}

fn field_errors(errors: Vec<SettingError>) -> FieldErrors {
    let mut fields = FieldErrors::new();
    for error in errors {
        fields.add(error.key, error.message);
    }
    fields
}

/// Applies an admin's edit: every submitted key is parsed, the result must
/// satisfy the rules across settings, and only the keys whose value changed
/// are written. Returns the settings now in force.
///
/// # Errors
/// `Validation` with a message per field; database failures.
pub async fn update(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    actor_id: UserId,
    submitted: &BTreeMap<String, String>,
    meta: &RequestMeta,
) -> Result<Settings, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let current = load(&txn).await?;
    let mut edited = current.clone();
    let parse_errors: Vec<SettingError> = submitted
        .iter()
        .filter_map(|(key, value)| edited.apply(key, value).err())
        .collect();
    if !parse_errors.is_empty() {
        return Err(AppError::Validation(field_errors(parse_errors)));
    }
    edited
        .validate()
        .map_err(|errors| AppError::Validation(field_errors(errors)))?;

    let before: BTreeMap<String, String> = current.to_pairs().into_iter().collect();
    let changed: Vec<(String, String)> = edited
        .to_pairs()
        .into_iter()
        .filter(|(key, value)| before.get(key) != Some(value))
        .collect();
    if changed.is_empty() {
        return Ok(current);
    }
    for (key, value) in &changed {
        platform_settings::Entity::insert(platform_settings::ActiveModel {
            key: Set(key.clone()),
            value: Set(value.clone()),
            updated_at: Set(now),
            updated_by: Set(Some(actor_id.into())),
        })
        .on_conflict(
            OnConflict::column(platform_settings::Column::Key)
                .update_columns([
                    platform_settings::Column::Value,
                    platform_settings::Column::UpdatedAt,
                    platform_settings::Column::UpdatedBy,
                ])
                .to_owned(),
        )
        .exec(&txn)
        .await?;
    }
    let old: serde_json::Map<String, serde_json::Value> = changed
        .iter()
        .map(|(key, _)| {
            (
                key.clone(),
                before.get(key).cloned().unwrap_or_default().into(),
            )
        })
        .collect();
    let new: serde_json::Map<String, serde_json::Value> = changed
        .into_iter()
        .map(|(key, value)| (key, value.into()))
        .collect();
    audit::record(
        &txn,
        AuditEvent {
            actor_id: Some(actor_id),
            action: "settings_changed",
            entity: Some(("platform_settings", "platform".to_owned())),
            before: Some(old.into()),
            after: Some(new.into()),
            meta,
            at: now,
        },
    )
    .await?;
    db::commit(txn).await?;
    Ok(edited)
}
