//! An index for the marketplace's "most funded" order: loans open for
//! investment by funded share (per ten thousand of the amount, as the
//! listing query computes it), then id. It is the one order that had no
//! index, so each of its pages sorted every open loan that matched. The
//! expression must stay exactly the query's (`src/db/queries/marketplace.rs`)
//! for either database to use it. Raw SQL: sea-query writes no expression
//! index for SQLite; this statement is valid on both databases.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "ix_loan_requests_status_funded_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX {NAME} ON loan_requests \
                 (status, ((funded_amount * 10000) / amount), id)"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(NAME)
                    .table(LoanRequests::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum LoanRequests {
    Table,
}
