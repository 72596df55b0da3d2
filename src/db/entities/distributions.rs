//! `distributions`: what each investment's holder received from each loan payment. Mirrors migration `m20261130_000016`; change only together with a new migration.

use sea_orm::entity::prelude::*;

/// Money in minor units, each >= 0; `fee <= interest + penalty`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "distributions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub payment_id: Uuid,
    pub investment_id: Uuid,
    pub loan_id: Uuid,
    /// Who held the investment when the payment came in.
    pub investor_id: Uuid,
    pub principal: i64,
    pub interest: i64,
    pub penalty: i64,
    pub fee: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::loan_payments::Entity",
        from = "Column::PaymentId",
        to = "super::loan_payments::Column::Id"
    )]
    Payment,
}

impl Related<super::loan_payments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Payment.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
