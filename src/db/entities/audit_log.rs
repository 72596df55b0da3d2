//! `audit_log`: append-only record of security- and money-relevant actions. Mirrors migration `m20261122_000005`; change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `None` for anonymous/system actions or once the actor was deleted.
    pub actor_id: Option<Uuid>,
    /// e.g. `login_succeeded`, `login_failed`, `user_created`.
    #[sea_orm(column_type = "Text")]
    pub action: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub entity_type: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub entity_id: Option<String>,
    pub before: Option<Json>,
    pub after: Option<Json>,
    #[sea_orm(column_type = "Text", nullable)]
    pub ip: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::ActorId",
        to = "super::users::Column::Id",
        on_delete = "SetNull"
    )]
    Actor,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Actor.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
