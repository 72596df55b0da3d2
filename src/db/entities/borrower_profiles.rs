//! `borrower_profiles`: one per borrower. Mirrors migration `m20261122_000002`; change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "borrower_profiles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub birth_date: Date,
    /// `employed` | `self_employed` | `unemployed` | `retired` | `student`.
    #[sea_orm(column_type = "Text")]
    pub employment_status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub employer: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub position: Option<String>,
    pub employed_since: Option<Date>,
    /// Minor units.
    pub monthly_income: i64,
    /// Minor units.
    pub monthly_expenses: i64,
    #[sea_orm(column_type = "Char(Some(3))")]
    pub currency: String,
    /// `none` | `secondary` | `vocational` | `bachelor` | `master` | `doctorate`.
    #[sea_orm(column_type = "Text")]
    pub education: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub university: Option<String>,
    pub graduation_year: Option<i32>,
    /// 0..=1000.
    pub credit_score: Option<i32>,
    /// Minor units.
    pub avg_bank_balance: i64,
    pub defaults_12m: i32,
    pub inquiries_12m: i32,
    pub created_at: DateTimeUtc,
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
