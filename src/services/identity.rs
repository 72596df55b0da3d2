//! Identity submission: a borrower or investor sends (or corrects) their
//! identity details, which puts their account in the KYC review queue.
//! One transaction per call; audited.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait, IntoActiveModel,
    QuerySelect,
};
use serde_json::json;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::{identity_documents, users},
    },
    domain::ids::UserId,
    domain::{
        identity::{IdentityDocument, status_after_submission},
        user::{KycStatus, Role},
    },
    error::AppError,
    services::{
        RequestMeta,
        audit::{self, AuditEvent},
    },
};

/// What a submission did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submission {
    /// Stored; the account waits for review.
    SentForReview,
    /// The same details as already verified or waiting: nothing changed.
    Unchanged,
}

/// "•••• 4821": enough for the audit log to show that a number changed.
#[must_use]
pub fn mask_number(number: &str) -> String {
    let skip = number.chars().count().saturating_sub(4);
    format!("•••• {}", number.chars().skip(skip).collect::<String>())
}

fn same_document(stored: &identity_documents::Model, document: &IdentityDocument) -> bool {
    stored.document_type == document.document_type.as_str()
        && stored.document_number == document.document_number
        && stored.issued_on == document.issued_on
        && stored.address == document.address
}

fn summary(document_type: &str, number: &str, issued_on: chrono::NaiveDate) -> serde_json::Value {
    json!({
        "document_type": document_type,
        "document_number": mask_number(number),
        "issued_on": issued_on.to_string(),
    })
}

/// Stores `document` as `user_id`'s identity details (replacing earlier
/// ones) and sends the account to review: its KYC status becomes `pending`
/// from `none` or `rejected`, and also from `verified` when the details
/// changed.
///
/// # Errors
/// `NotFound` for an unknown user; `Forbidden` for staff and admins (who
/// have no identity check); database failures.
pub async fn submit(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    user_id: UserId,
    document: IdentityDocument,
    meta: &RequestMeta,
) -> Result<Submission, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    // Locked so that a staff decision and a new submission never interleave.
    let user = users::Entity::find_by_id(user_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if !matches!(
        Role::parse(&user.role),
        Some(Role::Borrower | Role::Investor)
    ) {
        return Err(AppError::Forbidden);
    }
    let current = KycStatus::parse(&user.kyc_status).ok_or_else(|| {
        anyhow::anyhow!(
            "user {}: identity check status {:?}",
            user.id,
            user.kyc_status
        )
    })?;
    let stored = identity_documents::Entity::find_by_id(user_id)
        .one(&txn)
        .await?;
    let changed = stored
        .as_ref()
        .is_none_or(|stored| !same_document(stored, &document));
    let next = status_after_submission(current, changed);
    if !changed && next == current {
        return Ok(Submission::Unchanged);
    }

    let before = json!({
        "kyc_status": current.as_str(),
        "kyc_reason": user.kyc_reason,
        "document": stored.as_ref().map(|d| summary(&d.document_type, &d.document_number, d.issued_on)),
    });
    match stored {
        Some(stored) => {
            let mut row = stored.into_active_model();
            row.document_type = Set(document.document_type.as_str().to_owned());
            row.document_number = Set(document.document_number.clone());
            row.issued_on = Set(document.issued_on);
            row.address = Set(document.address.clone());
            row.updated_at = Set(now);
            row.update(&txn).await?;
        }
        None => {
            identity_documents::ActiveModel {
                user_id: Set(user_id.into()),
                document_type: Set(document.document_type.as_str().to_owned()),
                document_number: Set(document.document_number.clone()),
                issued_on: Set(document.issued_on),
                address: Set(document.address.clone()),
                submitted_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?;
        }
    }
    let mut account = user.into_active_model();
    account.kyc_status = Set(next.as_str().to_owned());
    account.kyc_reason = Set(None);
    account.updated_at = Set(now);
    account.update(&txn).await?;

    audit::record(
        &txn,
        AuditEvent {
            actor_id: Some(user_id),
            action: "identity_submitted",
            entity: Some(("user", user_id.to_string())),
            before: Some(before),
            after: Some(json!({
                "kyc_status": next.as_str(),
                "document": summary(document.document_type.as_str(), &document.document_number, document.issued_on),
            })),
            meta,
            at: now,
        },
    )
    .await?;
    db::commit(txn).await?;
    Ok(Submission::SentForReview)
}
