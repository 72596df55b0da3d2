//! `idempotency_keys`: the first answer to a money-moving form. Mirrors migration `m20261123_000006`; change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub key: String,
    /// SHA-256 of the request's parameters: the same key with other parameters is refused.
    #[sea_orm(column_type = "Text")]
    pub request_hash: String,
    /// Where the first request was redirected.
    #[sea_orm(column_type = "Text")]
    pub response_location: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
