//! What the benchmarks share: a fresh database to measure on, and rates.

use std::time::Duration;

use crowdlend::{
    clock::{Clock, SystemClock},
    db::{
        self,
        entities::{users, wallets},
    },
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

/// A whole number from the environment variable `name`, or `default`.
pub fn count_from_env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `BENCH_DATABASE_URL` when set (PostgreSQL), else `None` (SQLite), with
/// the backend's name for the report.
pub fn database_from_env() -> (Option<String>, &'static str) {
    let pg_url = std::env::var("BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let backend = if pg_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    (pg_url, backend)
}

/// A freshly migrated database: a temporary SQLite file, or a new PostgreSQL schema.
pub struct Target {
    pub db: DatabaseConnection,
    admin: Option<(DatabaseConnection, String)>,
    _dir: tempfile::TempDir,
}

impl Target {
    pub async fn fresh(pg_url: Option<&str>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let (db, admin) = match pg_url {
            Some(url) => {
                let schema = format!("bench_{}", Uuid::new_v4().simple());
                let admin = db::connect(url).await?;
                admin
                    .execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
                    .await?;
                (
                    db::connect_with_schema(url, Some(&schema)).await?,
                    Some((admin, schema)),
                )
            }
            None => {
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("bench.db").display()
                );
                (db::connect(&url).await?, None)
            }
        };
        db::migrate(&db, &SystemClock).await?;
        Ok(Self {
            db,
            admin,
            _dir: dir,
        })
    }

    pub async fn drop_schema(self) -> anyhow::Result<()> {
        self.db.close().await?;
        if let Some((admin, schema)) = self.admin {
            admin
                .execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .await?;
        }
        Ok(())
    }
}

/// Events per second.
pub fn rate(count: u64, elapsed: Duration) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let count = count as f64;
    count / elapsed.as_secs_f64()
}

/// A verified account of `role` with an empty rouble wallet, inserted
/// directly (no password hashing: it never signs in).
#[allow(dead_code)] // each benchmark compiles this module; not all make accounts
pub async fn bench_user(db: &DatabaseConnection, role: &str, n: u64) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    let now = SystemClock.now();
    users::ActiveModel {
        id: Set(id),
        email: Set(format!("bench-{role}-{n}@example.com")),
        password_hash: Set("not-a-login".to_owned()),
        full_name: Set(format!("Bench {role} {n}")),
        role: Set(role.to_owned()),
        kyc_status: Set("verified".to_owned()),
        kyc_reason: Set(None),
        failed_login_count: Set(0),
        locked_until: Set(None),
        password_changed_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    wallets::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(Some(id)),
        kind: Set("user".to_owned()),
        currency: Set("RUB".to_owned()),
        balance: Set(0),
        reserved: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(id)
}
