//! `investments`: an investor's stake in a loan. Mirrors migration `m20261122_000003`; change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "investments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub investor_id: Uuid,
    pub loan_id: Uuid,
    /// Minor units, > 0.
    pub amount: i64,
    /// `pending` | `active` | `repaid` | `defaulted` | `cancelled` | `expired` | `sold`.
    #[sea_orm(column_type = "Text")]
    pub status: String,
    /// `manual` | `auto` | `secondary`.
    #[sea_orm(column_type = "Text")]
    pub source: String,
    /// SHA-256 hex of the signed agreement.
    #[sea_orm(column_type = "Text", nullable)]
    pub agreement_hash: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub agreement_path: Option<String>,
    pub accepted_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::InvestorId",
        to = "super::users::Column::Id",
        on_delete = "Restrict"
    )]
    Investor,
    #[sea_orm(
        belongs_to = "super::loan_requests::Entity",
        from = "Column::LoanId",
        to = "super::loan_requests::Column::Id",
        on_delete = "Restrict"
    )]
    Loan,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Investor.def()
    }
}

impl Related<super::loan_requests::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Loan.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
