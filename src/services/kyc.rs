//! KYC review: staff verify or reject the identity details a user sent.
//! The decision, its audit record and the email telling the person are one
//! transaction: either all of them happen or none.

use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr,
};
use serde_json::json;
use url::Url;

use crate::{
    clock::Clock,
    db::{self, entities::users},
    domain::ids::UserId,
    domain::{error::DomainError, identity::KycReview, user::KycStatus},
    error::AppError,
    mail::messages::KycDecision,
    services::{
        RequestMeta,
        audit::{self, AuditEvent},
        outbox,
    },
};

/// Where the person reads their identity check's status.
pub const IDENTITY_PAGE: &str = "/account/identity";

/// Why a decision cannot be taken on an account in `status`.
fn not_pending(status: KycStatus) -> AppError {
    DomainError::IdentityNotAwaitingReview { status }.into()
}

/// Records `reviewer_id`'s decision on `user_id`'s pending identity details:
/// the KYC status and reason change, the decision is audited (before and
/// after), and the person is emailed (through the outbox, in the same
/// transaction). Returns the new status.
///
/// # Errors
/// `NotFound` for an unknown user; `Domain` when the account is not
/// waiting for review (already decided, or nothing submitted); database or
/// rendering failures.
pub async fn decide(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    reviewer_id: UserId,
    user_id: UserId,
    review: &KycReview,
    base_url: &Url,
    meta: &RequestMeta,
) -> Result<KycStatus, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let user = users::Entity::find_by_id(user_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let current = KycStatus::parse(&user.kyc_status).ok_or_else(|| {
        anyhow::anyhow!(
            "user {}: identity check status {:?}",
            user.id,
            user.kyc_status
        )
    })?;
    if current != KycStatus::Pending {
        return Err(not_pending(current));
    }
    let decided = review.status();
    let reason = review.reason().map(str::to_owned);
    // Conditional on the status read above, so two reviewers deciding at
    // once cannot both succeed (SQLite has no row lock; this covers it).
    let updated = users::Entity::update_many()
        .col_expr(users::Column::KycStatus, Expr::value(decided.as_str()))
        .col_expr(users::Column::KycReason, Expr::value(reason.clone()))
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(user_id))
        .filter(users::Column::KycStatus.eq(KycStatus::Pending.as_str()))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(not_pending(KycStatus::Verified));
    }
    audit::record(
        &txn,
        AuditEvent {
            actor_id: Some(reviewer_id),
            action: match review {
                KycReview::Verify => "kyc_verified",
                KycReview::Reject { .. } => "kyc_rejected",
            },
            entity: Some(("user", user_id.to_string())),
            before: Some(json!({
                "kyc_status": current.as_str(),
                "kyc_reason": user.kyc_reason,
            })),
            after: Some(json!({
                "kyc_status": decided.as_str(),
                "kyc_reason": reason,
            })),
            meta,
            at: now,
        },
    )
    .await?;
    outbox::enqueue(
        &txn,
        now,
        &user.email,
        &KycDecision {
            full_name: user.full_name,
            verified: decided == KycStatus::Verified,
            reason,
            account_url: outbox::link(base_url, IDENTITY_PAGE),
        },
    )
    .await?;
    db::commit(txn).await?;
    Ok(decided)
}
