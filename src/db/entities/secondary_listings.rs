//! `secondary_listings`: principal of an investment offered on the secondary market, and what became of it (the ownership history). Mirrors migration `m20261130_000022`; change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "secondary_listings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub loan_id: Uuid,
    /// The seller's investment the principal comes from.
    pub investment_id: Uuid,
    pub seller_id: Uuid,
    /// Minor units of principal on sale, > 0.
    pub principal: i64,
    #[sea_orm(column_type = "Char(Some(3))")]
    pub currency: String,
    /// Basis points over (or, negative, under) the principal.
    pub markup_bps: i32,
    /// `open` | `sold` | `withdrawn`.
    #[sea_orm(column_type = "Text")]
    pub status: String,
    /// Why it was withdrawn.
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    pub buyer_id: Option<Uuid>,
    /// The investment the buyer holds since the sale.
    pub buyer_investment_id: Option<Uuid>,
    /// What the buyer paid; of it the seller received `price - fee`.
    pub price: Option<i64>,
    pub fee: Option<i64>,
    pub entry_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
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
