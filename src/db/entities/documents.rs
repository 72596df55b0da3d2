//! `documents`: generated documents (loan agreements), stored once with the SHA-256 of their bytes. Mirrors migration `m20261126_000012`; change only together with a new migration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `loan_agreement`.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    pub loan_id: Uuid,
    /// The investment an agreement belongs to.
    pub investment_id: Option<Uuid>,
    /// What a download is called, e.g. `crowdlend-agreement-0190….pdf`.
    #[sea_orm(column_type = "Text")]
    pub file_name: String,
    #[sea_orm(column_type = "Text")]
    pub content_type: String,
    #[sea_orm(column_type = "Blob")]
    pub content: Vec<u8>,
    /// Lowercase hex SHA-256 of `content`, as computed when it was made.
    #[sea_orm(column_type = "Char(Some(64))")]
    pub sha256: String,
    pub created_at: DateTimeUtc,
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
    #[sea_orm(
        belongs_to = "super::investments::Entity",
        from = "Column::InvestmentId",
        to = "super::investments::Column::Id",
        on_delete = "Restrict"
    )]
    Investment,
}

impl ActiveModelBehavior for ActiveModel {}
