//! `scoring_results`: every run of the scorecard over an application, with
//! each factor's input and points, so staff and the borrower see exactly what
//! the decision rested on, and audits can replay it by model version.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ScoringResults::Table)
                    .col(
                        ColumnDef::new(ScoringResults::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ScoringResults::LoanId).uuid().not_null())
                    .col(
                        ColumnDef::new(ScoringResults::ModelVersion)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ScoringResults::Score)
                            .integer()
                            .not_null()
                            .check((
                                "ck_scoring_results_score",
                                Expr::col(ScoringResults::Score).between(0, 1000),
                            )),
                    )
                    .col(
                        ColumnDef::new(ScoringResults::Grade)
                            .char_len(1)
                            .not_null()
                            .check((
                                "ck_scoring_results_grade",
                                Expr::col(ScoringResults::Grade)
                                    .is_in(["A", "B", "C", "D", "E", "F"]),
                            )),
                    )
                    // Basis points: the rate the scorecard suggests within the grade's band.
                    .col(
                        ColumnDef::new(ScoringResults::SuggestedRate)
                            .integer()
                            .not_null()
                            .check((
                                "ck_scoring_results_suggested_rate",
                                Expr::col(ScoringResults::SuggestedRate).between(0, 10000),
                            )),
                    )
                    // Minor units: the grade's largest loan when it was scored.
                    .col(
                        ColumnDef::new(ScoringResults::MaxAmount)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ScoringResults::MaxTermMonths)
                            .integer()
                            .not_null(),
                    )
                    // Minor units: the installment counted in the debt-to-income ratio.
                    .col(
                        ColumnDef::new(ScoringResults::NewInstallment)
                            .big_integer()
                            .not_null(),
                    )
                    // JSON arrays: [{key, name, input, points, max_points}],
                    // [{key, message}], [{factor, condition, grade, text}].
                    .col(ColumnDef::new(ScoringResults::Factors).text().not_null())
                    .col(
                        ColumnDef::new(ScoringResults::HardRuleFailures)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ScoringResults::Improvements)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ScoringResults::ComputedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_scoring_results_loan")
                            .from(ScoringResults::Table, ScoringResults::LoanId)
                            .to(LoanRequests::Table, LoanRequests::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_scoring_results_loan_id")
                    .table(ScoringResults::Table)
                    .col(ScoringResults::LoanId)
                    .col(ScoringResults::ComputedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ScoringResults::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ScoringResults {
    Table,
    Id,
    LoanId,
    ModelVersion,
    Score,
    Grade,
    SuggestedRate,
    MaxAmount,
    MaxTermMonths,
    NewInstallment,
    Factors,
    HardRuleFailures,
    Improvements,
    ComputedAt,
}

#[derive(DeriveIden)]
enum LoanRequests {
    Table,
    Id,
}
