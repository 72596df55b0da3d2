//! The investor's profile: tax id, qualified-investor declaration, nominees,
//! and the risk declaration, accepted once and kept with its time.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::{investor_profiles, nominees},
    },
    domain::ids::UserId,
    domain::investor::InvestorProfile,
    error::{AppError, FieldErrors},
    services::{
        RequestMeta,
        audit::{self, AuditEvent},
    },
};

/// Saves the profile and replaces the nominees. `accept_risk_declaration`
/// records the acceptance time the first time it is given; an accepted
/// declaration stays accepted.
///
/// # Errors
/// `Validation` when the nominees' rules fail; database failures.
pub async fn save_profile(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    user_id: UserId,
    profile: &InvestorProfile,
    accept_risk_declaration: bool,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    for problem in profile.problems() {
        errors.add(problem.field, problem.message);
    }
    errors.into_result()?;
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let before = investor_profiles::Entity::find_by_id(user_id)
        .one(&txn)
        .await?;
    let accepted_at = before
        .as_ref()
        .and_then(|p| p.risk_declaration_accepted_at)
        .or(accept_risk_declaration.then_some(now));
    investor_profiles::Entity::insert(investor_profiles::ActiveModel {
        user_id: Set(user_id.into()),
        tax_id: Set(Some(profile.tax_id.as_str().to_owned())),
        qualified: Set(profile.qualified),
        risk_declaration_accepted_at: Set(accepted_at),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(investor_profiles::Column::UserId)
            .update_columns([
                investor_profiles::Column::TaxId,
                investor_profiles::Column::Qualified,
                investor_profiles::Column::RiskDeclarationAcceptedAt,
                investor_profiles::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    nominees::Entity::delete_many()
        .filter(nominees::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    for nominee in &profile.nominees {
        nominees::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user_id.into()),
            name: Set(nominee.name.clone()),
            relation: Set(nominee.relation.as_str().to_owned()),
            share_pct: Set(i32::try_from(nominee.share_pct).unwrap_or(100)),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    let snapshot = |qualified: bool, accepted: bool| json!({ "qualified": qualified, "risk_declaration_accepted": accepted });
    audit::record(
        &txn,
        AuditEvent {
            actor_id: Some(user_id),
            action: "investor_profile_saved",
            entity: Some(("investor_profile", user_id.to_string())),
            before: before
                .as_ref()
                .map(|p| snapshot(p.qualified, p.risk_declaration_accepted_at.is_some())),
            after: Some(json!({
                "qualified": profile.qualified,
                "risk_declaration_accepted": accepted_at.is_some(),
                "nominees": profile.nominees.len(),
            })),
            meta,
            at: now,
        },
    )
    .await?;
    db::commit(txn).await?;
    Ok(())
}
