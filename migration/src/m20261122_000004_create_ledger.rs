//! Double-entry money ledger: `wallets` (balances), `ledger_entries`
//! (hash-chained journal) and `wallet_transactions` (signed postings).
//!
//! Every foreign key is ON DELETE RESTRICT: money history is never deleted.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_wallets(manager).await?;
        create_ledger_entries(manager).await?;
        create_wallet_transactions(manager).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WalletTransactions::Table.into_iden(),
            LedgerEntries::Table.into_iden(),
            Wallets::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

async fn create_wallets(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Wallets::Table)
                .col(ColumnDef::new(Wallets::Id).uuid().not_null().primary_key())
                // NULL for platform wallets (settlement, fees, reserve fund).
                .col(ColumnDef::new(Wallets::UserId).uuid().null())
                .col(ColumnDef::new(Wallets::Kind).text().not_null().check((
                    "ck_wallets_kind",
                    Expr::col(Wallets::Kind).is_in(["user", "settlement", "fees", "reserve_fund"]),
                )))
                .col(
                    ColumnDef::new(Wallets::Currency)
                        .char_len(3)
                        .not_null()
                        .default("RUB"),
                )
                // Signed on purpose: see ck_wallets_user_balance below.
                .col(
                    ColumnDef::new(Wallets::Balance)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                // Money earmarked for pending investments/withdrawals.
                .col(
                    ColumnDef::new(Wallets::Reserved)
                        .big_integer()
                        .not_null()
                        .default(0)
                        .check(("ck_wallets_reserved", Expr::col(Wallets::Reserved).gte(0))),
                )
                .col(
                    ColumnDef::new(Wallets::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Wallets::UpdatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                // A wallet belongs to a user iff it is a 'user' wallet; written
                // with AND/OR because boolean equality is not portable.
                .check((
                    "ck_wallets_owner",
                    Expr::col(Wallets::Kind)
                        .eq("user")
                        .and(Expr::col(Wallets::UserId).is_not_null())
                        .or(Expr::col(Wallets::Kind)
                            .ne("user")
                            .and(Expr::col(Wallets::UserId).is_null())),
                ))
                // User wallets can never go negative or reserve more than they
                // hold. Platform wallets are exempt: the settlement wallet goes
                // negative by design, mirroring money that entered the platform.
                .check((
                    "ck_wallets_user_balance",
                    Expr::col(Wallets::Kind)
                        .ne("user")
                        .or(Expr::col(Wallets::Balance)
                            .gte(0)
                            .and(Expr::col(Wallets::Reserved).lte(Expr::col(Wallets::Balance)))),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_wallets_user_id")
                        .from(Wallets::Table, Wallets::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;

    // One wallet per user and currency (also the index for user_id lookups).
    // NULL user_ids are distinct here, so platform wallets need the index below.
    manager
        .create_index(
            Index::create()
                .name("uq_wallets_user_id_currency")
                .table(Wallets::Table)
                .col(Wallets::UserId)
                .col(Wallets::Currency)
                .unique()
                .to_owned(),
        )
        .await?;

    // Exactly one platform wallet of each kind per currency (partial unique
    // index; supported by both SQLite and PostgreSQL).
    manager
        .create_index(
            Index::create()
                .name("wallets_platform_kind_currency")
                .table(Wallets::Table)
                .col(Wallets::Kind)
                .col(Wallets::Currency)
                .unique()
                .and_where(Expr::col(Wallets::UserId).is_null())
                .to_owned(),
        )
        .await?;

    Ok(())
}

async fn create_ledger_entries(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(LedgerEntries::Table)
                .col(
                    ColumnDef::new(LedgerEntries::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                // Position in the hash chain; unique so two writers cannot both
                // append the same next entry.
                .col(
                    ColumnDef::new(LedgerEntries::Seq)
                        .big_integer()
                        .not_null()
                        .unique_key(),
                )
                // Free-form on purpose ('deposit', 'withdrawal', 'investment',
                // 'disbursement', 'repayment', 'fee', ...): new kinds must not
                // need a migration.
                .col(ColumnDef::new(LedgerEntries::Kind).text().not_null())
                .col(
                    ColumnDef::new(LedgerEntries::Memo)
                        .text()
                        .not_null()
                        .default(""),
                )
                // NULL for entries created by the system (scheduled jobs).
                .col(ColumnDef::new(LedgerEntries::CreatedBy).uuid().null())
                .col(
                    ColumnDef::new(LedgerEntries::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                // SHA-256 hex over this entry and prev_hash (tamper evidence).
                .col(
                    ColumnDef::new(LedgerEntries::Hash)
                        .text()
                        .not_null()
                        .unique_key(),
                )
                // NULL only for the genesis entry.
                .col(ColumnDef::new(LedgerEntries::PrevHash).text().null())
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_ledger_entries_created_by")
                        .from(LedgerEntries::Table, LedgerEntries::CreatedBy)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;

    manager
        .create_index(
            Index::create()
                .name("idx_ledger_entries_created_at")
                .table(LedgerEntries::Table)
                .col(LedgerEntries::CreatedAt)
                .to_owned(),
        )
        .await?;

    Ok(())
}

async fn create_wallet_transactions(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(WalletTransactions::Table)
                .col(
                    ColumnDef::new(WalletTransactions::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(WalletTransactions::EntryId)
                        .uuid()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(WalletTransactions::WalletId)
                        .uuid()
                        .not_null(),
                )
                // Signed posting (credit > 0, debit < 0); a zero posting is
                // meaningless and would only pad the journal.
                .col(
                    ColumnDef::new(WalletTransactions::Amount)
                        .big_integer()
                        .not_null()
                        .check((
                            "ck_wallet_transactions_amount",
                            Expr::col(WalletTransactions::Amount).ne(0),
                        )),
                )
                // Wallet balance right after this posting (statement view).
                .col(
                    ColumnDef::new(WalletTransactions::BalanceAfter)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(WalletTransactions::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_wallet_transactions_entry_id")
                        .from(WalletTransactions::Table, WalletTransactions::EntryId)
                        .to(LedgerEntries::Table, LedgerEntries::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_wallet_transactions_wallet_id")
                        .from(WalletTransactions::Table, WalletTransactions::WalletId)
                        .to(Wallets::Table, Wallets::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;

    // Wallet statement: postings of one wallet in time order.
    manager
        .create_index(
            Index::create()
                .name("idx_wallet_transactions_wallet_id_created_at")
                .table(WalletTransactions::Table)
                .col(WalletTransactions::WalletId)
                .col(WalletTransactions::CreatedAt)
                .to_owned(),
        )
        .await?;

    manager
        .create_index(
            Index::create()
                .name("idx_wallet_transactions_entry_id")
                .table(WalletTransactions::Table)
                .col(WalletTransactions::EntryId)
                .to_owned(),
        )
        .await?;

    Ok(())
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Wallets {
    Table,
    Id,
    UserId,
    Kind,
    Currency,
    Balance,
    Reserved,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Id,
    Seq,
    Kind,
    Memo,
    CreatedBy,
    CreatedAt,
    Hash,
    PrevHash,
}

#[derive(DeriveIden)]
enum WalletTransactions {
    Table,
    Id,
    EntryId,
    WalletId,
    Amount,
    BalanceAfter,
    CreatedAt,
}
