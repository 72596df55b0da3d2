//! `penalty_accruals`: penalty interest day by day and the one-off late fee, per installment. Mirrors migration `m20261130_000016`; change only together with a new migration.

use sea_orm::entity::prelude::*;

/// `UNIQUE(installment_id, accrued_on, kind)`: a day is charged once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "penalty_accruals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub installment_id: Uuid,
    pub loan_id: Uuid,
    pub accrued_on: Date,
    /// `daily` | `late_fee`.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    /// What was overdue that day (principal and interest unpaid).
    pub base: i64,
    pub amount: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
