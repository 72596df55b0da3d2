//! The `crowdlend` binary itself: configuration errors, `migrate`, `create-admin`.

use std::process::{Command, Output};

use crowdlend::db;
use reqwest::StatusCode;

use crate::helpers::{assert_redirects_to, spawn_app_on};

fn crowdlend(dir: &std::path::Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crowdlend"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", dir.join("data"))
        .env("RUST_LOG", "warn");
    for (name, value) in vars {
        command.env(name, value);
    }
    command.output().unwrap()
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("BIND", "localhost-ish"),
        ("SECRET_KEY", "too-short"),
        ("DATABASE_URL", "mysql://x"),
    ] {
        let output = crowdlend(dir.path(), &["migrate"], &[(var, value)]);
        assert_eq!(output.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(var), "{stderr}");
    }
}

#[test]
fn migrate_creates_the_database_and_running_it_again_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let first = crowdlend(dir.path(), &["migrate"], &[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let all = <migration::Migrator as migration::MigratorTrait>::migrations().len();
    assert!(
        String::from_utf8_lossy(&first.stdout).starts_with(&format!("{all} migration(s) applied"))
    );
    assert!(
        dir.path().join("data/crowdlend.db").exists(),
        "SQLite under the data folder by default"
    );
    assert!(
        dir.path().join("data/secret_key").exists(),
        "a generated secret is kept"
    );

    let verify = crowdlend(dir.path(), &["verify"], &[]);
    assert!(verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("every invariant holds"));

    let second = crowdlend(dir.path(), &["migrate"], &[]);
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stdout).starts_with("0 migration(s) applied"));
}

#[test]
fn verify_only_reads_it_migrates_nothing_and_writes_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ledger.db");
    let url = format!("sqlite://{}?mode=rwc", database.display());

    // No database yet: verify neither creates one nor a secret key.
    let missing = crowdlend(dir.path(), &["verify"], &[("DATABASE_URL", &url)]);
    assert!(!missing.status.success());
    assert!(!database.exists(), "verify created the database file");
    assert!(
        !dir.path().join("data").exists(),
        "verify wrote to DATA_DIR"
    );

    // A database whose schema is behind: refused with what to do, not migrated.
    std::fs::write(&database, b"").unwrap();
    let behind = crowdlend(dir.path(), &["verify"], &[("DATABASE_URL", &url)]);
    assert_eq!(behind.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&behind.stderr);
    assert!(stderr.contains("crowdlend migrate"), "{stderr}");
    assert_eq!(
        std::fs::metadata(&database).unwrap().len(),
        0,
        "nothing written"
    );
    assert!(!dir.path().join("data/secret_key").exists());

    let migrated = crowdlend(dir.path(), &["migrate"], &[("DATABASE_URL", &url)]);
    assert!(migrated.status.success());
    let verify = crowdlend(dir.path(), &["verify"], &[("DATABASE_URL", &url)]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[tokio::test]
async fn create_admin_makes_an_admin_who_can_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
    let password = "admin-password-for-tests";

    let weak = crowdlend(
        dir.path(),
        &[
            "create-admin",
            "--email",
            "Root@Example.com",
            "--name",
            "Root Admin",
        ],
        &[("DATABASE_URL", &database_url), ("ADMIN_PASSWORD", "short")],
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 12 characters"));

    let output = crowdlend(
        dir.path(),
        &[
            "create-admin",
            "--email",
            "Root@Example.com",
            "--name",
            "Root Admin",
        ],
        &[
            ("DATABASE_URL", &database_url),
            ("ADMIN_PASSWORD", password),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let again = crowdlend(
        dir.path(),
        &[
            "create-admin",
            "--email",
            "root@example.com",
            "--name",
            "Root Admin",
        ],
        &[
            ("DATABASE_URL", &database_url),
            ("ADMIN_PASSWORD", password),
        ],
    );
    assert!(!again.status.success(), "the email is taken");

    let db = db::connect(&database_url).await.unwrap();
    let app = spawn_app_on(database_url, db, dir).await;
    let browser = app.browser();
    assert_redirects_to(&browser.login("root@example.com", password).await, "/admin");
    assert_eq!(browser.get("/admin/users").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn verify_exits_non_zero_and_names_the_broken_invariant() {
    let dir = tempfile::tempdir().unwrap();
    assert!(crowdlend(dir.path(), &["migrate"], &[]).status.success());
    let url = format!(
        "sqlite://{}?mode=rw",
        dir.path().join("data/crowdlend.db").display()
    );
    let conn = db::connect(&url).await.unwrap();
    // Money appears in a wallet without a journal entry behind it.
    sea_orm::ConnectionTrait::execute_unprepared(
        &conn,
        "UPDATE wallets SET balance = balance + 100 WHERE kind = 'fees' AND currency = 'RUB'",
    )
    .await
    .unwrap();
    conn.close().await.unwrap();

    let verify = crowdlend(dir.path(), &["verify"], &[]);
    assert!(!verify.status.success());
    let stdout = String::from_utf8_lossy(&verify.stdout);
    assert!(
        stdout.contains("FAIL each wallet's balance equals the sum of its postings"),
        "{stdout}"
    );
    assert!(stdout.contains("fees wallet RUB balance 100"), "{stdout}");
}

#[tokio::test]
async fn jobs_run_outbox_sends_what_is_due_as_of_the_date_given() {
    use chrono::TimeZone;
    use crowdlend::{mail::messages::KycDecision, services::outbox};

    let dir = tempfile::tempdir().unwrap();
    assert!(crowdlend(dir.path(), &["migrate"], &[]).status.success());
    let url = format!(
        "sqlite://{}?mode=rw",
        dir.path().join("data/crowdlend.db").display()
    );
    let conn = db::connect(&url).await.unwrap();
    let queued_at = chrono::Utc.with_ymd_and_hms(2099, 1, 1, 12, 0, 0).unwrap();
    outbox::enqueue(
        &conn,
        queued_at,
        "someone@example.com",
        &KycDecision {
            full_name: "Someone".to_owned(),
            verified: true,
            reason: None,
            account_url: "http://127.0.0.1:8080/account/identity".to_owned(),
        },
    )
    .await
    .unwrap();
    conn.close().await.unwrap();

    let now = crowdlend(dir.path(), &["jobs", "run", "outbox"], &[]);
    assert!(
        now.status.success(),
        "{}",
        String::from_utf8_lossy(&now.stderr)
    );
    assert!(
        String::from_utf8_lossy(&now.stdout).starts_with("outbox: 0 sent"),
        "not due yet"
    );
    let later = crowdlend(
        dir.path(),
        &["jobs", "run", "outbox", "--date", "2099-01-02"],
        &[],
    );
    let stdout = String::from_utf8_lossy(&later.stdout);
    assert!(later.status.success());
    assert!(
        stdout.starts_with("outbox: 1 sent, 0 to be tried again, 0 failed"),
        "{stdout}"
    );
    assert!(stdout.contains(".eml files in"), "{stdout}");
    let files: Vec<_> = std::fs::read_dir(dir.path().join("data/mail"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1);

    let unknown = crowdlend(dir.path(), &["jobs", "run", "secondary-market"], &[]);
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("possible values: outbox"), "{stderr}");
    let bad_date = crowdlend(
        dir.path(),
        &["jobs", "run", "outbox", "--date", "2099-13-01"],
        &[],
    );
    assert!(!bad_date.status.success());
    assert!(String::from_utf8_lossy(&bad_date.stderr).contains("--date"));
}

#[tokio::test]
async fn jobs_run_all_runs_every_job_for_each_day_of_a_range_and_records_the_runs() {
    use crowdlend::db::entities::job_runs;
    use sea_orm::{EntityTrait, QueryOrder};

    let dir = tempfile::tempdir().unwrap();
    let run = crowdlend(
        dir.path(),
        &[
            "jobs",
            "run",
            "all",
            "--from",
            "2099-01-30",
            "--to",
            "2099-02-01",
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for day in ["2099-01-30", "2099-01-31", "2099-02-01"] {
        assert!(
            stdout.contains(&format!("due-payments {day}: 0 loan(s)")),
            "{stdout}"
        );
    }
    assert_eq!(stdout.matches("outbox: ").count(), 3, "{stdout}");

    let url = format!(
        "sqlite://{}?mode=rw",
        dir.path().join("data/crowdlend.db").display()
    );
    let conn = db::connect(&url).await.unwrap();
    let runs = job_runs::Entity::find()
        .order_by_asc(job_runs::Column::StartedAt)
        .order_by_asc(job_runs::Column::Id)
        .all(&conn)
        .await
        .unwrap();
    let recorded: Vec<(String, String)> = runs
        .iter()
        .map(|r| (r.business_date.to_string(), r.name.clone()))
        .collect();
    let mut expected = Vec::new();
    for day in ["2099-01-30", "2099-01-31", "2099-02-01"] {
        for job in [
            "funding-expiry",
            "auto-invest",
            "payouts",
            "due-payments",
            "penalties",
            "defaults",
            "reminders",
            "outbox",
        ] {
            expected.push((day.to_owned(), job.to_owned()));
        }
    }
    assert_eq!(recorded, expected, "every job, in order, each day");
    assert!(
        runs.iter()
            .all(|r| r.outcome == "succeeded" && r.finished_at.is_some() && r.error.is_none())
    );
    conn.close().await.unwrap();

    let backwards = crowdlend(
        dir.path(),
        &[
            "jobs",
            "run",
            "all",
            "--from",
            "2099-02-01",
            "--to",
            "2099-01-30",
        ],
        &[],
    );
    assert!(!backwards.status.success());
    assert!(String::from_utf8_lossy(&backwards.stderr).contains("--from must not be after --to"));
    let half = crowdlend(
        dir.path(),
        &["jobs", "run", "all", "--from", "2099-02-01"],
        &[],
    );
    assert!(!half.status.success(), "--from needs --to");
}

#[tokio::test]
async fn the_demo_platform_run_forward_for_a_year_and_a_half_repays_one_loan_and_defaults_the_other()
 {
    use crowdlend::db::entities::{loan_requests, reserve_fund_events, users};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let dir = tempfile::tempdir().unwrap();
    let demo = crowdlend(dir.path(), &["demo"], &[]);
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    // The demo was seeded at the real time: run forward from today.
    let today = crowdlend::clock::Clock::today(&crowdlend::clock::SystemClock);
    let to = today.checked_add_days(chrono::Days::new(500)).unwrap();
    let run = crowdlend(
        dir.path(),
        &[
            "jobs",
            "run",
            "all",
            "--from",
            &today.to_string(),
            "--to",
            &to.to_string(),
        ],
        &[],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let verify = crowdlend(dir.path(), &["verify"], &[]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );

    let url = format!(
        "sqlite://{}?mode=rw",
        dir.path().join("data/crowdlend.db").display()
    );
    let conn = db::connect(&url).await.unwrap();
    let status_of = |email: &'static str| {
        let conn = conn.clone();
        async move {
            let borrower = users::Entity::find()
                .filter(users::Column::Email.eq(email))
                .one(&conn)
                .await
                .unwrap()
                .unwrap();
            loan_requests::Entity::find()
                .filter(loan_requests::Column::BorrowerId.eq(borrower.id))
                .one(&conn)
                .await
                .unwrap()
                .unwrap()
                .status
        }
    };
    assert_eq!(status_of("borrower5@demo.local").await, "repaid");
    assert_eq!(status_of("borrower4@demo.local").await, "defaulted");
    assert_eq!(status_of("borrower2@demo.local").await, "expired");
    let covered = reserve_fund_events::Entity::find()
        .all(&conn)
        .await
        .unwrap();
    assert_eq!(
        covered.len(),
        2,
        "the reserve fund paid both of Elena's investors"
    );
    let mail = std::fs::read_dir(dir.path().join("data/mail"))
        .unwrap()
        .count();
    assert!(mail > 20, "{mail} emails");
}
