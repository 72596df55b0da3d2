//! Connecting, migrating, and opening write transactions. The same code runs on
//! SQLite and PostgreSQL; the differences live here.

pub mod convert;
pub mod entities;
pub mod queries;
pub mod repo;
pub mod session_store;

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use anyhow::Context;
use migration::{Migrator, MigratorTrait};

use crate::{
    clock::Clock,
    db::entities::{ledger_head, wallets},
    domain::wallet::WalletKind,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
    sea_query::{Expr, ExprTrait},
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
    if url.starts_with("sqlite:") {
        create_sqlite_parent_dir(url)?;
    }
    open(url, schema, Access::ReadWrite).await
}

/// Opens a pool that cannot change anything, for commands that only read
/// (`verify`): SQLite opens the file read-only and never creates it,
/// PostgreSQL starts every transaction read-only.
///
/// # Errors
/// When the database cannot be reached or opened (a missing SQLite file included).
pub async fn connect_read_only(url: &str) -> anyhow::Result<DatabaseConnection> {
    open(url, None, Access::ReadOnly).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    ReadWrite,
    ReadOnly,
}

async fn open(
    url: &str,
    schema: Option<&str>,
    access: Access,
) -> anyhow::Result<DatabaseConnection> {
    let read_only = access == Access::ReadOnly;
    let mut options = ConnectOptions::new(url.to_owned());
    // The pool would otherwise ping every connection it hands out: a second
    // round trip for each statement. Only one idle long enough to have been
    // dropped by the server (a restart, a firewall's idle cut) is tested.
    // Upstream sqlx also pings every connection it takes back; ours (see
    // vendor/sqlx-core) does so only when a rollback is queued on it or its
    // last test is a second old, in a task of its own, off the request's path.
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(15))
        .test_before_acquire_if_idle_for(Duration::from_secs(30));
    if url.starts_with("sqlite:") {
        options
            .max_connections(8)
            .min_connections(1)
            .map_sqlx_sqlite_opts(move |opts| {
                let opts = opts
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(30))
                    .read_only(read_only)
                    .create_if_missing(!read_only);
                // Switching to WAL writes to the file: a reader takes the mode it finds.
                if read_only {
                    opts
                } else {
                    opts.journal_mode(SqliteJournalMode::Wal)
                }
            });
    } else {
        options.max_connections(20).min_connections(1);
        if let Some(schema) = schema {
            options.set_schema_search_path(schema.to_owned());
        }
        if read_only {
            options.map_sqlx_postgres_opts(|opts| {
                opts.options([("default_transaction_read_only", "on")])
            });
        }
    }
    Database::connect(options).await.with_context(|| {
        format!(
            "cannot open the database {}",
            crate::config::redact_url(url)
        )
    })
}

/// How many migrations this program has that the database has not applied,
/// found without writing (no migration table is created).
///
/// # Errors
/// When the database cannot be read.
pub async fn pending_migrations(db: &DatabaseConnection) -> anyhow::Result<usize> {
    Ok(Migrator::get_pending_migrations_read_only(db)
        .await
        .context("cannot read the migration table")?
        .len())
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

/// Applies every pending migration, then makes sure the reference rows exist
/// (the ledger's chain head, the platform wallets); a no-op when all is current.
/// Returns how many migrations were applied.
///
/// # Errors
/// When a migration or the reference data fails.
pub async fn migrate(db: &DatabaseConnection, clock: &dyn Clock) -> anyhow::Result<usize> {
    let pending = Migrator::get_pending_migrations(db)
        .await
        .context("cannot read the migration table")?
        .len();
    Migrator::up(db, None).await.context("migration failed")?;
    // Two instances starting together may both try to insert; the loser's
    // unique violation means the rows are there, and a second pass sees them.
    match seed_reference_data(db, clock).await {
        Err(err) if crate::error::is_unique_violation(&err) => seed_reference_data(db, clock).await,
        other => other,
    }
    .context("cannot create the reference data")?;
    Ok(pending)
}

/// Rows per multi-row insert: for the widest table written many rows at a
/// time (`outbox_emails`, 13 columns), 13 000 bound parameters, under
/// SQLite's limit of 32 766 (PostgreSQL's is 65 535).
pub const ROWS_PER_INSERT: usize = 1_000;

/// Inserts `rows` with one statement per [`ROWS_PER_INSERT`], moving them
/// into each statement (a day's emails are hundreds of megabytes: never
/// copied).
///
/// # Errors
/// When an insert fails.
pub async fn insert_all<A>(
    conn: &impl sea_orm::ConnectionTrait,
    rows: Vec<A>,
) -> Result<(), sea_orm::DbErr>
where
    A: sea_orm::ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        <A::Entity as sea_orm::EntityTrait>::insert_many(chunk)
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// The currencies wallets exist in.
pub const CURRENCIES: [&str; 2] = ["RUB", "USD"];
/// The platform's own wallets, one of each per currency.
pub const PLATFORM_WALLETS: [WalletKind; 3] = [
    WalletKind::Settlement,
    WalletKind::Fees,
    WalletKind::ReserveFund,
];

async fn seed_reference_data(db: &DatabaseConnection, clock: &dyn Clock) -> Result<(), DbErr> {
    let txn = begin_write(db).await?;
    if ledger_head::Entity::find_by_id(1)
        .one(&txn)
        .await?
        .is_none()
    {
        ledger_head::ActiveModel {
            id: Set(1),
            seq: Set(0),
            last_hash: Set(None),
        }
        .insert(&txn)
        .await?;
    }
    let now = clock.now();
    for currency in CURRENCIES {
        for kind in PLATFORM_WALLETS {
            let exists = wallets::Entity::find()
                .filter(wallets::Column::Kind.eq(kind.as_str()))
                .filter(wallets::Column::Currency.eq(currency))
                .filter(wallets::Column::UserId.is_null())
                .one(&txn)
                .await?
                .is_some();
            if !exists {
                wallets::ActiveModel {
                    id: Set(uuid::Uuid::now_v7()),
                    user_id: Set(None),
                    kind: Set(kind.as_str().to_owned()),
                    currency: Set(currency.to_owned()),
                    balance: Set(0),
                    reserved: Set(0),
                    created_at: Set(now),
                    updated_at: Set(now),
                    posting_count: Set(0),
                }
                .insert(&txn)
                .await?;
            }
        }
    }
    commit(txn).await
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

/// Transactions this process has committed, counted by [`commit`].
static COMMITS: AtomicU64 = AtomicU64::new(0);

/// Commits `txn`, and counts it whatever the outcome (a commit that failed
/// on a lost connection may still have happened), so that what this process
/// keeps from earlier reads is read again after any change it made: see
/// [`commits`]. Every transaction that writes ends here.
///
/// # Errors
/// When the commit fails.
pub async fn commit(txn: DatabaseTransaction) -> Result<(), DbErr> {
    let committed = txn.commit().await;
    COMMITS.fetch_add(1, Ordering::Release);
    committed
}

/// How many transactions this process has committed so far. A result read
/// after taking this count is current until the count moves, as far as this
/// process's own changes go.
#[must_use]
pub fn commits() -> u64 {
    COMMITS.load(Ordering::Acquire)
}

/// `time` (a timestamp column) for a filter that must not choose the index
/// a query runs on, nor steer its plan. SQLite's planner without statistics
/// (a new database, or one [`optimize`] has not reached yet) takes an
/// equality plus a range on one index as the narrowest way in, even when the
/// range keeps nearly every row and another index would give the order
/// without sorting; a unary plus is its documented way to keep a term from
/// using an index (<https://sqlite.org/optoverview.html#uplus>).
/// PostgreSQL has no unary plus for timestamps; adding a zero interval is
/// its equivalent. It also gives the term the same estimate whatever value
/// is bound, so a prepared statement's generic plan costs what its custom
/// plans cost and PostgreSQL keeps it instead of planning every run.
#[must_use]
pub fn filter_only(backend: DbBackend, time: Expr) -> Expr {
    match backend {
        DbBackend::Sqlite => Expr::cust_with_expr("+?", time),
        _ => time.add(Expr::cust("INTERVAL '0 s'")),
    }
}

/// Keeps SQLite's query planner statistics current: `PRAGMA optimize`,
/// which runs `ANALYZE` (bounded by SQLite's own row sampling) on the tables
/// whose statistics are missing or far out of date, and does nothing on
/// the others. `serve` runs it after migrating and then daily. Returns
/// whether it ran: PostgreSQL keeps its statistics itself (autovacuum
/// analyzes), so there it does nothing.
///
/// The mask `0x10002` (analyze where it helps, 0x2, considering every
/// table, 0x10000) is the form SQLite recommends for long-lived
/// connections: plain `PRAGMA optimize` only looks at the tables the
/// connection it runs on has queried, and a pooled connection may have
/// queried none. Statistics are stored in the database file; the other
/// pooled connections read them when they reload the schema (the first
/// `ANALYZE` creates `sqlite_stat1`, which makes them all reload) or when
/// the pool replaces them.
///
/// # Errors
/// When the statement fails.
pub async fn optimize(db: &DatabaseConnection) -> Result<bool, DbErr> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            db.execute_unprepared("PRAGMA optimize=0x10002").await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// `SELECT 1`, for the health check.
///
/// # Errors
/// When the database does not answer.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.query_one_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        "SELECT 1",
    ))
    .await
    .map(|_| ())
}
