//! `wallets`: balances of users and of the platform. Mirrors migrations `m20261122_000004` and `m20261201_000024` (`posting_count`); change only together with a new migration.

use sea_orm::entity::prelude::*;

/// A `user` wallet has a `user_id`, never a negative `balance`, and
/// `reserved <= balance`; platform wallets (`settlement`, `fees`,
/// `reserve_fund`) have no `user_id` and exist once per kind and currency.
/// The settlement wallet goes negative by design.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wallets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `None` for platform wallets.
    pub user_id: Option<Uuid>,
    /// `user` | `settlement` | `fees` | `reserve_fund`.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    #[sea_orm(column_type = "Char(Some(3))")]
    pub currency: String,
    /// Minor units, signed.
    pub balance: i64,
    /// Minor units, >= 0.
    pub reserved: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// How many postings (`wallet_transactions`) the wallet has, written
    /// with its balance: the wallet page's page count without counting.
    pub posting_count: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_delete = "Restrict"
    )]
    User,
    #[sea_orm(has_many = "super::wallet_transactions::Entity")]
    WalletTransactions,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::wallet_transactions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WalletTransactions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
