//! Borrower and investor profile data: `borrower_profiles`,
//! `borrower_liabilities`, `borrower_assets`, `investor_profiles`.
//!
//! All of it is personal data owned by the user row, so deleting a user
//! cascades here (loans and money tables, by contrast, use RESTRICT).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BorrowerProfiles::Table)
                    // One profile per user: the user id is the primary key.
                    .col(
                        ColumnDef::new(BorrowerProfiles::UserId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(BorrowerProfiles::BirthDate)
                            .date()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BorrowerProfiles::EmploymentStatus)
                            .text()
                            .not_null()
                            .check((
                                "ck_borrower_profiles_employment_status",
                                Expr::col(BorrowerProfiles::EmploymentStatus).is_in([
                                    "employed",
                                    "self_employed",
                                    "unemployed",
                                    "retired",
                                    "student",
                                ]),
                            )),
                    )
                    .col(ColumnDef::new(BorrowerProfiles::Employer).text().null())
                    .col(ColumnDef::new(BorrowerProfiles::Position).text().null())
                    .col(
                        ColumnDef::new(BorrowerProfiles::EmployedSince)
                            .date()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(BorrowerProfiles::MonthlyIncome)
                            .big_integer()
                            .not_null()
                            .check((
                                "ck_borrower_profiles_monthly_income",
                                Expr::col(BorrowerProfiles::MonthlyIncome).gte(0),
                            )),
                    )
                    .col(
                        ColumnDef::new(BorrowerProfiles::MonthlyExpenses)
                            .big_integer()
                            .not_null()
                            .check((
                                "ck_borrower_profiles_monthly_expenses",
                                Expr::col(BorrowerProfiles::MonthlyExpenses).gte(0),
                            )),
                    )
                    .col(
                        ColumnDef::new(BorrowerProfiles::Currency)
                            .char_len(3)
                            .not_null()
                            .default("RUB"),
                    )
                    .col(
                        ColumnDef::new(BorrowerProfiles::Education)
                            .text()
                            .not_null()
                            .check((
                                "ck_borrower_profiles_education",
                                Expr::col(BorrowerProfiles::Education).is_in([
                                    "none",
                                    "secondary",
                                    "vocational",
                                    "bachelor",
                                    "master",
                                    "doctorate",
                                ]),
                            )),
                    )
                    .col(ColumnDef::new(BorrowerProfiles::University).text().null())
                    .col(
                        ColumnDef::new(BorrowerProfiles::GraduationYear)
                            .integer()
                            .null(),
                    )
                    // Bureau score on a 0..=1000 scale; NULL = no bureau record.
                    .col(
                        ColumnDef::new(BorrowerProfiles::CreditScore)
                            .integer()
                            .null()
                            .check((
                                "ck_borrower_profiles_credit_score",
                                Expr::col(BorrowerProfiles::CreditScore).between(0, 1000),
                            )),
                    )
                    .col(
                        ColumnDef::new(BorrowerProfiles::AvgBankBalance)
                            .big_integer()
                            .not_null()
                            .check((
                                "ck_borrower_profiles_avg_bank_balance",
                                Expr::col(BorrowerProfiles::AvgBankBalance).gte(0),
                            )),
                    )
                    .col(
                        ColumnDef::new(BorrowerProfiles::Defaults12m)
                            .integer()
                            .not_null()
                            .default(0)
                            .check((
                                "ck_borrower_profiles_defaults_12m",
                                Expr::col(BorrowerProfiles::Defaults12m).gte(0),
                            )),
                    )
                    .col(
                        ColumnDef::new(BorrowerProfiles::Inquiries12m)
                            .integer()
                            .not_null()
                            .default(0)
                            .check((
                                "ck_borrower_profiles_inquiries_12m",
                                Expr::col(BorrowerProfiles::Inquiries12m).gte(0),
                            )),
                    )
                    .col(
                        ColumnDef::new(BorrowerProfiles::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BorrowerProfiles::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_borrower_profiles_user_id")
                            .from(BorrowerProfiles::Table, BorrowerProfiles::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BorrowerLiabilities::Table)
                    .col(
                        ColumnDef::new(BorrowerLiabilities::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(BorrowerLiabilities::UserId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BorrowerLiabilities::Kind)
                            .text()
                            .not_null()
                            .check((
                                "ck_borrower_liabilities_kind",
                                Expr::col(BorrowerLiabilities::Kind).is_in([
                                    "mortgage",
                                    "car_loan",
                                    "consumer_loan",
                                    "credit_card",
                                    "other",
                                ]),
                            )),
                    )
                    .col(
                        ColumnDef::new(BorrowerLiabilities::Outstanding)
                            .big_integer()
                            .not_null()
                            .check((
                                "ck_borrower_liabilities_outstanding",
                                Expr::col(BorrowerLiabilities::Outstanding).gte(0),
                            )),
                    )
                    .col(
                        ColumnDef::new(BorrowerLiabilities::MonthlyPayment)
                            .big_integer()
                            .not_null()
                            .check((
                                "ck_borrower_liabilities_monthly_payment",
                                Expr::col(BorrowerLiabilities::MonthlyPayment).gte(0),
                            )),
                    )
                    .col(
                        ColumnDef::new(BorrowerLiabilities::StartDate)
                            .date()
                            .not_null(),
                    )
                    .col(ColumnDef::new(BorrowerLiabilities::EndDate).date().null())
                    .col(
                        ColumnDef::new(BorrowerLiabilities::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_borrower_liabilities_user_id")
                            .from(BorrowerLiabilities::Table, BorrowerLiabilities::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_borrower_liabilities_user_id")
                    .table(BorrowerLiabilities::Table)
                    .col(BorrowerLiabilities::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BorrowerAssets::Table)
                    .col(
                        ColumnDef::new(BorrowerAssets::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(BorrowerAssets::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(BorrowerAssets::Kind)
                            .text()
                            .not_null()
                            .check((
                                "ck_borrower_assets_kind",
                                Expr::col(BorrowerAssets::Kind).is_in([
                                    "real_estate",
                                    "vehicle",
                                    "deposit",
                                    "securities",
                                    "other",
                                ]),
                            )),
                    )
                    .col(
                        ColumnDef::new(BorrowerAssets::Value)
                            .big_integer()
                            .not_null()
                            .check((
                                "ck_borrower_assets_value",
                                Expr::col(BorrowerAssets::Value).gte(0),
                            )),
                    )
                    // Share of the asset owned by the borrower, whole percent.
                    .col(
                        ColumnDef::new(BorrowerAssets::OwnershipPct)
                            .integer()
                            .not_null()
                            .check((
                                "ck_borrower_assets_ownership_pct",
                                Expr::col(BorrowerAssets::OwnershipPct).between(1, 100),
                            )),
                    )
                    .col(ColumnDef::new(BorrowerAssets::HeldSince).date().null())
                    .col(
                        ColumnDef::new(BorrowerAssets::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_borrower_assets_user_id")
                            .from(BorrowerAssets::Table, BorrowerAssets::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_borrower_assets_user_id")
                    .table(BorrowerAssets::Table)
                    .col(BorrowerAssets::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(InvestorProfiles::Table)
                    .col(
                        ColumnDef::new(InvestorProfiles::UserId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(InvestorProfiles::TaxId).text().null())
                    .col(
                        ColumnDef::new(InvestorProfiles::Qualified)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(InvestorProfiles::RiskDeclarationAcceptedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(InvestorProfiles::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InvestorProfiles::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_investor_profiles_user_id")
                            .from(InvestorProfiles::Table, InvestorProfiles::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            InvestorProfiles::Table.into_iden(),
            BorrowerAssets::Table.into_iden(),
            BorrowerLiabilities::Table.into_iden(),
            BorrowerProfiles::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum BorrowerProfiles {
    Table,
    UserId,
    BirthDate,
    EmploymentStatus,
    Employer,
    Position,
    EmployedSince,
    MonthlyIncome,
    MonthlyExpenses,
    Currency,
    Education,
    University,
    GraduationYear,
    CreditScore,
    AvgBankBalance,
    #[sea_orm(iden = "defaults_12m")]
    Defaults12m,
    #[sea_orm(iden = "inquiries_12m")]
    Inquiries12m,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum BorrowerLiabilities {
    Table,
    Id,
    UserId,
    Kind,
    Outstanding,
    MonthlyPayment,
    StartDate,
    EndDate,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BorrowerAssets {
    Table,
    Id,
    UserId,
    Kind,
    Value,
    OwnershipPct,
    HeldSince,
    CreatedAt,
}

#[derive(DeriveIden)]
enum InvestorProfiles {
    Table,
    UserId,
    TaxId,
    Qualified,
    RiskDeclarationAcceptedAt,
    CreatedAt,
    UpdatedAt,
}
