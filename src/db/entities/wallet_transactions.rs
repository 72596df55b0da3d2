//! `wallet_transactions`: signed postings of a journal entry to wallets. Mirrors migrations `m20261122_000004` and `m20261201_000024` (`seq`); change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wallet_transactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub entry_id: Uuid,
    pub wallet_id: Uuid,
    /// Minor units, signed (credit > 0, debit < 0), never 0.
    pub amount: i64,
    /// Wallet balance right after this posting, minor units.
    pub balance_after: i64,
    pub created_at: DateTimeUtc,
    /// Its journal entry's `seq`: a wallet's movements in journal order
    /// from the index `(wallet_id, seq)`.
    pub seq: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::ledger_entries::Entity",
        from = "Column::EntryId",
        to = "super::ledger_entries::Column::Id",
        on_delete = "Restrict"
    )]
    Entry,
    #[sea_orm(
        belongs_to = "super::wallets::Entity",
        from = "Column::WalletId",
        to = "super::wallets::Column::Id",
        on_delete = "Restrict"
    )]
    Wallet,
}

impl Related<super::ledger_entries::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Entry.def()
    }
}

impl Related<super::wallets::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Wallet.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
