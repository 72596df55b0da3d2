//! Builds the HTTP server: middleware in order, sessions, the route table.

use std::{net::TcpListener, sync::Arc};

use actix_session::{
    SessionMiddleware,
    config::{BrowserSession, CookieContentSecurity},
};
use actix_web::{
    App, HttpServer,
    cookie::{Key, SameSite},
    dev::Server,
    middleware::from_fn,
    web::{self, Data},
};
use anyhow::Context;
use sea_orm::DatabaseConnection;

use crate::{
    clock::SharedClock,
    config::Settings,
    db::{
        queries::marketplace::ListingsCache,
        session_store::{DbSessionStore, SessionCache},
    },
    state::AppState,
    web::{
        self as routes,
        csrf::{self, AnonymousTokens},
        device_cookie::DeviceCookies,
        error::error_pages,
        headers,
        money_limit::MoneyLimit,
        observe,
    },
};

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds `settings.bind` (port 0 picks a free port) and builds the server.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub fn build(
        settings: Settings,
        db: DatabaseConnection,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let server = run(listener, settings, db, clock)?;
        Ok(Self { port, server })
    }

    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the process is asked to stop.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn run(
    listener: TcpListener,
    settings: Settings,
    db: DatabaseConnection,
    clock: SharedClock,
) -> anyhow::Result<Server> {
    let secure = settings.cookies_secure();
    let key = Key::derive_from(settings.secret_key.expose().as_bytes());
    let cookie_name = if secure {
        "__Host-crowdlend"
    } else {
        "crowdlend_session"
    };
    let session_cache = SessionCache::default();
    let store = DbSessionStore::new(db.clone(), clock.clone(), session_cache.clone());
    let device_cookies = Data::new(DeviceCookies::from_settings(&settings));
    let anonymous_tokens = Data::new(AnonymousTokens::from_settings(&settings, clock.clone()));
    let metrics = Data::new(observe::Metrics::new().context("cannot register metrics")?);
    let state = Data::new(AppState {
        db,
        clock,
        money_limit: Arc::new(MoneyLimit::new(settings.money_rate_limit)),
        sessions: session_cache,
        listings: ListingsCache::default(),
        settings: Arc::new(settings),
    });

    let server = HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(store.clone(), key.clone())
            .cookie_name(cookie_name.to_owned())
            .cookie_secure(secure)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_path("/".to_owned())
            .cookie_content_security(CookieContentSecurity::Signed)
            .session_lifecycle(BrowserSession::default())
            .build();
        // Listed innermost first: the last `wrap` sees the request first.
        App::new()
            .wrap(from_fn(csrf::verify_csrf))
            .wrap(from_fn(error_pages))
            .wrap(sessions)
            .wrap(headers::security_headers(secure))
            .wrap(from_fn(observe::observe))
            .app_data(state.clone())
            .app_data(device_cookies.clone())
            .app_data(anonymous_tokens.clone())
            .app_data(metrics.clone())
            .app_data(web::PayloadConfig::new(csrf::MAX_FORM_BYTES))
            .app_data(
                web::PathConfig::default()
                    .error_handler(|_, _| routes::error::WebError::NotFound.into()),
            )
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                routes::error::WebError::BadRequest(format!(
                    "The address has a parameter this page cannot read ({err})."
                ))
                .into()
            }))
            .configure(routes::routes)
            .default_service(web::to(routes::not_found))
    })
    .listen(listener)?
    .shutdown_timeout(10)
    .run();
    Ok(server)
}
