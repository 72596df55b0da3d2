//! `bank_transfers`: the bank side of each deposit and withdrawal. Mirrors migration `m20261123_000006`; change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bank_transfers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub entry_id: Uuid,
    pub bank_account_id: Uuid,
    /// `deposit` | `withdrawal`.
    #[sea_orm(column_type = "Text")]
    pub direction: String,
    /// Minor units, > 0.
    pub amount: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::ledger_entries::Entity",
        from = "Column::EntryId",
        to = "super::ledger_entries::Column::Id",
        on_delete = "Restrict"
    )]
    LedgerEntry,
    #[sea_orm(
        belongs_to = "super::bank_accounts::Entity",
        from = "Column::BankAccountId",
        to = "super::bank_accounts::Column::Id",
        on_delete = "Restrict"
    )]
    BankAccount,
}

impl ActiveModelBehavior for ActiveModel {}
