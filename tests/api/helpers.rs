//! The one way tests start the app and talk to it.
//!
//! `spawn_app()` gives each test a fresh database: a temporary SQLite file, or,
//! when `TEST_DATABASE_URL` is set, a new schema of its own in that PostgreSQL
//! database. `Browser` is an HTTP client that keeps cookies, never follows
//! redirects, and reads the CSRF token from forms like a browser would.

use std::{
    io::Write,
    sync::{Arc, LazyLock, Mutex},
};

use chrono::{DateTime, TimeZone, Utc};
use crowdlend::{
    clock::FixedClock,
    config::Settings,
    db,
    domain::user::{Email, NewPassword, PersonName, Role},
    jobs::outbox::OutboxReport,
    mail::Mailer,
    services::{RequestMeta, auth},
    startup::Application,
    telemetry,
};
use reqwest::{StatusCode, header::LOCATION};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tempfile::TempDir;
use uuid::Uuid;

use crate::pg_wire::PgWire;

pub const PASSWORD: &str = "correct-horse-battery";

/// Everything the app logged while the tests ran (to check what never appears in logs).
pub static LOGS: LazyLock<Arc<Mutex<Vec<u8>>>> = LazyLock::new(|| {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = LogSink(buffer.clone());
    telemetry::init_subscriber(telemetry::get_subscriber("info", move || sink.clone()));
    buffer
});

#[derive(Clone)]
struct LogSink(Arc<Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).unwrap()
}

pub struct TestApp {
    pub address: String,
    pub db: DatabaseConnection,
    pub clock: FixedClock,
    /// The mailer the app's settings give (SMTP with `SMTP_URL`, else files).
    pub mailer: Mailer,
    data_dir: TempDir,
}

/// Starts the app with a fresh, migrated database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// As [`spawn_app`], without the per-user limit on money-moving requests:
/// for tests that script money moves faster than a person would (races, long
/// histories). The money rules must hold without it, as they do behind
/// several instances, where each counts its own window.
pub async fn spawn_app_without_money_limit() -> TestApp {
    spawn_app_with(&[("MONEY_RATE_LIMIT", "off")]).await
}

/// As [`spawn_app`], with extra settings (e.g. `BASE_URL`).
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let EmptyDatabase {
        url, db, data_dir, ..
    } = empty_database().await;
    db::migrate(&db, &FixedClock::at(start_time()))
        .await
        .unwrap();
    start(url, db, data_dir, extra).await
}

/// A database with no tables yet, for tests that migrate it themselves.
pub struct EmptyDatabase {
    pub url: String,
    pub db: DatabaseConnection,
    /// Holds the SQLite file; becomes the app's `DATA_DIR`.
    pub data_dir: TempDir,
    /// The PostgreSQL schema that is the database (`None` on SQLite).
    pub schema: Option<String>,
}

/// A fresh, empty database: a temporary SQLite file, or, when
/// `TEST_DATABASE_URL` is set, a new schema of its own in that PostgreSQL
/// database (every connection of `db` has it as its `search_path`).
pub async fn empty_database() -> EmptyDatabase {
    let data_dir = tempfile::tempdir().unwrap();
    let (url, schema) = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("t_{}", Uuid::new_v4().simple());
            let admin = db::connect(&url).await.unwrap();
            admin
                .execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
                .await
                .unwrap();
            admin.close().await.unwrap();
            (url, Some(schema))
        }
        _ => (
            format!(
                "sqlite://{}?mode=rwc",
                data_dir.path().join("app.db").display()
            ),
            None,
        ),
    };
    let db = db::connect_with_schema(&url, schema.as_deref())
        .await
        .unwrap();
    EmptyDatabase {
        url,
        db,
        data_dir,
        schema,
    }
}

/// What the app asked of its database: every statement (both databases)
/// and, on PostgreSQL, the round trips on the wire.
pub struct DbTraffic {
    statements: Arc<Mutex<Vec<String>>>,
    pub wire: Option<PgWire>,
}

impl DbTraffic {
    /// The statements run so far.
    pub fn statements(&self) -> Vec<String> {
        self.statements.lock().unwrap().clone()
    }
}

/// As [`spawn_app`], with the app's statements recorded and, on PostgreSQL,
/// its connections relayed through a [`PgWire`] that counts round trips.
pub async fn spawn_app_counting() -> (TestApp, DbTraffic) {
    let EmptyDatabase {
        url,
        db: setup,
        data_dir,
        schema,
    } = empty_database().await;
    db::migrate(&setup, &FixedClock::at(start_time()))
        .await
        .unwrap();
    let wire = match &schema {
        Some(_) => {
            let parsed = url::Url::parse(&url).unwrap();
            let upstream = format!(
                "{}:{}",
                parsed.host_str().unwrap(),
                parsed.port().unwrap_or(5432)
            );
            Some(PgWire::start(upstream).await)
        }
        None => None,
    };
    let app_url = match &wire {
        Some(wire) => {
            let mut relayed = url::Url::parse(&url).unwrap();
            relayed.set_host(Some("127.0.0.1")).unwrap();
            relayed.set_port(Some(wire.port)).unwrap();
            relayed.query_pairs_mut().append_pair("sslmode", "disable");
            relayed.to_string()
        }
        None => url.clone(),
    };
    setup.close().await.unwrap();
    let mut db = db::connect_with_schema(&app_url, schema.as_deref())
        .await
        .unwrap();
    let statements = Arc::new(Mutex::new(Vec::new()));
    let recorded = statements.clone();
    db.set_metric_callback(move |info| {
        recorded.lock().unwrap().push(info.statement.sql.clone());
    });
    let app = start(app_url, db, data_dir, &[]).await;
    (app, DbTraffic { statements, wire })
}

/// Starts the app on an existing database (already migrated).
pub async fn spawn_app_on(
    database_url: String,
    db: DatabaseConnection,
    data_dir: TempDir,
) -> TestApp {
    start(database_url, db, data_dir, &[]).await
}

async fn start(
    database_url: String,
    db: DatabaseConnection,
    data_dir: TempDir,
    extra: &[(&str, &str)],
) -> TestApp {
    LazyLock::force(&LOGS);
    let secret = "s".repeat(64);
    let dir = data_dir.path().to_string_lossy().into_owned();
    let vars = [
        ("DATABASE_URL", database_url.as_str()),
        ("BIND", "127.0.0.1:0"),
        ("SECRET_KEY", secret.as_str()),
        ("DATA_DIR", dir.as_str()),
    ];
    let (settings, _) = Settings::from_lookup(|name| {
        extra
            .iter()
            .chain(vars.iter())
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap();
    let clock = FixedClock::at(start_time());
    let mailer = Mailer::from_settings(&settings).unwrap();
    let app = Application::build(settings, db.clone(), Arc::new(clock.clone())).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        db,
        clock,
        mailer,
        data_dir,
    }
}

impl TestApp {
    /// The app's `DATA_DIR`.
    /// The address emails link to (the app's `BASE_URL`).
    pub fn base_url(&self) -> url::Url {
        url::Url::parse(&self.address).unwrap()
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// One pass of the outbox job, as `serve` runs it, at the test clock's
    /// time (the app itself sends nothing on its own in tests).
    pub async fn run_outbox(&self) -> OutboxReport {
        crowdlend::jobs::outbox::run(&self.db, &self.mailer, &self.clock)
            .await
            .unwrap()
    }

    /// The `.eml` files the file mailer wrote (no `SMTP_URL`), oldest first.
    pub fn mail_files(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.data_dir().join("mail")) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, String)> = entries
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .map(|path| {
                let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
                (modified, std::fs::read_to_string(&path).unwrap())
            })
            .collect();
        files.sort_by_key(|(modified, _)| *modified);
        files.into_iter().map(|(_, content)| content).collect()
    }

    /// The account with `email`, as stored.
    pub async fn user(&self, email: &str) -> crowdlend::db::entities::users::Model {
        use crowdlend::db::entities::users;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        users::Entity::find()
            .filter(users::Column::Email.eq(email))
            .one(&self.db)
            .await
            .unwrap()
            .expect("the account exists")
    }

    /// A new browser with an empty cookie jar.
    pub fn browser(&self) -> Browser {
        self.browser_with_headers(reqwest::header::HeaderMap::new())
    }

    /// A new browser whose every request reaches the app through a reverse
    /// proxy that sent `X-Forwarded-For: forwarded_for` (what the client
    /// wrote, if anything, then what each proxy appended).
    pub fn browser_behind_proxy(&self, forwarded_for: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            reqwest::header::HeaderValue::from_str(forwarded_for).unwrap(),
        );
        self.browser_with_headers(headers)
    }

    fn browser_with_headers(&self, headers: reqwest::header::HeaderMap) -> Browser {
        let cookies = Arc::new(reqwest::cookie::Jar::default());
        Browser {
            address: self.address.clone(),
            client: reqwest::Client::builder()
                .cookie_provider(cookies.clone())
                .default_headers(headers)
                .redirect(reqwest::redirect::Policy::none())
                // The server closes a connection idle for 5 s (actix's
                // keep-alive); one reused just as it closes fails the
                // request. A browser left idle that long opens a new one.
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .build()
                .unwrap(),
            cookies,
        }
    }

    /// A browser signed in as a new account of `role` (staff and admins are
    /// created as the CLI or an admin would).
    pub async fn signed_in(&self, role: Role) -> (Browser, TestUser) {
        let user = TestUser::new(role);
        let browser = self.browser();
        match role {
            Role::Borrower | Role::Investor => {
                let response = browser.register(&user).await;
                assert_eq!(
                    response.status(),
                    StatusCode::SEE_OTHER,
                    "registration failed"
                );
            }
            Role::Staff | Role::Admin => {
                self.create_account(&user).await;
                let response = browser.login(&user.email, &user.password).await;
                assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in failed");
            }
        }
        (browser, user)
    }

    pub async fn create_account(&self, user: &TestUser) {
        let email = Email::parse(&user.email).unwrap();
        let account = auth::NewAccount {
            password: NewPassword::parse(&user.password, Some(&email)).unwrap(),
            email,
            full_name: PersonName::parse(&user.name).unwrap(),
            role: user.role,
        };
        auth::create_account(
            &self.db,
            &self.clock,
            None,
            account,
            &RequestMeta::default(),
        )
        .await
        .unwrap();
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                sql,
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub email: String,
    pub name: String,
    pub password: String,
    pub role: Role,
}

impl TestUser {
    pub fn new(role: Role) -> Self {
        let id = Uuid::new_v4().simple().to_string();
        Self {
            email: format!("{}-{}@example.com", role.as_str(), &id[..12]),
            name: format!("Test {}", role.label()),
            password: format!("{PASSWORD}-{}", &id[..6]),
            role,
        }
    }
}

pub struct Browser {
    pub address: String,
    pub client: reqwest::Client,
    cookies: Arc<reqwest::cookie::Jar>,
}

impl Browser {
    /// The cookies this browser would send to the app, by name.
    pub fn cookies(&self) -> Vec<(String, String)> {
        use reqwest::cookie::CookieStore;
        let Some(header) = self
            .cookies
            .cookies(&url::Url::parse(&self.address).unwrap())
        else {
            return Vec::new();
        };
        header
            .to_str()
            .unwrap()
            .split("; ")
            .filter_map(|pair| pair.split_once('='))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    }

    /// Puts a cookie in the jar as if the app had set it (a copied or forged one).
    pub fn plant_cookie(&self, name: &str, value: &str) {
        self.cookies.add_cookie_str(
            &format!("{name}={value}; Path=/"),
            &url::Url::parse(&self.address).unwrap(),
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_html(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    /// A GET that presents `session_key` as the session cookie (a replayed or planted cookie).
    pub async fn get_with_session(&self, path: &str, session_key: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("Cookie", format!("crowdlend_session={session_key}"))
            .send()
            .await
            .unwrap()
    }

    /// The CSRF token in the forms of the page at `path`.
    pub async fn csrf_token(&self, path: &str) -> String {
        csrf_token_in(&self.get_html(path).await)
    }

    /// Posts `fields` as a form, exactly as given (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Fills in the form found on `form_page` and submits it to `action`.
    pub async fn submit(
        &self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let token = self.csrf_token(form_page).await;
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(action, &all).await
    }

    pub async fn register(&self, user: &TestUser) -> reqwest::Response {
        self.submit(
            "/register",
            "/register",
            &[
                ("email", &user.email),
                ("password", &user.password),
                ("password_confirm", &user.password),
                ("full_name", &user.name),
                ("role", user.role.as_str()),
                ("accept_terms", "on"),
            ],
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.submit(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Signs out using the token from any signed-in page.
    pub async fn logout(&self, from_page: &str) -> reqwest::Response {
        self.submit(from_page, "/logout", &[]).await
    }

    /// The value of the session cookie the server last set, if any.
    pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
        response
            .cookies()
            .find(|cookie| cookie.name() == "crowdlend_session")
            .map(|cookie| cookie.value().to_owned())
    }
}

/// The whole `Set-Cookie` header (value and attributes) for cookie `name`.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

pub fn csrf_token_in(html: &str) -> String {
    let document = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(r#"input[name="csrf_token"]"#).unwrap();
    document
        .select(&selector)
        .next()
        .and_then(|input| input.value().attr("value"))
        .filter(|token| !token.is_empty())
        .expect("the page has a form with a CSRF token")
        .to_owned()
}

pub fn assert_redirects_to(response: &reqwest::Response, location: &str) {
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "expected a redirect to {location}"
    );
    assert_eq!(
        response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some(location)
    );
}

/// The message shown next to a form field, if any.
pub fn field_error(html: &str, field: &str) -> Option<String> {
    let document = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(&format!("#{field}-error")).unwrap();
    document
        .select(&selector)
        .next()
        .map(|node| node.text().collect::<String>().trim().to_owned())
}

/// The value attribute of the input named `field`.
pub fn input_value(html: &str, field: &str) -> Option<String> {
    let document = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(&format!(r#"input[name="{field}"]"#)).unwrap();
    document
        .select(&selector)
        .next()
        .and_then(|input| input.value().attr("value").map(str::to_owned))
}

/// The `href`s of the elements matching the CSS `selector`, in page order.
pub fn hrefs_at(html: &str, selector: &str) -> Vec<String> {
    let document = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(selector).unwrap();
    document
        .select(&selector)
        .filter_map(|a| a.value().attr("href"))
        .map(str::to_owned)
        .collect()
}

/// The `href` of the first element matching the CSS `selector`.
pub fn href_at(html: &str, selector: &str) -> Option<String> {
    hrefs_at(html, selector).into_iter().next()
}

/// The trimmed text of the first element matching the CSS `selector`.
pub fn text_at(html: &str, selector: &str) -> Option<String> {
    texts_at(html, selector).into_iter().next()
}

/// The trimmed text of every element matching the CSS `selector`, in order.
pub fn texts_at(html: &str, selector: &str) -> Vec<String> {
    let document = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(selector).unwrap();
    document
        .select(&selector)
        .map(|node| node.text().collect::<String>().trim().to_owned())
        .collect()
}
