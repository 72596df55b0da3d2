//! actix-session's `SessionStore` over the `sessions` table. Sessions live on
//! the server so they can be ended for real: logout, a password change or
//! the idle timeout delete or expire the row, and a replayed cookie then finds
//! nothing. The cookie carries only a random key; the table stores its SHA-256,
//! so a copy of the database does not hand out live sessions.
//!
//! Rows read are kept in a [`SessionCache`] so a page view does not read the
//! table: this instance forgets a row the moment it ends one, and trusts a
//! cached row for [`REVALIDATE_AFTER`] at most, so a session ended by another
//! instance stops working here within that time. The idle timeout slides by
//! a write at most once every [`TOUCH_INTERVAL`], never on each page view.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{clock::SharedClock, db::entities::sessions, domain::ids::UserId};

/// A session unused for this long is over (ASVS 3.3.2: 30 minutes idle).
pub const IDLE_TIMEOUT: TimeDelta = TimeDelta::minutes(30);
/// A session older than this is over however active it is (ASVS 3.3.2: 12 hours).
pub const ABSOLUTE_TIMEOUT: TimeDelta = TimeDelta::hours(12);
/// `last_seen_at` is refreshed at most this often, so reads do not each cost a write.
pub const TOUCH_INTERVAL: TimeDelta = TimeDelta::seconds(60);
/// A cached row is read again after this long: how late a session ended on
/// another instance may still be honoured here.
pub const REVALIDATE_AFTER: TimeDelta = TimeDelta::seconds(5);
/// At most this many rows are cached; beyond it the stalest are dropped.
const CACHE_CAPACITY: usize = 100_000;

/// Session state keys that the store copies into columns.
pub const USER_ID_KEY: &str = "user_id";
pub const IP_KEY: &str = "ip";
pub const USER_AGENT_KEY: &str = "user_agent";

/// A session row as last read or written, keyed by the key's hash.
#[derive(Debug, Clone)]
struct CachedSession {
    id: Uuid,
    user_id: Option<Uuid>,
    state: HashMap<String, String>,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    read_at: DateTime<Utc>,
}

impl CachedSession {
    fn from_row(row: sessions::Model, state: HashMap<String, String>, now: DateTime<Utc>) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            state,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
            read_at: now,
        }
    }
}

/// The session rows this instance has read recently; shared by the store and
/// whoever ends sessions (a password change ends all of an account's).
#[derive(Debug, Clone, Default)]
pub struct SessionCache(Arc<Mutex<CacheInner>>);

#[derive(Debug, Default)]
struct CacheInner {
    rows: HashMap<String, CachedSession>,
    /// Counts [`SessionCache::forget_user`] calls: a row read before one is
    /// not cached after it (it may be a row that was just deleted).
    generation: u64,
}

impl SessionCache {
    /// Forgets every session of `user_id`, after their rows were deleted.
    pub fn forget_user(&self, user_id: UserId) {
        let user_id = user_id.as_uuid();
        self.with(|inner| {
            inner.generation += 1;
            inner.rows.retain(|_, row| row.user_id != Some(user_id));
        });
    }

    fn with<T>(&self, f: impl FnOnce(&mut CacheInner) -> T) -> T {
        // Every change below is whole before the lock is released, so a panic
        // elsewhere cannot have left a half-written cache behind.
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn generation(&self) -> u64 {
        self.with(|inner| inner.generation)
    }

    /// The row, if it was read less than [`REVALIDATE_AFTER`] ago.
    fn fresh(&self, key_hash: &str, now: DateTime<Utc>) -> Option<CachedSession> {
        self.with(|inner| {
            inner
                .rows
                .get(key_hash)
                .filter(|row| now - row.read_at < REVALIDATE_AFTER && row.expires_at > now)
                .cloned()
        })
    }

    /// Caches `row`, unless sessions were ended since `generation` was taken
    /// (before the row was read).
    fn put(&self, generation: u64, key_hash: String, row: CachedSession) {
        self.with(|inner| {
            if inner.generation != generation {
                inner.rows.remove(&key_hash);
                return;
            }
            if inner.rows.len() >= CACHE_CAPACITY && !inner.rows.contains_key(&key_hash) {
                let now = row.read_at;
                inner
                    .rows
                    .retain(|_, cached| now - cached.read_at < REVALIDATE_AFTER);
                if inner.rows.len() >= CACHE_CAPACITY {
                    inner.rows.clear();
                }
            }
            inner.rows.insert(key_hash, row);
        });
    }

    fn remove(&self, key_hash: &str) {
        self.with(|inner| inner.rows.remove(key_hash));
    }
}

#[derive(Clone)]
pub struct DbSessionStore {
    db: DatabaseConnection,
    clock: SharedClock,
    cache: SessionCache,
}

impl DbSessionStore {
    #[must_use]
    pub fn new(db: DatabaseConnection, clock: SharedClock, cache: SessionCache) -> Self {
        Self { db, clock, cache }
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

    async fn insert(&self, state: HashMap<String, String>) -> anyhow::Result<SessionKey> {
        let key = actix_session::storage::generate_session_key();
        let key_hash = hash_key(&key);
        let now = self.clock.now();
        let generation = self.cache.generation();
        let row = sessions::ActiveModel {
            id: Set(Uuid::now_v7()),
            key_hash: Set(key_hash.clone()),
            user_id: Set(user_id_of(&state)),
            state: Set(serde_json::to_string(&state)?),
            ip: Set(string_of(&state, IP_KEY)),
            user_agent: Set(string_of(&state, USER_AGENT_KEY)),
            created_at: Set(now),
            last_seen_at: Set(now),
            expires_at: Set(expiry(now, now)),
        }
        .insert(&self.db)
        .await?;
        self.cache.put(
            generation,
            key_hash,
            CachedSession::from_row(row, state, now),
        );
        Ok(key)
    }

    /// The row of `key_hash` from the table, cached; `None` when there is
    /// none or it has expired (then it is deleted).
    async fn read(
        &self,
        key_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<CachedSession>, LoadError> {
        let generation = self.cache.generation();
        let row = sessions::Entity::find()
            .filter(sessions::Column::KeyHash.eq(key_hash))
            .one(&self.db)
            .await
            .map_err(|err| LoadError::Other(err.into()))?;
        let Some(row) = row else {
            self.cache.remove(key_hash);
            return Ok(None);
        };
        if row.expires_at <= now {
            self.cache.remove(key_hash);
            sessions::Entity::delete_by_id(row.id)
                .exec(&self.db)
                .await
                .map_err(|err| LoadError::Other(err.into()))?;
            return Ok(None);
        }
        let state = serde_json::from_str(&row.state)
            .map_err(|err| LoadError::Deserialization(err.into()))?;
        let cached = CachedSession::from_row(row, state, now);
        self.cache
            .put(generation, key_hash.to_owned(), cached.clone());
        Ok(Some(cached))
    }

    /// Slides the idle timeout of a session in use, at most once a minute;
    /// false when its row has gone meanwhile.
    async fn touch(
        &self,
        key_hash: &str,
        mut row: CachedSession,
        now: DateTime<Utc>,
    ) -> Result<bool, LoadError> {
        if now - row.last_seen_at < TOUCH_INTERVAL {
            return Ok(true);
        }
        row.last_seen_at = now;
        row.expires_at = expiry(row.created_at, now);
        let generation = self.cache.generation();
        let result = sessions::Entity::update_many()
            .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
            .col_expr(sessions::Column::ExpiresAt, Expr::value(row.expires_at))
            .filter(sessions::Column::Id.eq(row.id))
            .exec(&self.db)
            .await
            .map_err(|err| LoadError::Other(err.into()))?;
        if result.rows_affected == 0 {
            self.cache.remove(key_hash);
            return Ok(false);
        }
        self.cache.put(generation, key_hash.to_owned(), row);
        Ok(true)
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
        let key_hash = hash_key(key);
        let row = match self.cache.fresh(&key_hash, now) {
            Some(row) => row,
            None => match self.read(&key_hash, now).await? {
                Some(row) => row,
                None => return Ok(None),
            },
        };
        let state = row.state.clone();
        Ok(self.touch(&key_hash, row, now).await?.then_some(state))
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        self.insert(state).await.map_err(SaveError::Other)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let serialized =
            serde_json::to_string(&state).map_err(|err| UpdateError::Serialization(err.into()))?;
        let key_hash = hash_key(&key);
        let user_id = user_id_of(&state);
        let generation = self.cache.generation();
        let result = sessions::Entity::update_many()
            .col_expr(sessions::Column::State, Expr::value(serialized))
            .col_expr(sessions::Column::UserId, Expr::value(user_id))
            .filter(sessions::Column::KeyHash.eq(&key_hash))
            .exec(&self.db)
            .await
            .map_err(|err| UpdateError::Other(err.into()))?;
        if result.rows_affected == 1 {
            let now = self.clock.now();
            match self.cache.fresh(&key_hash, now) {
                Some(mut row) => {
                    row.state = state;
                    row.user_id = user_id;
                    self.cache.put(generation, key_hash, row);
                }
                // Read again on the next request rather than guessed.
                None => self.cache.remove(&key_hash),
            }
            return Ok(key);
        }
        // The row was deleted while this request ran (a logout elsewhere): never
        // bring a signed-in session back; keep only what an anonymous visitor has.
        self.cache.remove(&key_hash);
        let mut anonymous = state;
        anonymous.retain(|k, _| k == "flash");
        self.insert(anonymous).await.map_err(UpdateError::Other)
    }

    async fn update_ttl(&self, _key: &SessionKey, _ttl: &CookieDuration) -> anyhow::Result<()> {
        // Expiry follows our own idle and absolute limits, refreshed in `load`.
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        let key_hash = hash_key(key);
        self.cache.remove(&key_hash);
        sessions::Entity::delete_many()
            .filter(sessions::Column::KeyHash.eq(key_hash))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
