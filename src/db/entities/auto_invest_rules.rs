//! `auto_invest_rules`: an investor's standing auto-invest rules. Mirrors migration `m20261130_000020`; change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auto_invest_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub investor_id: Uuid,
    #[sea_orm(column_type = "Char(Some(3))")]
    pub currency: String,
    /// Minor units, > 0.
    pub max_per_loan: i64,
    pub min_loan_amount: Option<i64>,
    pub max_loan_amount: Option<i64>,
    /// Comma-separated grades; empty for any.
    #[sea_orm(column_type = "Text")]
    pub grades: String,
    /// Basis points.
    pub min_rate: Option<i32>,
    pub max_term_months: Option<i32>,
    /// Comma-separated purpose words; empty for any.
    #[sea_orm(column_type = "Text")]
    pub purposes: String,
    pub exposure_cap: Option<i64>,
    pub cash_reserve: i64,
    pub reinvest: bool,
    pub active: bool,
    /// What the rule has put into loans in all.
    pub placed_total: i64,
    pub last_served_seq: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
