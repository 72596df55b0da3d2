//! `/wallet` reads a page of a wallet's movements, newest first, and the
//! number of pages, without touching the rest of the wallet's history:
//!
//! - each posting carries its journal entry's `seq`, and a wallet's postings
//!   are indexed by `(wallet_id, seq)`: the page is read from the index.
//!   Before, every view joined all of the wallet's postings to their entries
//!   and sorted them by the entry's sequence: 6 ms a view for a wallet of
//!   3 000 movements on SQLite, growing with every distribution received;
//! - each wallet keeps `posting_count`, the number of its postings, written
//!   with its balance: counting 3 000 postings from the index took another
//!   270 µs a view.
//!
//! Stored postings take their entry's sequence and stored wallets their
//! count. The postings are append-only (migration 7), so their UPDATE
//! trigger is lifted for the copy and put back in the same transaction. A
//! posting written without a sequence reads 0, and a count that does not
//! match, both of which `ledger verify` reports.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "ix_wallet_transactions_wallet_id_seq";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// On SQLite too (sea-orm-migration runs SQLite's without one): the
    /// guard is never seen lifted, and every statement runs on one
    /// connection (another's cached schema would still hold the trigger).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let copy_sequence = "UPDATE wallet_transactions SET seq = (SELECT ledger_entries.seq \
             FROM ledger_entries WHERE ledger_entries.id = wallet_transactions.entry_id)";
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "ALTER TABLE wallet_transactions ADD COLUMN seq BIGINT NOT NULL DEFAULT 0",
                )
                .await?;
                db.execute_unprepared(
                    "ALTER TABLE wallet_transactions DISABLE TRIGGER wallet_transactions_append_only",
                )
                .await?;
                db.execute_unprepared(copy_sequence).await?;
                db.execute_unprepared(
                    "ALTER TABLE wallet_transactions ENABLE TRIGGER wallet_transactions_append_only",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "ALTER TABLE wallet_transactions ADD COLUMN seq INTEGER NOT NULL DEFAULT 0",
                )
                .await?;
                db.execute_unprepared("DROP TRIGGER wallet_transactions_no_update")
                    .await?;
                db.execute_unprepared(copy_sequence).await?;
                // As migration 7 wrote it.
                db.execute_unprepared(
                    "CREATE TRIGGER wallet_transactions_no_update BEFORE UPDATE ON wallet_transactions \
                     BEGIN SELECT RAISE(ABORT, 'wallet_transactions is append-only: UPDATE refused'); END",
                )
                .await?;
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Wallets::Table)
                    .add_column(
                        ColumnDef::new(Wallets::PostingCount)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "UPDATE wallets SET posting_count = (SELECT COUNT(*) FROM wallet_transactions \
             WHERE wallet_transactions.wallet_id = wallets.id)",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(WalletTransactions::Table)
                    .col(WalletTransactions::WalletId)
                    .col(WalletTransactions::Seq)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(WalletTransactions::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Wallets::Table)
                    .drop_column(Wallets::PostingCount)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WalletTransactions::Table)
                    .drop_column(WalletTransactions::Seq)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum WalletTransactions {
    Table,
    WalletId,
    Seq,
}

#[derive(DeriveIden)]
enum Wallets {
    Table,
    PostingCount,
}
