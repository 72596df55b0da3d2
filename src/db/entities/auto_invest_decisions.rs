//! `auto_invest_decisions`: what a rule did with a loan it looked for (the investment made, or why it passed the loan over). Mirrors migration `m20261130_000020`; change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auto_invest_decisions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub rule_id: Uuid,
    pub loan_id: Uuid,
    pub investment_id: Option<Uuid>,
    /// Why the rule passed the loan over (a `Skip` word).
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    pub decided_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::investments::Entity",
        from = "Column::InvestmentId",
        to = "super::investments::Column::Id",
        on_delete = "Restrict"
    )]
    Investment,
    #[sea_orm(
        belongs_to = "super::loan_requests::Entity",
        from = "Column::LoanId",
        to = "super::loan_requests::Column::Id",
        on_delete = "Restrict"
    )]
    Loan,
}

impl Related<super::loan_requests::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Loan.def()
    }
}

impl Related<super::investments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Investment.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
