//! `repayment_schedule`: one row per instalment of a loan. Mirrors migrations `m20261122_000003`, `m20261130_000015` (the status words) and `m20261130_000016` (`reminded_on`); change only together with a new migration.

use sea_orm::entity::prelude::*;

/// All money fields are minor units, >= 0; the database enforces
/// `paid_principal <= principal`, `paid_interest <= interest` and
/// `penalty_paid <= penalty_accrued`, and `(loan_id, payment_num)` is unique.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "repayment_schedule")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub loan_id: Uuid,
    /// 1-based.
    pub payment_num: i32,
    pub due_date: Date,
    pub principal: i64,
    pub interest: i64,
    pub paid_principal: i64,
    pub paid_interest: i64,
    pub penalty_accrued: i64,
    pub penalty_paid: i64,
    /// `scheduled` | `due` | `partially_paid` | `paid` | `overdue` | `written_off`
    /// (`domain::installment::InstallmentStatus`).
    #[sea_orm(column_type = "Text")]
    pub status: String,
    pub paid_at: Option<DateTimeUtc>,
    /// The reminder of this installment went out (`m20261130_000016`).
    pub reminded_on: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
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

impl ActiveModelBehavior for ActiveModel {}
