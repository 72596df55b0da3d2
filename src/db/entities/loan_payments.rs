//! `loan_payments`: every amount received for a loan and how it was allocated. Mirrors migration `m20261130_000016`; change only together with a new migration.

use sea_orm::entity::prelude::*;

/// Money in minor units; `penalty + interest + principal + prepaid_principal
/// + reserve_repaid = amount` (a CHECK).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "loan_payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub loan_id: Uuid,
    /// The borrower who paid from the loan page; `None` when the platform
    /// collected it from the wallet.
    pub paid_by: Option<Uuid>,
    /// `payment` | `payoff` | `collection` | `recovery`.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    pub amount: i64,
    pub currency: String,
    pub penalty: i64,
    pub interest: i64,
    pub principal: i64,
    pub prepaid_principal: i64,
    pub reserve_repaid: i64,
    pub fee: i64,
    pub entry_id: Uuid,
    pub paid_on: Date,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::distributions::Entity")]
    Distributions,
}

impl Related<super::distributions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Distributions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
