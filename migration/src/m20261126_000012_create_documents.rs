//! `documents`: generated documents kept once, in the database so every app
//! instance serves the same bytes (a loan agreement per investment for now;
//! tax reports and statements later). Each keeps the SHA-256 of its content,
//! checked again on every download.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Documents::Table)
                    .col(
                        ColumnDef::new(Documents::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Documents::Kind).text().not_null().check((
                        "ck_documents_kind",
                        Expr::col(Documents::Kind).is_in(["loan_agreement"]),
                    )))
                    .col(ColumnDef::new(Documents::LoanId).uuid().not_null())
                    .col(ColumnDef::new(Documents::InvestmentId).uuid().null())
                    .col(ColumnDef::new(Documents::FileName).text().not_null())
                    .col(ColumnDef::new(Documents::ContentType).text().not_null())
                    .col(ColumnDef::new(Documents::Content).blob().not_null())
                    .col(ColumnDef::new(Documents::Sha256).char_len(64).not_null())
                    .col(
                        ColumnDef::new(Documents::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_documents_loan_id")
                            .from(Documents::Table, Documents::LoanId)
                            .to(LoanRequests::Table, LoanRequests::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_documents_investment_id")
                            .from(Documents::Table, Documents::InvestmentId)
                            .to(Investments::Table, Investments::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // One agreement per investment.
        manager
            .create_index(
                Index::create()
                    .name("ux_documents_investment_id_kind")
                    .table(Documents::Table)
                    .col(Documents::InvestmentId)
                    .col(Documents::Kind)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_documents_loan_id")
                    .table(Documents::Table)
                    .col(Documents::LoanId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Documents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Documents {
    Table,
    Id,
    Kind,
    LoanId,
    InvestmentId,
    FileName,
    ContentType,
    Content,
    Sha256,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LoanRequests {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Investments {
    Table,
    Id,
}
