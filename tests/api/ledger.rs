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

use crate::helpers::{TestApp, spawn_app};

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
    let settlement = store::platform_wallet(&app.db, "settlement", "RUB")
        .await
        .unwrap()
        .id;

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
    let settlement = store::platform_wallet(&app.db, "settlement", "RUB")
        .await
        .unwrap()
        .id;
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

#[tokio::test]
async fn tampering_with_a_stored_entry_is_detected() {
    let app = spawn_app().await;
    let wallet = user_wallet(&app).await;
    let settlement = store::platform_wallet(&app.db, "settlement", "RUB")
        .await
        .unwrap()
        .id;
    for _ in 0..3 {
        move_money(&app, EntryKind::Deposit, settlement, wallet, 1_000)
            .await
            .unwrap();
    }
    assert!(verify(&app.db).await.unwrap().holds());

    // Someone edits the memo of the second entry straight in the database.
    app.db
        .execute_unprepared("UPDATE ledger_entries SET memo = 'edited' WHERE seq = 2")
        .await
        .unwrap();
    let report = verify(&app.db).await.unwrap();
    assert!(!report.holds());
    assert!(
        report
            .to_string()
            .contains("entry seq 2: content does not match its hash"),
        "{report}"
    );

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
    let report = verify(&app.db).await.unwrap();
    assert!(
        report
            .to_string()
            .contains("entry seq 3: content does not match its hash"),
        "{report}"
    );
}
