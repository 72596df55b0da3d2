//! What moving money needs beyond the journal: the chain head that orders
//! ledger entries, users' bank accounts, the bank transfer behind each
//! deposit and withdrawal, and idempotency keys for money-moving forms.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row, locked by every posting: it serializes the hash chain and
        // hands out the next sequence number.
        manager
            .create_table(
                Table::create()
                    .table(LedgerHead::Table)
                    .col(
                        ColumnDef::new(LedgerHead::Id)
                            .integer()
                            .not_null()
                            .primary_key()
                            .check(("ck_ledger_head_single", Expr::col(LedgerHead::Id).eq(1))),
                    )
                    .col(
                        ColumnDef::new(LedgerHead::Seq)
                            .big_integer()
                            .not_null()
                            .check(("ck_ledger_head_seq", Expr::col(LedgerHead::Seq).gte(0))),
                    )
                    .col(ColumnDef::new(LedgerHead::LastHash).text().null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BankAccounts::Table)
                    .col(
                        ColumnDef::new(BankAccounts::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(BankAccounts::UserId).uuid().not_null())
                    .col(ColumnDef::new(BankAccounts::HolderName).text().not_null())
                    .col(ColumnDef::new(BankAccounts::BankName).text().not_null())
                    // Digits only, as banks print them without spaces; IBANs are up to 34.
                    .col(
                        ColumnDef::new(BankAccounts::AccountNumber)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BankAccounts::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_bank_accounts_user")
                            .from(BankAccounts::Table, BankAccounts::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_bank_accounts_user_id")
                    .table(BankAccounts::Table)
                    .col(BankAccounts::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BankTransfers::Table)
                    .col(
                        ColumnDef::new(BankTransfers::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    // One transfer per journal entry.
                    .col(
                        ColumnDef::new(BankTransfers::EntryId)
                            .uuid()
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(BankTransfers::BankAccountId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BankTransfers::Direction)
                            .text()
                            .not_null()
                            .check((
                                "ck_bank_transfers_direction",
                                Expr::col(BankTransfers::Direction)
                                    .is_in(["deposit", "withdrawal"]),
                            )),
                    )
                    .col(
                        ColumnDef::new(BankTransfers::Amount)
                            .big_integer()
                            .not_null()
                            .check((
                                "ck_bank_transfers_amount",
                                Expr::col(BankTransfers::Amount).gt(0),
                            )),
                    )
                    .col(
                        ColumnDef::new(BankTransfers::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_bank_transfers_entry")
                            .from(BankTransfers::Table, BankTransfers::EntryId)
                            .to(LedgerEntries::Table, LedgerEntries::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    // A bank account that money went through can never be deleted.
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_bank_transfers_bank_account")
                            .from(BankTransfers::Table, BankTransfers::BankAccountId)
                            .to(BankAccounts::Table, BankAccounts::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_bank_transfers_bank_account_id")
                    .table(BankTransfers::Table)
                    .col(BankTransfers::BankAccountId)
                    .to_owned(),
            )
            .await?;

        // The first response to a money-moving form, replayed for a repeated
        // submission with the same key (DESIGN.md section 12).
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(ColumnDef::new(IdempotencyKeys::UserId).uuid().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::Key).text().not_null())
                    .col(
                        ColumnDef::new(IdempotencyKeys::RequestHash)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdempotencyKeys::ResponseLocation)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IdempotencyKeys::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKeys::UserId)
                            .col(IdempotencyKeys::Key),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_idempotency_keys_user")
                            .from(IdempotencyKeys::Table, IdempotencyKeys::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            IdempotencyKeys::Table.into_iden(),
            BankTransfers::Table.into_iden(),
            BankAccounts::Table.into_iden(),
            LedgerHead::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum LedgerHead {
    Table,
    Id,
    Seq,
    LastHash,
}

#[derive(DeriveIden)]
enum BankAccounts {
    Table,
    Id,
    UserId,
    HolderName,
    BankName,
    AccountNumber,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BankTransfers {
    Table,
    Id,
    EntryId,
    BankAccountId,
    Direction,
    Amount,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    UserId,
    Key,
    RequestHash,
    ResponseLocation,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Id,
}
