//! Typed access to the server-side session: who is signed in and when they
//! last typed their password, the CSRF token, flash messages. Nothing else
//! is kept in it.

use actix_session::Session;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::{
    db::session_store::{IP_KEY, USER_AGENT_KEY, USER_ID_KEY},
    domain::{ids::UserId, user::Role},
    services::{RequestMeta, auth::SignedIn},
    web::error::WebError,
};

const ROLE_KEY: &str = "role";
const NAME_KEY: &str = "name";
const CSRF_KEY: &str = "csrf";
const FLASH_KEY: &str = "flash";
const PASSWORD_AT_KEY: &str = "password_at";

/// How long a typed password vouches for sensitive actions (withdrawals, new
/// bank details) before they ask for it again.
pub const PASSWORD_FRESH_MINUTES: i64 = 15;

/// The signed-in user as the session records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub id: UserId,
    pub role: Role,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashLevel {
    Success,
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub level: FlashLevel,
    pub message: String,
}

impl Flash {
    #[must_use]
    pub fn css_class(&self) -> &'static str {
        match self.level {
            FlashLevel::Success => "flash-success",
            FlashLevel::Info => "flash-info",
            FlashLevel::Warning => "flash-warning",
            FlashLevel::Error => "flash-error",
        }
    }

    #[must_use]
    pub fn role(&self) -> &'static str {
        match self.level {
            FlashLevel::Error | FlashLevel::Warning => "alert",
            FlashLevel::Success | FlashLevel::Info => "status",
        }
    }
}

fn session_error(err: impl std::fmt::Display) -> WebError {
    WebError::Unexpected(anyhow::anyhow!("session error: {err}"))
}

/// The signed-in user, if any. A session with a half-written or unreadable
/// user is treated as anonymous.
#[must_use]
pub fn current_user(session: &Session) -> Option<SessionUser> {
    let id = session.get::<UserId>(USER_ID_KEY).ok().flatten()?;
    let role = session.get::<Role>(ROLE_KEY).ok().flatten()?;
    let name = session.get::<String>(NAME_KEY).ok().flatten()?;
    Some(SessionUser { id, role, name })
}

/// Starts a signed-in session under a new key (the old one is deleted, so a
/// key planted before sign-in is worthless: no session fixation), with a new
/// CSRF token.
///
/// # Errors
/// When the session cannot be written.
pub fn sign_in(
    session: &Session,
    user: &SignedIn,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<(), WebError> {
    let flashes = pending_flashes(session);
    session.clear();
    session.renew();
    session
        .insert(USER_ID_KEY, user.user_id)
        .map_err(session_error)?;
    session.insert(ROLE_KEY, user.role).map_err(session_error)?;
    session
        .insert(NAME_KEY, &user.full_name)
        .map_err(session_error)?;
    session
        .insert(CSRF_KEY, new_token())
        .map_err(session_error)?;
    password_confirmed(session, now);
    if let Some(ip) = &meta.ip {
        session.insert(IP_KEY, ip).map_err(session_error)?;
    }
    if let Some(agent) = &meta.user_agent {
        let agent: String = agent.chars().take(300).collect();
        session
            .insert(USER_AGENT_KEY, agent)
            .map_err(session_error)?;
    }
    if !flashes.is_empty() {
        session.insert(FLASH_KEY, flashes).map_err(session_error)?;
    }
    Ok(())
}

/// Records that the user typed their password just now.
pub fn password_confirmed(session: &Session, now: DateTime<Utc>) {
    if let Err(err) = session.insert(PASSWORD_AT_KEY, now.timestamp()) {
        tracing::warn!(error = %err, "could not store the password confirmation time");
    }
}

/// Whether the user typed their password in the last
/// [`PASSWORD_FRESH_MINUTES`] (at sign-in or when asked again).
#[must_use]
pub fn password_is_fresh(session: &Session, now: DateTime<Utc>) -> bool {
    session
        .get::<i64>(PASSWORD_AT_KEY)
        .ok()
        .flatten()
        .is_some_and(|at| (0..=PASSWORD_FRESH_MINUTES * 60).contains(&(now.timestamp() - at)))
}

/// Ends the session: its row is deleted (a replayed cookie finds nothing) and
/// an empty anonymous one takes its place, so a flash can still be shown.
pub fn sign_out(session: &Session) {
    session.clear();
    session.renew();
}

/// The token if the session has one (reading never creates a session).
#[must_use]
pub fn existing_csrf_token(session: &Session) -> Option<String> {
    session.get::<String>(CSRF_KEY).ok().flatten()
}

fn new_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Queues a message for the next page shown (post/redirect/get).
pub fn flash(session: &Session, level: FlashLevel, message: impl Into<String>) {
    let mut flashes = pending_flashes(session);
    flashes.push(Flash {
        level,
        message: message.into(),
    });
    if let Err(err) = session.insert(FLASH_KEY, flashes) {
        tracing::warn!(error = %err, "could not store a flash message");
    }
}

fn pending_flashes(session: &Session) -> Vec<Flash> {
    session
        .get::<Vec<Flash>>(FLASH_KEY)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Takes the queued messages (writing the session only when there were some).
#[must_use]
pub fn take_flashes(session: &Session) -> Vec<Flash> {
    if !session.contains_key(FLASH_KEY) {
        return Vec::new();
    }
    let flashes = pending_flashes(session);
    session.remove(FLASH_KEY);
    flashes
}
