//! Registration, sign-in (with lockout and per-address throttling), password
//! changes. Every function here is one transaction.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::{audit_log, sessions, users, wallets},
    },
    domain::user::{Email, KycStatus, NewPassword, PersonName, Role},
    error::{AppError, FieldErrors, is_unique_violation},
    services::{
        RequestMeta,
        audit::{self, AuditEvent},
        password,
    },
};

/// Failed sign-ins in a row that lock an account.
pub const LOCKOUT_THRESHOLD: i32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MINUTES: i64 = 15;
/// Failed sign-ins from one address within [`LOCKOUT_MINUTES`] before that
/// address is refused. Successful ones never count, so many people behind one
/// office router can all sign in.
pub const IP_FAILURE_LIMIT: u64 = 20;

/// The currency every wallet opens in until multi-currency wallets exist.
pub const DEFAULT_CURRENCY: &str = "RUB";

/// Who is signed in: what the session keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub user_id: Uuid,
    pub role: Role,
    pub full_name: String,
}

impl SignedIn {
    fn from_model(user: &users::Model) -> Result<Self, AppError> {
        let role = Role::parse(&user.role).ok_or_else(|| {
            anyhow::anyhow!("user {} has an unknown role {:?}", user.id, user.role)
        })?;
        Ok(Self {
            user_id: user.id,
            role,
            full_name: user.full_name.clone(),
        })
    }
}

/// A validated registration.
#[derive(Debug)]
pub struct NewAccount {
    pub email: Email,
    pub full_name: PersonName,
    pub password: NewPassword,
    pub role: Role,
}

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("The email or password is incorrect.")]
    InvalidCredentials,
    #[error("This account is locked after too many failed sign-in attempts.")]
    Locked { until: DateTime<Utc> },
    #[error("Too many failed sign-in attempts from your network.")]
    Throttled,
    #[error(transparent)]
    Unexpected(#[from] AppError),
}

/// Creates a borrower or investor account with its wallet and signs it in.
///
/// # Errors
/// `Validation` when the email is taken (compared case-insensitively) or the role
/// cannot self-register; `Unexpected` on storage failures.
pub async fn register(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    account: NewAccount,
    meta: &RequestMeta,
) -> Result<SignedIn, AppError> {
    if !account.role.is_self_registrable() {
        return Err(AppError::Validation(FieldErrors::single(
            "role",
            "Choose borrower or investor.",
        )));
    }
    let user = create_user(db, clock, None, account, "user_registered", meta).await?;
    SignedIn::from_model(&user)
}

/// Creates an account of any role on behalf of an admin (`actor`) or the
/// `create-admin` command (`actor` = `None`).
///
/// # Errors
/// `Validation` when the email is taken; `Unexpected` on storage failures.
pub async fn create_account(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    actor: Option<Uuid>,
    account: NewAccount,
    meta: &RequestMeta,
) -> Result<Uuid, AppError> {
    create_user(db, clock, actor, account, "user_created", meta)
        .await
        .map(|user| user.id)
}

async fn create_user(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    actor: Option<Uuid>,
    account: NewAccount,
    action: &'static str,
    meta: &RequestMeta,
) -> Result<users::Model, AppError> {
    let password_hash = password::hash(account.password.expose().to_owned()).await?;
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let user = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(account.email.as_str().to_owned()),
        password_hash: Set(password_hash),
        full_name: Set(account.full_name.as_str().to_owned()),
        role: Set(account.role.as_str().to_owned()),
        kyc_status: Set(KycStatus::None.as_str().to_owned()),
        kyc_reason: Set(None),
        failed_login_count: Set(0),
        locked_until: Set(None),
        password_changed_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|err| {
        if is_unique_violation(&err) {
            AppError::Validation(FieldErrors::single(
                "email",
                "An account with this email already exists. Sign in instead?",
            ))
        } else {
            err.into()
        }
    })?;
    if matches!(account.role, Role::Borrower | Role::Investor) {
        open_wallet(&txn, user.id, now).await?;
    }
    audit::record(
        &txn,
        AuditEvent {
            actor_id: actor.or(Some(user.id)),
            action,
            entity: Some(("user", user.id.to_string())),
            before: None,
            after: Some(
                json!({ "email": user.email, "role": user.role, "full_name": user.full_name }),
            ),
            meta,
            at: now,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}

async fn open_wallet(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    wallets::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(Some(user_id)),
        kind: Set("user".to_owned()),
        currency: Set(DEFAULT_CURRENCY.to_owned()),
        balance: Set(0),
        reserved: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Checks an email and password. Five failures in a row lock the account for
/// fifteen minutes; twenty failures from one address within fifteen minutes
/// refuse that address for the rest of the window. Every attempt is audited.
///
/// # Errors
/// A [`LoginError`] saying why the attempt was refused.
pub async fn authenticate(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    email: &str,
    password_attempt: String,
    meta: &RequestMeta,
) -> Result<SignedIn, LoginError> {
    let now = clock.now();
    let window_start = now - TimeDelta::minutes(LOCKOUT_MINUTES);
    if let Some(ip) = &meta.ip {
        let recent_failures = audit_log::Entity::find()
            .filter(audit_log::Column::Action.eq("login_failed"))
            .filter(audit_log::Column::Ip.eq(ip.as_str()))
            .filter(audit_log::Column::CreatedAt.gt(window_start))
            .count(db)
            .await
            .map_err(AppError::from)?;
        if recent_failures >= IP_FAILURE_LIMIT {
            return Err(LoginError::Throttled);
        }
    }

    let user = match Email::parse(email) {
        Ok(email) => users::Entity::find()
            .filter(users::Column::Email.eq(email.as_str()))
            .one(db)
            .await
            .map_err(AppError::from)?,
        Err(_) => None,
    };

    if let Some(user) = &user
        && let Some(until) = user.locked_until
        && until > now
    {
        record_failure(db, clock, Some(user.id), Failure::AccountLocked, meta).await?;
        return Err(LoginError::Locked { until });
    }

    let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
    let matches = password::verify(password_attempt, stored_hash)
        .await
        .map_err(AppError::from)?;

    match user {
        Some(user) if matches => {
            let txn = db::begin_write(db).await.map_err(AppError::from)?;
            users::Entity::update_many()
                .col_expr(users::Column::FailedLoginCount, Expr::value(0))
                .col_expr(
                    users::Column::LockedUntil,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(users::Column::Id.eq(user.id))
                .exec(&txn)
                .await
                .map_err(AppError::from)?;
            audit::record(
                &txn,
                AuditEvent {
                    actor_id: Some(user.id),
                    action: "login_succeeded",
                    entity: Some(("user", user.id.to_string())),
                    before: None,
                    after: None,
                    meta,
                    at: now,
                },
            )
            .await
            .map_err(AppError::from)?;
            txn.commit().await.map_err(AppError::from)?;
            Ok(SignedIn::from_model(&user)?)
        }
        Some(user) => {
            let locked_until =
                record_failure(db, clock, Some(user.id), Failure::WrongPassword, meta).await?;
            match locked_until {
                Some(until) => Err(LoginError::Locked { until }),
                None => Err(LoginError::InvalidCredentials),
            }
        }
        None => {
            record_failure(db, clock, None, Failure::UnknownEmail, meta).await?;
            Err(LoginError::InvalidCredentials)
        }
    }
}

/// Asks a signed-in user for their password again before a sensitive action
/// (ASVS 3.7.1: withdrawals, new bank details). A wrong password counts
/// towards the account's lockout exactly like a failed sign-in.
///
/// # Errors
/// `Validation` on `password` for a wrong password or a locked account.
pub async fn confirm_password(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    user_id: Uuid,
    attempt: String,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let now = clock.now();
    let user = users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let locked = |until: DateTime<Utc>| {
        AppError::Validation(FieldErrors::single(
            "password",
            format!(
                "Too many wrong passwords: your account is locked until {} UTC.",
                until.format("%H:%M")
            ),
        ))
    };
    if let Some(until) = user.locked_until.filter(|until| *until > now) {
        return Err(locked(until));
    }
    if password::verify(attempt, Some(user.password_hash.clone())).await? {
        let txn = db::begin_write(db).await?;
        audit::record(
            &txn,
            AuditEvent {
                actor_id: Some(user.id),
                action: "password_confirmed",
                entity: Some(("user", user.id.to_string())),
                before: None,
                after: None,
                meta,
                at: now,
            },
        )
        .await?;
        txn.commit().await?;
        return Ok(());
    }
    match record_failure(db, clock, Some(user.id), Failure::WrongPassword, meta).await? {
        Some(until) => Err(locked(until)),
        None => Err(AppError::Validation(FieldErrors::single(
            "password",
            "That password is not correct.",
        ))),
    }
}

/// Why a sign-in attempt failed, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    UnknownEmail,
    WrongPassword,
    AccountLocked,
}

impl Failure {
    fn as_str(self) -> &'static str {
        match self {
            Self::UnknownEmail => "unknown_email",
            Self::WrongPassword => "wrong_password",
            Self::AccountLocked => "locked",
        }
    }
}

/// Audits a failed attempt and, for a wrong password, counts it against the
/// account; returns the lock's end when this failure locked the account.
async fn record_failure(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    user_id: Option<Uuid>,
    failure: Failure,
    meta: &RequestMeta,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let mut locked_until = None;
    if let Some(user_id) = user_id
        && failure == Failure::WrongPassword
    {
        // A relative update: concurrent failures each count once.
        users::Entity::update_many()
            .col_expr(
                users::Column::FailedLoginCount,
                Expr::col(users::Column::FailedLoginCount).add(1),
            )
            .filter(users::Column::Id.eq(user_id))
            .exec(&txn)
            .await?;
        let user = users::Entity::find_by_id(user_id)
            .one(&txn)
            .await?
            .ok_or(AppError::NotFound)?;
        if user.failed_login_count >= LOCKOUT_THRESHOLD {
            let until = now + TimeDelta::minutes(LOCKOUT_MINUTES);
            users::Entity::update_many()
                .col_expr(users::Column::FailedLoginCount, Expr::value(0))
                .col_expr(users::Column::LockedUntil, Expr::value(Some(until)))
                .filter(users::Column::Id.eq(user_id))
                .exec(&txn)
                .await?;
            locked_until = Some(until);
        }
    }
    audit::record(
        &txn,
        AuditEvent {
            actor_id: user_id,
            action: "login_failed",
            entity: user_id.map(|id| ("user", id.to_string())),
            before: None,
            after: Some(json!({ "reason": failure.as_str(), "locked": locked_until.is_some() })),
            meta,
            at: now,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(locked_until)
}

/// Records a sign-out in the audit log (the session itself is ended by the web layer).
///
/// # Errors
/// When the audit insert fails.
pub async fn record_logout(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    user_id: Uuid,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    audit::record(
        db,
        AuditEvent {
            actor_id: Some(user_id),
            action: "logout",
            entity: Some(("user", user_id.to_string())),
            before: None,
            after: None,
            meta,
            at: clock.now(),
        },
    )
    .await?;
    Ok(())
}

/// Changes a password after checking the current one, and ends every session
/// of the account (the caller starts a fresh one for the current browser).
///
/// # Errors
/// `Validation` on `current_password` when it is wrong; `NotFound` for an unknown user.
pub async fn change_password(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    user_id: Uuid,
    current: String,
    new: NewPassword,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let user = users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if !password::verify(current, Some(user.password_hash.clone())).await? {
        return Err(AppError::Validation(FieldErrors::single(
            "current_password",
            "Your current password is not correct.",
        )));
    }
    let new_hash = password::hash(new.expose().to_owned()).await?;
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let mut active: users::ActiveModel = user.into();
    active.password_hash = Set(new_hash);
    active.password_changed_at = Set(now);
    active.updated_at = Set(now);
    active.update(&txn).await?;
    sessions::Entity::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        AuditEvent {
            actor_id: Some(user_id),
            action: "password_changed",
            entity: Some(("user", user_id.to_string())),
            before: None,
            after: None,
            meta,
            at: now,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
