//! Idempotency keys for money-moving forms (DESIGN.md sections 6 and 12).
//! The form carries a key generated when it was rendered. The key is looked
//! up first, inside the use case's transaction: a repeat with the same
//! parameters gets the first answer and moves nothing; the same key with other
//! parameters is refused. The key is stored in the same transaction as the
//! money movement, so both exist or neither does.

use crate::domain::ids::UserId;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    db::entities::idempotency_keys,
    domain::error::DomainError,
    error::{AppError, is_unique_violation},
};

/// Whether a use case failed because a concurrent request committed first
/// a row it was about to write (the same key's claim, or another unique
/// row): the caller then answers with [`replay`].
#[must_use]
pub fn lost_race(err: &AppError) -> bool {
    matches!(err, AppError::Unexpected(inner)
        if inner.downcast_ref::<DbErr>().is_some_and(is_unique_violation))
}

/// A key as the form sent it: 8 to 64 characters of letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// # Errors
    /// `Domain(SubmissionKeyMissing)` when the key is missing or malformed (a tampered form).
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let valid = (8..=64).contains(&raw.len())
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(DomainError::SubmissionKeyMissing.into())
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A fresh key for a form being rendered.
    #[must_use]
    pub fn generate() -> String {
        Uuid::new_v4().to_string()
    }
}

/// A fingerprint of what a request asks for.
#[must_use]
pub fn request_hash(parts: &[&str]) -> String {
    hex::encode(Sha256::digest(parts.join("\u{1f}").as_bytes()))
}

/// What an earlier submission with this key answered, if there was one.
///
/// # Errors
/// `Domain(SubmissionKeyReused)` when the key was used with other parameters;
/// database errors.
pub async fn replay(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    key: &IdempotencyKey,
    request_hash: &str,
) -> Result<Option<String>, AppError> {
    let stored = idempotency_keys::Entity::find_by_id((user_id.as_uuid(), key.0.clone()))
        .one(conn)
        .await?;
    match stored {
        None => Ok(None),
        Some(row) if row.request_hash == request_hash => Ok(Some(row.response_location)),
        Some(_) => Err(DomainError::SubmissionKeyReused.into()),
    }
}

/// Claims `key` for this request in the caller's transaction, with the answer
/// it will give (known before the work: the page, or the id of the row the
/// work will create). The use case's first statement: a key already used
/// fails it with a unique violation before any other work (waiting for a
/// concurrent request with the key to end first), and the caller answers
/// with [`replay`] once its transaction has rolled back. Work that fails
/// rolls the claim back with it, so the key can be tried again.
///
/// # Errors
/// A unique violation when a request with the same key committed first;
/// other database errors.
pub async fn claim(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    key: &IdempotencyKey,
    request_hash: &str,
    location: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    idempotency_keys::ActiveModel {
        user_id: Set(user_id.into()),
        key: Set(key.0.clone()),
        request_hash: Set(request_hash.to_owned()),
        response_location: Set(location.to_owned()),
        created_at: Set(now),
    }
    .insert(conn)
    .await
    .map(|_| ())
}
