//! Auto-invest (DESIGN.md section 8).
//!
//! - `auto_invest_rules`: an investor's standing rules, each off until the
//!   investor switches it on. Criteria left empty accept everything
//!   (`grades` and `purposes` are comma-separated words, `''` for any).
//!   `placed_total` is what the rule has put into loans in all (the
//!   fairness order, and the budget of a rule that does not reinvest);
//!   `last_served_seq` orders rules that placed the same.
//! - `auto_invest_decisions`: what a rule did with a loan it looked for:
//!   the investment it made, or why it passed the loan over.
//!   `UNIQUE(rule_id, loan_id)` is what makes a rule invest in a loan at
//!   most once, however many jobs run at the same time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_rules(manager).await?;
        create_decisions(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Alias::new("auto_invest_decisions"),
            Alias::new("auto_invest_rules"),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn positive_or_null(name: &str, col: AutoInvestRules) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    def.big_integer()
        .null()
        .check((Alias::new(name), Expr::col(col).gt(0)));
    def
}

async fn create_rules(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(AutoInvestRules::Table)
                .col(
                    ColumnDef::new(AutoInvestRules::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(AutoInvestRules::InvestorId)
                        .uuid()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AutoInvestRules::Currency)
                        .char_len(3)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AutoInvestRules::MaxPerLoan)
                        .big_integer()
                        .not_null()
                        .check((
                            Alias::new("ck_auto_invest_rules_max_per_loan"),
                            Expr::col(AutoInvestRules::MaxPerLoan).gt(0),
                        )),
                )
                .col(positive_or_null(
                    "ck_auto_invest_rules_min_loan_amount",
                    AutoInvestRules::MinLoanAmount,
                ))
                .col(positive_or_null(
                    "ck_auto_invest_rules_max_loan_amount",
                    AutoInvestRules::MaxLoanAmount,
                ))
                .col(
                    ColumnDef::new(AutoInvestRules::Grades)
                        .text()
                        .not_null()
                        .default(""),
                )
                .col(ColumnDef::new(AutoInvestRules::MinRate).integer().null())
                .col(
                    ColumnDef::new(AutoInvestRules::MaxTermMonths)
                        .integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(AutoInvestRules::Purposes)
                        .text()
                        .not_null()
                        .default(""),
                )
                .col(positive_or_null(
                    "ck_auto_invest_rules_exposure_cap",
                    AutoInvestRules::ExposureCap,
                ))
                .col(
                    ColumnDef::new(AutoInvestRules::CashReserve)
                        .big_integer()
                        .not_null()
                        .default(0)
                        .check((
                            Alias::new("ck_auto_invest_rules_cash_reserve"),
                            Expr::col(AutoInvestRules::CashReserve).gte(0),
                        )),
                )
                .col(
                    ColumnDef::new(AutoInvestRules::Reinvest)
                        .boolean()
                        .not_null(),
                )
                .col(ColumnDef::new(AutoInvestRules::Active).boolean().not_null())
                .col(
                    ColumnDef::new(AutoInvestRules::PlacedTotal)
                        .big_integer()
                        .not_null()
                        .default(0)
                        .check((
                            Alias::new("ck_auto_invest_rules_placed_total"),
                            Expr::col(AutoInvestRules::PlacedTotal).gte(0),
                        )),
                )
                .col(
                    ColumnDef::new(AutoInvestRules::LastServedSeq)
                        .big_integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(AutoInvestRules::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AutoInvestRules::UpdatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_auto_invest_rules_investor_id")
                        .from(AutoInvestRules::Table, AutoInvestRules::InvestorId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_auto_invest_rules_investor_id")
                .table(AutoInvestRules::Table)
                .col(AutoInvestRules::InvestorId)
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_auto_invest_rules_active_currency")
                .table(AutoInvestRules::Table)
                .col(AutoInvestRules::Active)
                .col(AutoInvestRules::Currency)
                .to_owned(),
        )
        .await
}

async fn create_decisions(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(AutoInvestDecisions::Table)
                .col(
                    ColumnDef::new(AutoInvestDecisions::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(AutoInvestDecisions::RuleId)
                        .uuid()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AutoInvestDecisions::LoanId)
                        .uuid()
                        .not_null(),
                )
                // The investment made; NULL when the rule passed the loan over.
                .col(
                    ColumnDef::new(AutoInvestDecisions::InvestmentId)
                        .uuid()
                        .null(),
                )
                // Why it passed the loan over (a word); NULL when it invested.
                .col(ColumnDef::new(AutoInvestDecisions::Reason).text().null())
                .col(
                    ColumnDef::new(AutoInvestDecisions::DecidedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .check((
                    Alias::new("ck_auto_invest_decisions_one_outcome"),
                    Expr::col(AutoInvestDecisions::InvestmentId)
                        .is_null()
                        .ne(Expr::col(AutoInvestDecisions::Reason).is_null()),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_auto_invest_decisions_rule_id")
                        .from(AutoInvestDecisions::Table, AutoInvestDecisions::RuleId)
                        .to(AutoInvestRules::Table, AutoInvestRules::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_auto_invest_decisions_loan_id")
                        .from(AutoInvestDecisions::Table, AutoInvestDecisions::LoanId)
                        .to(LoanRequests::Table, LoanRequests::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_auto_invest_decisions_investment_id")
                        .from(
                            AutoInvestDecisions::Table,
                            AutoInvestDecisions::InvestmentId,
                        )
                        .to(Investments::Table, Investments::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ux_auto_invest_decisions_rule_id_loan_id")
                .table(AutoInvestDecisions::Table)
                .col(AutoInvestDecisions::RuleId)
                .col(AutoInvestDecisions::LoanId)
                .unique()
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("ix_auto_invest_decisions_loan_id")
                .table(AutoInvestDecisions::Table)
                .col(AutoInvestDecisions::LoanId)
                .to_owned(),
        )
        .await
}

#[derive(DeriveIden, Clone, Copy)]
enum AutoInvestRules {
    Table,
    Id,
    InvestorId,
    Currency,
    MaxPerLoan,
    MinLoanAmount,
    MaxLoanAmount,
    Grades,
    MinRate,
    MaxTermMonths,
    Purposes,
    ExposureCap,
    CashReserve,
    Reinvest,
    Active,
    PlacedTotal,
    LastServedSeq,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AutoInvestDecisions {
    Table,
    Id,
    RuleId,
    LoanId,
    InvestmentId,
    Reason,
    DecidedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
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
