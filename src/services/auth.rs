//! Registration, sign-in (with lockout and per-address throttling), password
//! changes. Every function here is one transaction.
//!
//! Guessing is slowed down as OWASP's "device cookies" describe. A browser
//! that signs in successfully becomes a known device of the account (a
//! `login_devices` row, named by a signed cookie the web layer keeps). An
//! attempt from a known device is trusted with the account: the per-address
//! throttle and the account lockout do not apply to it, and its wrong
//! passwords count on the device instead, which locks after
//! [`DEVICE_LOCKOUT_THRESHOLD`] of them; a locked device is treated as
//! unknown. Attempts from unknown browsers go through the per-address
//! throttle and the account lockout. So someone guessing from an office's
//! address, or at one account, locks out only other unknown browsers, never
//! the people who have signed in from theirs before.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::{audit_log, login_devices, sessions, users, wallets},
        session_store::SessionCache,
    },
    domain::ids::UserId,
    domain::user::{Email, KycStatus, NewPassword, PersonName, Role},
    domain::wallet::WalletKind,
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
/// address is refused to unknown browsers. Successful ones never count, and
/// known devices are never refused, so the people behind one office router
/// who have signed in before keep signing in.
pub const IP_FAILURE_LIMIT: u64 = 20;
/// Wrong passwords in a row from a known device that lock that device (for
/// [`LOCKOUT_MINUTES`]); it is then treated as an unknown browser.
pub const DEVICE_LOCKOUT_THRESHOLD: i32 = 5;
/// How long a device stays known without signing in (the device cookie's
/// lifetime, renewed by each sign-in from it).
pub const DEVICE_REMEMBERED_DAYS: i64 = 180;

/// The currency every wallet opens in until multi-currency wallets exist.
pub const DEFAULT_CURRENCY: &str = "RUB";

/// Who is signed in: what the session keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub user_id: UserId,
    pub role: Role,
    pub full_name: String,
}

impl SignedIn {
    fn from_model(user: &users::Model) -> Result<Self, AppError> {
        let role = Role::parse(&user.role).ok_or_else(|| {
            anyhow::anyhow!("user {} has an unknown role {:?}", user.id, user.role)
        })?;
        Ok(Self {
            user_id: UserId::from_uuid(user.id),
            role,
            full_name: user.full_name.clone(),
        })
    }
}

/// A successful sign-in: who, and the device (browser) now known for the
/// account, whose id the web layer puts in the signed device cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub user: SignedIn,
    pub device_id: Uuid,
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

/// Creates a borrower or investor account with its wallet and signs it in;
/// the browser that chose the password becomes a known device of the account.
///
/// # Errors
/// `Validation` when the email is taken (compared case-insensitively) or the role
/// cannot self-register; `Unexpected` on storage failures.
pub async fn register(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    account: NewAccount,
    meta: &RequestMeta,
) -> Result<Authenticated, AppError> {
    if !account.role.is_self_registrable() {
        return Err(AppError::Validation(FieldErrors::single(
            "role",
            "Choose borrower or investor.",
        )));
    }
    let (user, device_id) = create_user(db, clock, CreatedBy::Themselves, account, meta).await?;
    let device_id =
        device_id.ok_or_else(|| anyhow::anyhow!("a registration remembers its browser"))?;
    Ok(Authenticated {
        user: SignedIn::from_model(&user)?,
        device_id,
    })
}

/// Creates an account of any role on behalf of an admin (`actor`) or the
/// `create-admin` command (`actor` = `None`).
///
/// # Errors
/// `Validation` when the email is taken; `Unexpected` on storage failures.
pub async fn create_account(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    actor: Option<UserId>,
    account: NewAccount,
    meta: &RequestMeta,
) -> Result<UserId, AppError> {
    create_user(db, clock, CreatedBy::Admin(actor), account, meta)
        .await
        .map(|(user, _)| UserId::from_uuid(user.id))
}

/// Who opens an account: the person themselves (registration, which also
/// makes their browser a known device), or an admin (`Some`) or the
/// `create-admin` command (`None`) on their behalf.
#[derive(Debug, Clone, Copy)]
enum CreatedBy {
    Themselves,
    Admin(Option<UserId>),
}

/// Creates the user (with a wallet for borrowers and investors); returns the
/// registering browser's device id for a registration.
async fn create_user(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    created_by: CreatedBy,
    account: NewAccount,
    meta: &RequestMeta,
) -> Result<(users::Model, Option<Uuid>), AppError> {
    let (actor, action) = match created_by {
        CreatedBy::Themselves => (None, "user_registered"),
        CreatedBy::Admin(actor) => (actor, "user_created"),
    };
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
        open_wallet(&txn, UserId::from_uuid(user.id), now).await?;
    }
    let device_id = match created_by {
        CreatedBy::Themselves => {
            Some(remember_device(&txn, UserId::from_uuid(user.id), now).await?)
        }
        CreatedBy::Admin(_) => None,
    };
    audit::record(
        &txn,
        AuditEvent {
            actor_id: actor.or(Some(UserId::from_uuid(user.id))),
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
    db::commit(txn).await?;
    Ok((user, device_id))
}

async fn open_wallet(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    wallets::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(Some(user_id.into())),
        kind: Set(WalletKind::User.as_str().to_owned()),
        currency: Set(DEFAULT_CURRENCY.to_owned()),
        balance: Set(0),
        reserved: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        posting_count: Set(0),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Checks an email and password. `known_devices` are the device ids the
/// browser proved it holds (validly signed device cookies); one that belongs
/// to this account and is neither locked nor forgotten makes the attempt
/// trusted (see the module header).
///
/// An attempt from an unknown browser is refused when its address has had
/// [`IP_FAILURE_LIMIT`] failures in the last [`LOCKOUT_MINUTES`] or while the
/// account is locked; five wrong passwords in a row from unknown browsers
/// lock the account for fifteen minutes. A trusted attempt meets neither
/// limit; its wrong passwords lock only the device. A successful sign-in
/// returns the device to remember (the known one, or a new one). Every
/// attempt but those refused for their address is audited.
///
/// # Errors
/// A [`LoginError`] saying why the attempt was refused.
pub async fn authenticate(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    email: &str,
    password_attempt: String,
    known_devices: &[Uuid],
    meta: &RequestMeta,
) -> Result<Authenticated, LoginError> {
    let now = clock.now();
    let user = match Email::parse(email) {
        Ok(email) => users::Entity::find()
            .filter(users::Column::Email.eq(email.as_str()))
            .one(db)
            .await
            .map_err(AppError::from)?,
        Err(_) => None,
    };
    let trusted_device = match &user {
        Some(user) => trusted_device(db, UserId::from_uuid(user.id), known_devices, now).await?,
        None => None,
    };

    if trusted_device.is_none() {
        if address_is_throttled(db, meta, now).await? {
            return Err(LoginError::Throttled);
        }
        if let Some(user) = &user
            && let Some(until) = user.locked_until
            && until > now
        {
            record_failure(
                db,
                clock,
                Some(UserId::from_uuid(user.id)),
                Failure::AccountLocked,
                meta,
            )
            .await?;
            return Err(LoginError::Locked { until });
        }
    }

    let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
    let matches = password::verify(password_attempt, stored_hash)
        .await
        .map_err(AppError::from)?;

    match (user, trusted_device) {
        (Some(user), device) if matches => {
            let device_id = record_success(db, &user, device.as_ref(), meta, now).await?;
            Ok(Authenticated {
                user: SignedIn::from_model(&user)?,
                device_id,
            })
        }
        (Some(user), Some(device)) => {
            record_device_failure(db, UserId::from_uuid(user.id), &device, meta, now).await?;
            Err(LoginError::InvalidCredentials)
        }
        (Some(user), None) => {
            let locked_until = record_failure(
                db,
                clock,
                Some(UserId::from_uuid(user.id)),
                Failure::WrongPassword,
                meta,
            )
            .await?;
            match locked_until {
                Some(until) => Err(LoginError::Locked { until }),
                None => Err(LoginError::InvalidCredentials),
            }
        }
        (None, _) => {
            record_failure(db, clock, None, Failure::UnknownEmail, meta).await?;
            Err(LoginError::InvalidCredentials)
        }
    }
}

/// The account's device among `known_devices` that may be trusted now: used
/// within [`DEVICE_REMEMBERED_DAYS`] and not locked.
async fn trusted_device(
    db: &DatabaseConnection,
    user_id: UserId,
    known_devices: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Option<login_devices::Model>, AppError> {
    if known_devices.is_empty() {
        return Ok(None);
    }
    let device = login_devices::Entity::find()
        .filter(login_devices::Column::Id.is_in(known_devices.iter().copied()))
        .filter(login_devices::Column::UserId.eq(user_id))
        .filter(login_devices::Column::LastUsedAt.gt(now - device_memory()))
        .filter(
            Condition::any()
                .add(login_devices::Column::LockedUntil.is_null())
                .add(login_devices::Column::LockedUntil.lte(now)),
        )
        .one(db)
        .await?;
    Ok(device)
}

fn device_memory() -> TimeDelta {
    TimeDelta::days(DEVICE_REMEMBERED_DAYS)
}

/// Whether the request's address has had [`IP_FAILURE_LIMIT`] failed
/// sign-ins in the last [`LOCKOUT_MINUTES`].
async fn address_is_throttled(
    db: &DatabaseConnection,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let Some(ip) = &meta.ip else {
        return Ok(false);
    };
    let recent_failures = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("login_failed"))
        .filter(audit_log::Column::Ip.eq(ip.as_str()))
        .filter(audit_log::Column::CreatedAt.gt(now - TimeDelta::minutes(LOCKOUT_MINUTES)))
        .count(db)
        .await?;
    Ok(recent_failures >= IP_FAILURE_LIMIT)
}

/// Audits a successful sign-in and remembers the device: a known device's
/// failures are forgotten and its memory renewed; an unknown browser becomes
/// a new device, and the account's failure count and lock are cleared (a
/// known device leaves them alone: its success says nothing about the
/// guesses unknown browsers made). Returns the device's id.
async fn record_success(
    db: &DatabaseConnection,
    user: &users::Model,
    trusted_device: Option<&login_devices::Model>,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<Uuid, AppError> {
    let txn = db::begin_write(db).await?;
    let device_id = if let Some(device) = trusted_device {
        login_devices::Entity::update_many()
            .col_expr(login_devices::Column::FailedCount, Expr::value(0))
            .col_expr(login_devices::Column::LastUsedAt, Expr::value(now))
            .filter(login_devices::Column::Id.eq(device.id))
            .exec(&txn)
            .await?;
        device.id
    } else {
        users::Entity::update_many()
            .col_expr(users::Column::FailedLoginCount, Expr::value(0))
            .col_expr(
                users::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(users::Column::Id.eq(user.id))
            .exec(&txn)
            .await?;
        remember_device(&txn, UserId::from_uuid(user.id), now).await?
    };
    audit::record(
        &txn,
        AuditEvent {
            actor_id: Some(UserId::from_uuid(user.id)),
            action: "login_succeeded",
            entity: Some(("user", user.id.to_string())),
            before: None,
            after: Some(json!({ "known_device": trusted_device.is_some() })),
            meta,
            at: now,
        },
    )
    .await?;
    db::commit(txn).await?;
    Ok(device_id)
}

/// Stores a new known device for the account; returns its id (random, as
/// the device cookie carries it).
async fn remember_device(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<Uuid, DbErr> {
    let device = login_devices::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(user_id.into()),
        failed_count: Set(0),
        locked_until: Set(None),
        created_at: Set(now),
        last_used_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(device.id)
}

/// Audits a wrong password from a known device and counts it on the device,
/// which locks at [`DEVICE_LOCKOUT_THRESHOLD`] in a row. The account's own
/// count is not touched.
async fn record_device_failure(
    db: &DatabaseConnection,
    user_id: UserId,
    device: &login_devices::Model,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let txn = db::begin_write(db).await?;
    // A relative update: concurrent failures each count once.
    login_devices::Entity::update_many()
        .col_expr(
            login_devices::Column::FailedCount,
            Expr::col(login_devices::Column::FailedCount).add(1),
        )
        .filter(login_devices::Column::Id.eq(device.id))
        .exec(&txn)
        .await?;
    let failed_count = login_devices::Entity::find_by_id(device.id)
        .one(&txn)
        .await?
        .map_or(0, |device| device.failed_count);
    let device_locked = failed_count >= DEVICE_LOCKOUT_THRESHOLD;
    if device_locked {
        login_devices::Entity::update_many()
            .col_expr(login_devices::Column::FailedCount, Expr::value(0))
            .col_expr(
                login_devices::Column::LockedUntil,
                Expr::value(Some(now + TimeDelta::minutes(LOCKOUT_MINUTES))),
            )
            .filter(login_devices::Column::Id.eq(device.id))
            .exec(&txn)
            .await?;
    }
    audit::record(
        &txn,
        AuditEvent {
            actor_id: Some(user_id),
            action: "login_failed",
            entity: Some(("user", user_id.to_string())),
            before: None,
            after: Some(json!({
                "reason": Failure::WrongPassword.as_str(),
                "locked": false,
                "known_device": true,
                "device_locked": device_locked,
            })),
            meta,
            at: now,
        },
    )
    .await?;
    db::commit(txn).await?;
    Ok(())
}

/// Forgets devices that have not signed in for [`DEVICE_REMEMBERED_DAYS`]
/// (their cookies have expired too); returns how many. `serve` runs it
/// periodically.
///
/// # Errors
/// On database failure.
pub async fn forget_unused_devices(
    db: &DatabaseConnection,
    clock: &dyn Clock,
) -> Result<u64, AppError> {
    let result = login_devices::Entity::delete_many()
        .filter(login_devices::Column::LastUsedAt.lte(clock.now() - device_memory()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
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
    user_id: UserId,
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
                actor_id: Some(UserId::from_uuid(user.id)),
                action: "password_confirmed",
                entity: Some(("user", user.id.to_string())),
                before: None,
                after: None,
                meta,
                at: now,
            },
        )
        .await?;
        db::commit(txn).await?;
        return Ok(());
    }
    match record_failure(
        db,
        clock,
        Some(UserId::from_uuid(user.id)),
        Failure::WrongPassword,
        meta,
    )
    .await?
    {
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
    user_id: Option<UserId>,
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
    db::commit(txn).await?;
    Ok(locked_until)
}

/// Records a sign-out in the audit log (the session itself is ended by the web layer).
///
/// # Errors
/// When the audit insert fails.
pub async fn record_logout(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    user_id: UserId,
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
    sessions: &SessionCache,
    user_id: UserId,
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
    db::commit(txn).await?;
    sessions.forget_user(user_id);
    Ok(())
}
