//! The ledger through its own interface: postings, reservations, `verify`,
//! and tamper detection. (Deposits and withdrawals over HTTP are in wallet.rs.)

use crowdlend::{
    db,
    domain::{
        money::{Currency, Money},
        user::Role,
    },
    ledger::{EntryKind, JournalEntry, LedgerError, store, verify::verify},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app, text_at};

async fn user_wallet(app: &TestApp) -> Uuid {
    let (_, user) = app.signed_in(Role::Investor).await;
    let owner = crowdlend::db::entities::users::Entity::find()
        .filter(crowdlend::db::entities::users::Column::Email.eq(user.email))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    crowdlend::db::entities::wallets::Entity::find()
        .filter(crowdlend::db::entities::wallets::Column::UserId.eq(owner.id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn settlement(app: &TestApp) -> Uuid {
    store::platform_wallet(&app.db, "settlement", "RUB")
        .await
        .unwrap()
        .id
}

fn rub(minor: i64) -> Money {
    Money::from_minor(minor, Currency::Rub).unwrap()
}

async fn move_money(
    app: &TestApp,
    kind: EntryKind,
    from: Uuid,
    to: Uuid,
    minor: i64,
) -> Result<Uuid, store::PostError> {
    let txn = db::begin_write(&app.db).await.unwrap();
    let entry = JournalEntry::transfer(kind, "", from, to, rub(minor)).unwrap();
    let result = store::post(&txn, &entry, None, crate::helpers::start_time()).await;
    if result.is_ok() {
        txn.commit().await.unwrap();
    }
    result
}

#[tokio::test]
async fn postings_move_balances_and_verify_holds() {
    let app = spawn_app().await;
    let wallet = user_wallet(&app).await;
    let settlement = settlement(&app).await;

    move_money(&app, EntryKind::Deposit, settlement, wallet, 150_000)
        .await
        .unwrap();
    move_money(&app, EntryKind::Withdrawal, wallet, settlement, 50_000)
        .await
        .unwrap();

    let balance = app
        .count("SELECT balance FROM wallets WHERE kind = 'user' AND balance <> 0")
        .await;
    assert_eq!(balance, 100_000);
    let report = verify(&app.db).await.unwrap();
    assert!(report.holds(), "{report}");
    assert_eq!(report.entries, 2);
}

#[tokio::test]
async fn a_user_wallet_never_goes_below_zero_or_below_its_reservations() {
    let app = spawn_app().await;
    let wallet = user_wallet(&app).await;
    let settlement = settlement(&app).await;
    move_money(&app, EntryKind::Deposit, settlement, wallet, 10_000)
        .await
        .unwrap();

    let overdraw = move_money(&app, EntryKind::Withdrawal, wallet, settlement, 10_001).await;
    assert!(matches!(
        overdraw,
        Err(store::PostError::Ledger(
            LedgerError::InsufficientFunds { .. }
        ))
    ));

    let txn = db::begin_write(&app.db).await.unwrap();
    store::reserve(&txn, wallet, 6_000).await.unwrap();
    assert!(
        store::reserve(&txn, wallet, 4_001).await.is_err(),
        "only 40.00 is still available"
    );
    txn.commit().await.unwrap();
    let above_reserved = move_money(&app, EntryKind::Withdrawal, wallet, settlement, 4_001).await;
    assert!(
        above_reserved.is_err(),
        "reserved money cannot be withdrawn"
    );
    move_money(&app, EntryKind::Withdrawal, wallet, settlement, 4_000)
        .await
        .unwrap();

    // Turning the reservation into a transfer spends exactly the reserved money.
    let txn = db::begin_write(&app.db).await.unwrap();
    let entry =
        JournalEntry::transfer(EntryKind::Withdrawal, "", wallet, settlement, rub(6_000)).unwrap();
    store::convert_reservation(
        &txn,
        wallet,
        6_000,
        &entry,
        None,
        crate::helpers::start_time(),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM wallets WHERE kind = 'user' AND (balance <> 0 OR reserved <> 0)"
        )
        .await,
        0
    );
    assert!(verify(&app.db).await.unwrap().holds());
}

/// A user's wallet and the settlement wallet, after `times` deposits of
/// 10.00 into the first from the second.
async fn deposited(app: &TestApp, times: usize) -> (Uuid, Uuid) {
    let wallet = user_wallet(app).await;
    let settlement = settlement(app).await;
    for _ in 0..times {
        move_money(app, EntryKind::Deposit, settlement, wallet, 1_000)
            .await
            .unwrap();
    }
    (wallet, settlement)
}

/// `verify` finds the ledger broken, with `violation` among what it reports.
async fn assert_verify_reports(app: &TestApp, violation: &str) {
    let report = verify(&app.db).await.unwrap();
    assert!(!report.holds());
    assert!(report.to_string().contains(violation), "{report}");
}

async fn drop_append_only_triggers(app: &TestApp) {
    let statements: &[&str] = match app.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => &[
            "DROP TRIGGER ledger_entries_append_only ON ledger_entries",
            "DROP TRIGGER wallet_transactions_append_only ON wallet_transactions",
        ],
        _ => &[
            "DROP TRIGGER ledger_entries_no_update",
            "DROP TRIGGER wallet_transactions_no_update",
        ],
    };
    for sql in statements {
        app.db.execute_unprepared(sql).await.unwrap();
    }
}

#[tokio::test]
async fn tampering_with_a_stored_entry_is_detected() {
    let app = spawn_app().await;
    deposited(&app, 3).await;
    assert!(verify(&app.db).await.unwrap().holds());

    // The application's own connection cannot rewrite history (I9).
    for sql in [
        "UPDATE ledger_entries SET memo = 'edited' WHERE seq = 2",
        "DELETE FROM ledger_entries WHERE seq = 3",
        "UPDATE wallet_transactions SET amount = amount + 1",
        "DELETE FROM wallet_transactions",
    ] {
        let refused = app.db.execute_unprepared(sql).await.unwrap_err();
        assert!(
            refused.to_string().contains("append-only"),
            "{sql}: {refused}"
        );
    }
    assert!(verify(&app.db).await.unwrap().holds());

    // Someone with the database owner's rights removes the guard and edits
    // the memo of the second entry.
    drop_append_only_triggers(&app).await;
    app.db
        .execute_unprepared("UPDATE ledger_entries SET memo = 'edited' WHERE seq = 2")
        .await
        .unwrap();
    assert_verify_reports(&app, "entry seq 2: content does not match its hash").await;

    // Or moves a posting's amount (and the balance with it, so the sums still agree).
    app.db
        .execute_unprepared("UPDATE ledger_entries SET memo = '' WHERE seq = 2")
        .await
        .unwrap();
    assert!(verify(&app.db).await.unwrap().holds(), "restored");
    app.db
        .execute_unprepared(
            "UPDATE wallet_transactions SET amount = amount + 500, balance_after = balance_after + 500 \
             WHERE amount > 0 AND entry_id = (SELECT id FROM ledger_entries WHERE seq = 3)",
        )
        .await
        .unwrap();
    app.db
        .execute_unprepared(
            "UPDATE wallet_transactions SET amount = amount - 500, balance_after = balance_after - 500 \
             WHERE amount < 0 AND entry_id = (SELECT id FROM ledger_entries WHERE seq = 3)",
        )
        .await
        .unwrap();
    assert_verify_reports(&app, "entry seq 3: content does not match its hash").await;
}

#[tokio::test]
async fn a_posting_out_of_its_entrys_place_in_the_journal_is_detected() {
    let app = spawn_app().await;
    deposited(&app, 2).await;
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM wallet_transactions t JOIN ledger_entries e ON e.id = t.entry_id \
             WHERE t.seq = e.seq"
        )
        .await,
        4,
        "each posting is written with its entry's sequence"
    );

    // The wallet's history reads postings in the order of their `seq`: one
    // moved ahead of a later entry would show out of place.
    drop_append_only_triggers(&app).await;
    app.db
        .execute_unprepared(
            "UPDATE wallet_transactions SET seq = 3 WHERE amount > 0 \
             AND entry_id = (SELECT id FROM ledger_entries WHERE seq = 1)",
        )
        .await
        .unwrap();
    assert_verify_reports(&app, "entry seq 1 has a posting carrying seq 3").await;
}

#[tokio::test]
async fn each_wallet_counts_its_postings_as_they_are_written() {
    let app = spawn_app().await;
    let (wallet, settlement) = deposited(&app, 3).await;
    move_money(&app, EntryKind::Withdrawal, wallet, settlement, 500)
        .await
        .unwrap();
    for id in [wallet, settlement] {
        let counted = crowdlend::db::entities::wallets::Entity::find_by_id(id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .posting_count;
        assert_eq!(counted, 4);
    }
    assert!(verify(&app.db).await.unwrap().holds());

    // The count pages the wallet's history: one that drifts is reported.
    app.db
        .execute_unprepared(
            "UPDATE wallets SET posting_count = posting_count + 1 WHERE kind = 'user'",
        )
        .await
        .unwrap();
    assert_verify_reports(&app, "counts 5 postings but has 4").await;
}

#[tokio::test]
async fn admins_see_the_verify_report_in_the_back_office() {
    let app = spawn_app().await;
    let wallet = user_wallet(&app).await;
    let settlement = settlement(&app).await;
    move_money(&app, EntryKind::Deposit, settlement, wallet, 250_000)
        .await
        .unwrap();
    let (admin, _) = app.signed_in(Role::Admin).await;
    let html = admin.get_html("/admin/ledger").await.replace('\u{a0}', " ");
    assert_eq!(
        text_at(&html, "#verdict").as_deref(),
        Some("Every invariant holds: 1 ledger entry checked.")
    );
    assert_eq!(
        html.matches("holds</span>").count(),
        13,
        "each of the thirteen checks is listed as holding"
    );
    assert!(
        html.contains("-2 500,00 ₽"),
        "settlement mirrors the deposit"
    );
    assert!(html.contains("All user wallets · RUB"));

    for role in [Role::Staff, Role::Investor, Role::Borrower] {
        let (browser, _) = app.signed_in(role).await;
        assert_eq!(
            browser.get("/admin/ledger").await.status(),
            StatusCode::FORBIDDEN,
            "{role:?}"
        );
    }

    app.db
        .execute_unprepared("UPDATE wallets SET balance = balance + 1 WHERE kind = 'user'")
        .await
        .unwrap();
    let html = admin.get_html("/admin/ledger").await;
    assert!(
        text_at(&html, "#verdict")
            .unwrap()
            .starts_with("Violations found"),
        "{html}"
    );
    assert!(html.contains("but postings sum to"));
}
