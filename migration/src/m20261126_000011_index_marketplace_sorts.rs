//! Indexes for the marketplace's orders: loans open for investment by rate,
//! term or amount, then id (the tie-breaker the key-cut pages use; the
//! deadline order has `(status, funding_deadline)` already). With them a page
//! reads its 21 rows from the index instead of sorting every open loan.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SORTS: [(&str, LoanRequests); 3] = [
    ("ix_loan_requests_status_rate_id", LoanRequests::RateAnnual),
    ("ix_loan_requests_status_term_id", LoanRequests::TermMonths),
    ("ix_loan_requests_status_amount_id", LoanRequests::Amount),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, column) in SORTS {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(LoanRequests::Table)
                        .col(LoanRequests::Status)
                        .col(column)
                        .col(LoanRequests::Id)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in SORTS {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(LoanRequests::Table)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum LoanRequests {
    Table,
    Id,
    Status,
    RateAnnual,
    TermMonths,
    Amount,
}
