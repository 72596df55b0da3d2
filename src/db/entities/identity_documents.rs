//! `identity_documents`: the identity details a user submitted for the KYC check, one row per user. Mirrors migration `m20261126_000009`; change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identity_documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// `passport` | `national_id` | `driving_licence`.
    #[sea_orm(column_type = "Text")]
    pub document_type: String,
    #[sea_orm(column_type = "Text")]
    pub document_number: String,
    pub issued_on: Date,
    #[sea_orm(column_type = "Text")]
    pub address: String,
    /// When the user first submitted a document.
    pub submitted_at: DateTimeUtc,
    /// When the user last submitted or changed it.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
