//! actix-session's `SessionStore` over the `sessions` table. Sessions live on
//! the server so they can be ended for real: logout, a password change or
//! the idle timeout delete or expire the row, and a replayed cookie then finds
//! nothing. The cookie carries only a random key; the table stores its SHA-256,
//! so a copy of the database does not hand out live sessions.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{clock::SharedClock, db::entities::sessions};

/// A session unused for this long is over (ASVS 3.3.2: 30 minutes idle).
pub const IDLE_TIMEOUT: TimeDelta = TimeDelta::minutes(30);
/// A session older than this is over however active it is (ASVS 3.3.2: 12 hours).
pub const ABSOLUTE_TIMEOUT: TimeDelta = TimeDelta::hours(12);
/// `last_seen_at` is refreshed at most this often, so reads do not each cost a write.
const TOUCH_INTERVAL: TimeDelta = TimeDelta::seconds(60);

/// Session state keys that the store copies into columns.
pub const USER_ID_KEY: &str = "user_id";
pub const IP_KEY: &str = "ip";
pub const USER_AGENT_KEY: &str = "user_agent";

#[derive(Clone)]
pub struct DbSessionStore {
    db: DatabaseConnection,
    clock: SharedClock,
}

impl DbSessionStore {
    #[must_use]
    pub fn new(db: DatabaseConnection, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    /// Deletes expired sessions; returns how many.
    ///
    /// # Errors
    /// On database failure.
    pub async fn purge_expired(&self) -> Result<u64, sea_orm::DbErr> {
        let result = sessions::Entity::delete_many()
            .filter(sessions::Column::ExpiresAt.lte(self.clock.now()))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected)
    }

    async fn insert(&self, state: &HashMap<String, String>) -> anyhow::Result<SessionKey> {
        let key = actix_session::storage::generate_session_key();
        let now = self.clock.now();
        sessions::ActiveModel {
            id: Set(Uuid::now_v7()),
            key_hash: Set(hash_key(&key)),
            user_id: Set(user_id_of(state)),
            state: Set(serde_json::to_string(state)?),
            ip: Set(string_of(state, IP_KEY)),
            user_agent: Set(string_of(state, USER_AGENT_KEY)),
            created_at: Set(now),
            last_seen_at: Set(now),
            expires_at: Set(expiry(now, now)),
        }
        .insert(&self.db)
        .await?;
        Ok(key)
    }
}

fn hash_key(key: &SessionKey) -> String {
    hex::encode(Sha256::digest(key.as_ref().as_bytes()))
}

fn expiry(created_at: DateTime<Utc>, last_seen_at: DateTime<Utc>) -> DateTime<Utc> {
    (last_seen_at + IDLE_TIMEOUT).min(created_at + ABSOLUTE_TIMEOUT)
}

fn string_of(state: &HashMap<String, String>, key: &str) -> Option<String> {
    state
        .get(key)
        .and_then(|raw| serde_json::from_str::<String>(raw).ok())
}

fn user_id_of(state: &HashMap<String, String>) -> Option<Uuid> {
    state
        .get(USER_ID_KEY)
        .and_then(|raw| serde_json::from_str::<Uuid>(raw).ok())
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        let now = self.clock.now();
        let row = sessions::Entity::find()
            .filter(sessions::Column::KeyHash.eq(hash_key(key)))
            .one(&self.db)
            .await
            .map_err(|err| LoadError::Other(err.into()))?;
        let Some(row) = row else { return Ok(None) };
        if row.expires_at <= now {
            sessions::Entity::delete_by_id(row.id)
                .exec(&self.db)
                .await
                .map_err(|err| LoadError::Other(err.into()))?;
            return Ok(None);
        }
        if now - row.last_seen_at >= TOUCH_INTERVAL {
            sessions::Entity::update_many()
                .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
                .col_expr(
                    sessions::Column::ExpiresAt,
                    Expr::value(expiry(row.created_at, now)),
                )
                .filter(sessions::Column::Id.eq(row.id))
                .exec(&self.db)
                .await
                .map_err(|err| LoadError::Other(err.into()))?;
        }
        serde_json::from_str(&row.state)
            .map(Some)
            .map_err(|err| LoadError::Deserialization(err.into()))
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        self.insert(&state).await.map_err(SaveError::Other)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let serialized =
            serde_json::to_string(&state).map_err(|err| UpdateError::Serialization(err.into()))?;
        let result = sessions::Entity::update_many()
            .col_expr(sessions::Column::State, Expr::value(serialized))
            .col_expr(sessions::Column::UserId, Expr::value(user_id_of(&state)))
            .filter(sessions::Column::KeyHash.eq(hash_key(&key)))
            .exec(&self.db)
            .await
            .map_err(|err| UpdateError::Other(err.into()))?;
        if result.rows_affected == 1 {
            return Ok(key);
        }
        // The row was deleted while this request ran (a logout elsewhere): never
        // bring a signed-in session back; keep only what an anonymous visitor has.
        let mut anonymous = state;
        anonymous.retain(|k, _| k == "flash");
        self.insert(&anonymous).await.map_err(UpdateError::Other)
    }

    async fn update_ttl(&self, _key: &SessionKey, _ttl: &CookieDuration) -> anyhow::Result<()> {
        // Expiry follows our own idle and absolute limits, refreshed in `load`.
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        sessions::Entity::delete_many()
            .filter(sessions::Column::KeyHash.eq(hash_key(key)))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
