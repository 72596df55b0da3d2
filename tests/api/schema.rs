//! The schema: migrations apply once, and the constraints hold the data to its
//! rules on SQLite and PostgreSQL alike.

use crowdlend::{db, domain::installment::InstallmentStatus};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, TryGetableMany};

use crate::helpers::{EmptyDatabase, empty_database, spawn_app};

#[tokio::test]
async fn migrating_an_up_to_date_database_changes_nothing() {
    let app = spawn_app().await;
    assert_eq!(db::migrate(&app.db, &app.clock).await.unwrap(), 0);
    assert_eq!(db::migrate(&app.db, &app.clock).await.unwrap(), 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM wallets WHERE user_id IS NULL")
            .await,
        6,
        "three platform wallets per currency, created once"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM ledger_head").await, 1);
}

async fn refused(app: &crate::helpers::TestApp, sql: &str) -> bool {
    app.db.execute_unprepared(sql).await.is_err()
}

#[tokio::test]
async fn the_database_refuses_rows_that_break_the_money_rules() {
    let app = spawn_app().await;
    let now = "'2026-11-23 09:30:00+00'";
    let user = "'0193f000-0000-7000-8000-000000000001'";
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO users (id, email, password_hash, full_name, role, kyc_status, failed_login_count, \
             password_changed_at, created_at, updated_at) VALUES ({user}, 'b@example.com', 'x', 'B', 'borrower', \
             'none', 0, {now}, {now}, {now})"
        ))
        .await
        .unwrap();

    let wallet = |id: &str, user_id: &str, kind: &str, balance: i64, reserved: i64| {
        format!(
            "INSERT INTO wallets (id, user_id, kind, currency, balance, reserved, created_at, updated_at) \
             VALUES ('{id}', {user_id}, '{kind}', 'EUR', {balance}, {reserved}, {now}, {now})"
        )
    };
    assert!(
        refused(
            &app,
            &wallet("0193f000-0000-7000-8000-0000000000a1", user, "user", -1, 0)
        )
        .await,
        "negative user balance"
    );
    assert!(
        refused(
            &app,
            &wallet("0193f000-0000-7000-8000-0000000000a2", user, "user", 10, 11)
        )
        .await,
        "reserved above balance"
    );
    assert!(
        refused(
            &app,
            &wallet("0193f000-0000-7000-8000-0000000000a3", "NULL", "user", 0, 0)
        )
        .await,
        "user wallet without user"
    );
    app.db
        .execute_unprepared(&wallet(
            "0193f000-0000-7000-8000-0000000000a4",
            "NULL",
            "settlement",
            -500,
            0,
        ))
        .await
        .expect("the settlement wallet mirrors money in and may go negative");
    assert!(
        refused(
            &app,
            &wallet(
                "0193f000-0000-7000-8000-0000000000a5",
                "NULL",
                "settlement",
                0,
                0
            )
        )
        .await,
        "one settlement wallet per currency (EUR has none from the seed)"
    );

    let loan = |id: &str, amount: i64, funded: i64, status: &str| {
        format!(
            "INSERT INTO loan_requests (id, borrower_id, amount, currency, term_months, requested_amount, \
             requested_term_months, purpose, description, status, funded_amount, listing_mode, created_at, updated_at) \
             VALUES ('{id}', {user}, {amount}, 'RUB', 12, {amount}, 12, 'car', '', '{status}', {funded}, 'fixed', {now}, {now})"
        )
    };
    assert!(
        refused(
            &app,
            &loan(
                "0193f000-0000-7000-8000-0000000000b1",
                1000,
                1001,
                "funding"
            )
        )
        .await,
        "over-funded"
    );
    assert!(
        refused(
            &app,
            &loan("0193f000-0000-7000-8000-0000000000b2", 1000, 0, "lost")
        )
        .await,
        "unknown status"
    );
    assert!(
        refused(
            &app,
            &loan("0193f000-0000-7000-8000-0000000000b3", 0, 0, "pending")
        )
        .await,
        "zero amount"
    );
    app.db
        .execute_unprepared(&loan(
            "0193f000-0000-7000-8000-0000000000b4",
            1000,
            1000,
            "funded",
        ))
        .await
        .expect("a fully funded loan is fine");
}

#[tokio::test]
async fn optimizing_gives_the_sqlite_planner_statistics_and_does_nothing_on_postgresql() {
    // Arrange: a migrated database (the platform wallets are rows already).
    let app = spawn_app().await;
    let sqlite = app.db.get_database_backend() == DbBackend::Sqlite;

    // Act: at start-up, and again a day later.
    let ran = db::optimize(&app.db).await.unwrap();
    let again = db::optimize(&app.db).await.unwrap();

    // Assert
    assert_eq!((ran, again), (sqlite, sqlite), "it runs on SQLite only");
    if sqlite {
        assert!(
            app.count("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'wallets'")
                .await
                > 0,
            "the wallets' indexes have statistics"
        );
    }
}

#[tokio::test]
async fn optimizing_through_a_connection_that_has_queried_nothing_still_analyzes_every_table() {
    let app = spawn_app().await;
    if app.db.get_database_backend() != DbBackend::Sqlite {
        return;
    }
    // A new pool on the same file: its connection has planned no query, as
    // a pooled connection `serve` happens to get may not have.
    let url = format!("sqlite://{}", app.data_dir().join("app.db").display());
    let fresh = db::connect(&url).await.unwrap();

    assert!(db::optimize(&fresh).await.unwrap());

    assert!(
        app.count("SELECT COUNT(DISTINCT tbl) FROM sqlite_stat1 WHERE tbl IN ('wallets', 'users', 'ledger_head')")
            .await
            >= 2,
        "tables this connection never touched are analyzed"
    );
}

const NOW: &str = "'2026-11-23 09:30:00+00'";
const LOAN: &str = "0193f000-0000-7000-8000-0000000000b1";

/// A borrower and an active loan to hang installments on.
async fn borrower_with_loan(db: &DatabaseConnection) {
    let user = "'0193f000-0000-7000-8000-000000000001'";
    for sql in [
        format!(
            "INSERT INTO users (id, email, password_hash, full_name, role, kyc_status, failed_login_count, \
             password_changed_at, created_at, updated_at) VALUES ({user}, 'b@example.com', 'x', 'B', 'borrower', \
             'none', 0, {NOW}, {NOW}, {NOW})"
        ),
        format!(
            "INSERT INTO loan_requests (id, borrower_id, amount, currency, term_months, requested_amount, \
             requested_term_months, purpose, description, status, funded_amount, listing_mode, created_at, updated_at) \
             VALUES ('{LOAN}', {user}, 1000, 'RUB', 12, 1000, 12, 'car', '', 'active', 1000, 'fixed', {NOW}, {NOW})"
        ),
    ] {
        db.execute_unprepared(&sql).await.unwrap();
    }
}

/// Inserts installment `number` of the loan with `status` (`None`: the
/// column's default).
async fn insert_installment(
    db: &DatabaseConnection,
    number: u32,
    status: Option<&str>,
) -> Result<(), sea_orm::DbErr> {
    let (column, value) = status.map_or((String::new(), String::new()), |s| {
        (", status".to_owned(), format!(", '{s}'"))
    });
    db.execute_unprepared(&format!(
        "INSERT INTO repayment_schedule (id, loan_id, payment_num, due_date, principal, interest, created_at, \
         updated_at{column}) VALUES ('0193f000-0000-7000-8000-{number:012}', '{LOAN}', {number}, '2026-12-23', \
         100, 10, {NOW}, {NOW}{value})"
    ))
    .await
    .map(|_| ())
}

/// A fresh database with every migration before `migration` applied.
async fn migrated_to_before(migration: &str) -> EmptyDatabase {
    let database = empty_database().await;
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == migration)
        .expect("the migration is registered");
    Migrator::up(&database.db, Some(u32::try_from(before).unwrap()))
        .await
        .unwrap();
    database
}

/// The rows `sql` returns, each read as `T`, column by column.
async fn rows<T: TryGetableMany>(db: &DatabaseConnection, sql: &str) -> Vec<T> {
    db.query_all_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        sql,
    ))
    .await
    .unwrap()
    .iter()
    .map(|row| row.try_get_many_by_index().unwrap())
    .collect()
}

async fn statuses(db: &DatabaseConnection) -> Vec<String> {
    db.query_all_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        "SELECT status FROM repayment_schedule ORDER BY payment_num",
    ))
    .await
    .unwrap()
    .iter()
    .map(|row| row.try_get_by_index::<String>(0).unwrap())
    .collect()
}

#[tokio::test]
async fn a_freshly_migrated_database_takes_every_installment_status_and_only_those() {
    // Arrange
    let app = spawn_app().await;
    borrower_with_loan(&app.db).await;

    // Act and assert: every word of the domain's machine is accepted...
    for (number, status) in (1..).zip(InstallmentStatus::ALL) {
        insert_installment(&app.db, number, Some(status.as_str()))
            .await
            .unwrap_or_else(|err| panic!("{status:?}: {err}"));
    }
    // ...the default is `scheduled`...
    insert_installment(&app.db, 7, None).await.unwrap();
    // ...and the old word, or any other, is refused.
    for word in ["pending", "Scheduled", "cancelled"] {
        assert!(
            insert_installment(&app.db, 8, Some(word)).await.is_err(),
            "{word}"
        );
    }
    assert_eq!(
        statuses(&app.db).await,
        [
            "scheduled",
            "due",
            "partially_paid",
            "paid",
            "overdue",
            "written_off",
            "scheduled"
        ]
    );
}

#[tokio::test]
async fn migrating_renames_stored_pending_installments_to_scheduled() {
    // Arrange: a database as it was before the installment statuses, with a
    // loan whose schedule the payout wrote as `pending`.
    // (`_files` keeps the SQLite file's folder until the test ends.)
    let EmptyDatabase {
        db,
        data_dir: _files,
        ..
    } = migrated_to_before("m20261130_000015_installment_statuses").await;
    borrower_with_loan(&db).await;
    insert_installment(&db, 1, Some("paid")).await.unwrap();
    insert_installment(&db, 2, Some("pending")).await.unwrap();
    insert_installment(&db, 3, None).await.unwrap();
    insert_installment(&db, 4, Some("overdue")).await.unwrap();

    // Act
    Migrator::up(&db, None).await.unwrap();

    // Assert: the rows, their indexes and their other rules survive.
    assert_eq!(
        statuses(&db).await,
        ["paid", "scheduled", "scheduled", "overdue"]
    );
    assert!(
        insert_installment(&db, 2, Some("due")).await.is_err(),
        "(loan, payment_num) is still unique"
    );
    insert_installment(&db, 5, Some("due")).await.unwrap();
    let overpaid = db
        .execute_unprepared(
            "UPDATE repayment_schedule SET paid_principal = principal + 1 WHERE payment_num = 5",
        )
        .await;
    assert!(overpaid.is_err(), "paid principal is still capped");
    let orphan = db
        .execute_unprepared(&format!(
            "INSERT INTO repayment_schedule (id, loan_id, payment_num, due_date, principal, interest, \
             created_at, updated_at) VALUES ('0193f000-0000-7000-8000-0000000000f1', \
             '0193f000-0000-7000-8000-0000000000ff', 1, '2026-12-23', 1, 1, {NOW}, {NOW})"
        ))
        .await;
    assert!(orphan.is_err(), "the loan must still exist");
    assert_eq!(
        Migrator::get_pending_migrations(&db).await.unwrap().len(),
        0
    );
}

#[tokio::test]
async fn migrating_sequences_stored_postings_and_counts_them_per_wallet() {
    // Arrange: a database as it was before postings carried a sequence,
    // with two journal entries of two postings each.
    let EmptyDatabase {
        db,
        data_dir: _files,
        ..
    } = migrated_to_before("m20261201_000024_index_wallet_history").await;
    let settlement = "'0193f000-0000-7000-8000-0000000000c1'";
    let fees = "'0193f000-0000-7000-8000-0000000000c2'";
    let mut statements = vec![
        format!(
            "INSERT INTO wallets (id, user_id, kind, currency, balance, reserved, created_at, updated_at) \
             VALUES ({settlement}, NULL, 'settlement', 'RUB', -300, 0, {NOW}, {NOW})"
        ),
        format!(
            "INSERT INTO wallets (id, user_id, kind, currency, balance, reserved, created_at, updated_at) \
             VALUES ({fees}, NULL, 'fees', 'RUB', 300, 0, {NOW}, {NOW})"
        ),
    ];
    for (seq, amount) in [(1, 100), (2, 200)] {
        let entry = format!("'0193f000-0000-7000-8000-0000000000e{seq}'");
        statements.push(format!(
            "INSERT INTO ledger_entries (id, seq, kind, memo, created_at, hash) \
             VALUES ({entry}, {seq}, 'fee', '', {NOW}, 'hash {seq}')"
        ));
        for (side, wallet, signed) in [("a", settlement, -amount), ("b", fees, amount)] {
            statements.push(format!(
                "INSERT INTO wallet_transactions (id, entry_id, wallet_id, amount, balance_after, created_at) \
                 VALUES ('0193f000-0000-7000-8000-0000000000{side}{seq}', {entry}, {wallet}, {signed}, \
                 {signed}, {NOW})"
            ));
        }
    }
    for sql in statements {
        db.execute_unprepared(&sql).await.unwrap();
    }

    // Act
    Migrator::up(&db, None).await.unwrap();

    // Assert: every posting carries its entry's sequence...
    let sequences: Vec<(i64, i64)> = rows(
        &db,
        "SELECT t.amount, t.seq FROM wallet_transactions t ORDER BY t.seq, t.amount",
    )
    .await;
    assert_eq!(sequences, [(-100, 1), (100, 1), (-200, 2), (200, 2)]);
    // ...every wallet its number of postings...
    let counts: Vec<(String, i64)> =
        rows(&db, "SELECT kind, posting_count FROM wallets ORDER BY kind").await;
    assert_eq!(
        counts,
        [("fees".to_owned(), 2), ("settlement".to_owned(), 2)]
    );
    // ...and the postings are still append-only.
    for sql in [
        "UPDATE wallet_transactions SET seq = 9",
        "DELETE FROM wallet_transactions",
    ] {
        let refused = db.execute_unprepared(sql).await.unwrap_err();
        assert!(
            refused.to_string().contains("append-only"),
            "{sql}: {refused}"
        );
    }
}
