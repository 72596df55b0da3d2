//! `loan_requests`: applications and, once approved, the loans themselves. Mirrors migrations `m20261122_000003` and `m20261130_000016` (`default_reason`); change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "loan_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub borrower_id: Uuid,
    /// Current (approved) amount, minor units, > 0. `funded_amount <= amount`
    /// is enforced by the database.
    pub amount: i64,
    #[sea_orm(column_type = "Char(Some(3))")]
    pub currency: String,
    /// 1..=360.
    pub term_months: i32,
    /// Basis points (1500 = 15.00 %), 0..=10000; `None` until scored.
    pub rate_annual: Option<i32>,
    /// What the borrower asked for, minor units.
    pub requested_amount: i64,
    pub requested_term_months: i32,
    /// `debt_consolidation` | `business` | `home_improvement` | `car` |
    /// `education` | `medical` | `travel` | `other`.
    #[sea_orm(column_type = "Text")]
    pub purpose: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// `pending` | `scoring` | `approved` | `funding` | `funded` | `active` |
    /// `repaid` | `rejected` | `withdrawn` | `expired` | `defaulted`.
    #[sea_orm(column_type = "Text")]
    pub status: String,
    /// Minor units, 0..=amount.
    pub funded_amount: i64,
    /// `A`..=`F` (uppercase).
    #[sea_orm(column_type = "Char(Some(1))", nullable)]
    pub risk_grade: Option<String>,
    /// 0..=1000.
    pub scoring_score: Option<i32>,
    /// `fixed` | `offers`.
    #[sea_orm(column_type = "Text")]
    pub listing_mode: String,
    pub funding_deadline: Option<DateTimeUtc>,
    pub listed_at: Option<DateTimeUtc>,
    pub funded_at: Option<DateTimeUtc>,
    pub disbursed_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub rejection_reason: Option<String>,
    /// Why the loan was declared defaulted (`m20261130_000016`).
    #[sea_orm(column_type = "Text", nullable)]
    pub default_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::BorrowerId",
        to = "super::users::Column::Id",
        on_delete = "Restrict"
    )]
    Borrower,
    #[sea_orm(has_many = "super::investments::Entity")]
    Investments,
    #[sea_orm(has_many = "super::repayment_schedule::Entity")]
    RepaymentSchedule,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Borrower.def()
    }
}

impl Related<super::investments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Investments.def()
    }
}

impl Related<super::repayment_schedule::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RepaymentSchedule.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
