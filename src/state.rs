//! What every handler can reach, shared through `web::Data<AppState>`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{clock::SharedClock, config::Settings};

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
}
