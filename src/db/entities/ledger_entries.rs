//! `ledger_entries`: the hash-chained journal. Mirrors migration `m20261122_000004`; change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Chain order; unique.
    #[sea_orm(unique)]
    pub seq: i64,
    /// e.g. `deposit`, `withdrawal`, `investment`, `disbursement`, `repayment`, `fee`.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub memo: String,
    /// `None` for system-created entries.
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    /// SHA-256 hex; unique.
    #[sea_orm(column_type = "Text", unique)]
    pub hash: String,
    /// `None` only for the first entry.
    #[sea_orm(column_type = "Text", nullable)]
    pub prev_hash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::CreatedBy",
        to = "super::users::Column::Id",
        on_delete = "Restrict"
    )]
    Creator,
    #[sea_orm(has_many = "super::wallet_transactions::Entity")]
    WalletTransactions,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Creator.def()
    }
}

impl Related<super::wallet_transactions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WalletTransactions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
