//! `reserve_fund_events`: the reserve fund covering investors after a default, and being repaid from recoveries. Mirrors migration `m20261130_000016`; change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reserve_fund_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub loan_id: Uuid,
    pub investment_id: Uuid,
    /// `covered` | `repaid`.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    pub amount: i64,
    /// What the investment had outstanding when it was covered.
    pub outstanding: i64,
    pub entry_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
