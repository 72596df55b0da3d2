//! The secondary market (DESIGN.md section 8): an investor offers principal
//! of an active investment at its outstanding value times (1 + markup);
//! a buyer pays the price and from then on holds that principal. One row
//! per listing, kept after it is sold or withdrawn: with the seller, the
//! buyer, the investment each held and the ledger entry of the sale, it is
//! the ownership history. At most one open listing per investment (a
//! partial unique index).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SecondaryListings::Table)
                    .col(
                        ColumnDef::new(SecondaryListings::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SecondaryListings::LoanId).uuid().not_null())
                    .col(
                        ColumnDef::new(SecondaryListings::InvestmentId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecondaryListings::SellerId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecondaryListings::Principal)
                            .big_integer()
                            .not_null()
                            .check((
                                Alias::new("ck_secondary_listings_principal"),
                                Expr::col(SecondaryListings::Principal).gt(0),
                            )),
                    )
                    .col(
                        ColumnDef::new(SecondaryListings::Currency)
                            .char_len(3)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecondaryListings::MarkupBps)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecondaryListings::Status)
                            .text()
                            .not_null()
                            .check((
                                Alias::new("ck_secondary_listings_status"),
                                Expr::col(SecondaryListings::Status).is_in([
                                    "open",
                                    "sold",
                                    "withdrawn",
                                ]),
                            )),
                    )
                    .col(ColumnDef::new(SecondaryListings::Reason).text().null())
                    .col(ColumnDef::new(SecondaryListings::BuyerId).uuid().null())
                    .col(
                        ColumnDef::new(SecondaryListings::BuyerInvestmentId)
                            .uuid()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SecondaryListings::Price)
                            .big_integer()
                            .null(),
                    )
                    .col(ColumnDef::new(SecondaryListings::Fee).big_integer().null())
                    .col(ColumnDef::new(SecondaryListings::EntryId).uuid().null())
                    .col(
                        ColumnDef::new(SecondaryListings::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecondaryListings::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SecondaryListings::ClosedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_secondary_listings_loan_id")
                            .from(SecondaryListings::Table, SecondaryListings::LoanId)
                            .to(LoanRequests::Table, LoanRequests::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_secondary_listings_investment_id")
                            .from(SecondaryListings::Table, SecondaryListings::InvestmentId)
                            .to(Investments::Table, Investments::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_secondary_listings_seller_id")
                            .from(SecondaryListings::Table, SecondaryListings::SellerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_secondary_listings_status_created_at")
                    .table(SecondaryListings::Table)
                    .col(SecondaryListings::Status)
                    .col(SecondaryListings::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_secondary_listings_loan_id")
                    .table(SecondaryListings::Table)
                    .col(SecondaryListings::LoanId)
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_secondary_listings_open_investment \
                 ON secondary_listings (investment_id) WHERE status = 'open'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SecondaryListings::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum SecondaryListings {
    Table,
    Id,
    LoanId,
    InvestmentId,
    SellerId,
    Principal,
    Currency,
    MarkupBps,
    Status,
    Reason,
    BuyerId,
    BuyerInvestmentId,
    Price,
    Fee,
    EntryId,
    CreatedAt,
    UpdatedAt,
    ClosedAt,
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

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
