//! `scoring_results`: each scorecard run over an application. Mirrors migration `m20261126_000008`; change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scoring_results")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub loan_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub model_version: String,
    /// 0..=1000.
    pub score: i32,
    /// `A`..=`F`.
    #[sea_orm(column_type = "Char(Some(1))")]
    pub grade: String,
    /// Basis points.
    pub suggested_rate: i32,
    /// Minor units.
    pub max_amount: i64,
    pub max_term_months: i32,
    /// Minor units.
    pub new_installment: i64,
    /// JSON: `[{key, name, input, points, max_points}]`.
    #[sea_orm(column_type = "Text")]
    pub factors: String,
    /// JSON: `[{key, message}]`.
    #[sea_orm(column_type = "Text")]
    pub hard_rule_failures: String,
    /// JSON: `[{factor, condition, grade, text}]`.
    #[sea_orm(column_type = "Text")]
    pub improvements: String,
    pub computed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::loan_requests::Entity",
        from = "Column::LoanId",
        to = "super::loan_requests::Column::Id",
        on_delete = "Restrict"
    )]
    LoanRequest,
}

impl Related<super::loan_requests::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::LoanRequest.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
