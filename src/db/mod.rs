//! Connecting, migrating, and opening write transactions. The same code runs on
//! SQLite and PostgreSQL; the differences live here.

pub mod entities;
pub mod queries;
pub mod session_store;

use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

/// Opens a pool. SQLite runs in WAL mode with foreign keys on and a busy
/// timeout, so readers never block the one writer and writers queue instead of
/// failing; the file's folder is created when missing.
///
/// # Errors
/// When the database cannot be reached or opened.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_with_schema(url, None).await
}

/// As [`connect`], with every connection's `search_path` set to `schema`
/// (PostgreSQL only; the tests give each app its own schema).
///
/// # Errors
/// When the database cannot be reached or opened.
pub async fn connect_with_schema(
    url: &str,
    schema: Option<&str>,
) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(15));
    if url.starts_with("sqlite:") {
        create_sqlite_parent_dir(url)?;
        options
            .max_connections(8)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(30))
            });
    } else {
        options.max_connections(20).min_connections(1);
        if let Some(schema) = schema {
            options.set_schema_search_path(schema.to_owned());
        }
    }
    Database::connect(options).await.with_context(|| {
        format!(
            "cannot open the database {}",
            crate::config::redact_url(url)
        )
    })
}

fn create_sqlite_parent_dir(url: &str) -> anyhow::Result<()> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path.starts_with(':') {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    }
    Ok(())
}

/// Applies every pending migration; a no-op when the schema is current.
///
/// # Errors
/// When a migration fails.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<usize> {
    let pending = Migrator::get_pending_migrations(db)
        .await
        .context("cannot read the migration table")?
        .len();
    Migrator::up(db, None).await.context("migration failed")?;
    Ok(pending)
}

/// Starts a transaction that will write. On SQLite it takes the write lock at
/// `BEGIN` (`BEGIN IMMEDIATE`): a deferred transaction that reads first and
/// upgrades later fails with SQLITE_BUSY under concurrency instead of waiting.
///
/// # Errors
/// When the transaction cannot be started.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await
        }
        _ => db.begin().await,
    }
}

/// `SELECT 1`, for the health check.
///
/// # Errors
/// When the database does not answer.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}
