//! `schedule_versions`: the installments a prepayment or payoff replaced, as they stood. Mirrors migration `m20261130_000016`; change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "schedule_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub loan_id: Uuid,
    /// 1 for the payout's schedule; `UNIQUE(loan_id, version)`.
    pub version: i32,
    pub payment_id: Uuid,
    /// JSON: the replaced rows.
    #[sea_orm(column_type = "Text")]
    pub installments: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
