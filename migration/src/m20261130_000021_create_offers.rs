//! Direct offers (DESIGN.md section 5, listing mode `offers`): a lender's
//! rate for the whole of a loan, with the amount reserved in the lender's
//! wallet while the offer is `pending`. At most one pending offer per
//! lender and loan (a partial unique index: editing changes the rate of
//! that one). `decided_at` is when it left `pending`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Offers::Table)
                    .col(ColumnDef::new(Offers::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Offers::LoanId).uuid().not_null())
                    .col(ColumnDef::new(Offers::LenderId).uuid().not_null())
                    .col(
                        ColumnDef::new(Offers::RateAnnual)
                            .integer()
                            .not_null()
                            .check((
                                Alias::new("ck_offers_rate_annual"),
                                Expr::col(Offers::RateAnnual).gt(0),
                            )),
                    )
                    .col(
                        ColumnDef::new(Offers::Amount)
                            .big_integer()
                            .not_null()
                            .check((
                                Alias::new("ck_offers_amount"),
                                Expr::col(Offers::Amount).gt(0),
                            )),
                    )
                    .col(ColumnDef::new(Offers::Currency).char_len(3).not_null())
                    .col(ColumnDef::new(Offers::Status).text().not_null().check((
                        Alias::new("ck_offers_status"),
                        Expr::col(Offers::Status).is_in([
                            "pending",
                            "accepted",
                            "rejected",
                            "cancelled",
                            "expired",
                        ]),
                    )))
                    .col(
                        ColumnDef::new(Offers::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Offers::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Offers::DecidedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_offers_loan_id")
                            .from(Offers::Table, Offers::LoanId)
                            .to(LoanRequests::Table, LoanRequests::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_offers_lender_id")
                            .from(Offers::Table, Offers::LenderId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_offers_loan_id_status")
                    .table(Offers::Table)
                    .col(Offers::LoanId)
                    .col(Offers::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_offers_lender_id")
                    .table(Offers::Table)
                    .col(Offers::LenderId)
                    .to_owned(),
            )
            .await?;
        // The same statement on SQLite and PostgreSQL: a partial index.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_offers_pending_lender ON offers (loan_id, lender_id) \
                 WHERE status = 'pending'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Offers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Offers {
    Table,
    Id,
    LoanId,
    LenderId,
    RateAnnual,
    Amount,
    Currency,
    Status,
    CreatedAt,
    UpdatedAt,
    DecidedAt,
}

#[derive(DeriveIden)]
enum LoanRequests {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
