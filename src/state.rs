//! What every handler can reach, shared through `web::Data<AppState>`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    clock::SharedClock,
    config::Settings,
    db::{queries::marketplace::ListingsCache, session_store::SessionCache},
    web::money_limit::MoneyLimit,
};

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
    /// Every user's recent money-moving submissions, for their rate limit.
    pub money_limit: Arc<MoneyLimit>,
    /// The session rows this instance has read (the session store's cache).
    pub sessions: SessionCache,
    /// The marketplace pages this instance has read recently.
    pub listings: ListingsCache,
}
