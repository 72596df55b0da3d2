//! `ledger_head`: the one row that orders the journal. Mirrors migration `m20261123_000006`; change only together with a new migration.

use sea_orm::entity::prelude::*;

/// `seq` is the last entry's sequence number, `last_hash` its hash.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_head")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub seq: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_hash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
