//! Servicing (DESIGN.md section 7): what a loan's life after the payout
//! stores.
//!
//! - `loan_payments`: every amount received for a loan (the borrower paying
//!   from the loan page, the due-payments job collecting from the wallet, a
//!   payment after a default), with how it was allocated (penalties,
//!   interest, principal, principal paid ahead) and the ledger entry that
//!   moved it. The parts sum to the amount (a CHECK).
//! - `distributions`: what each investment's holder received from each
//!   payment (principal, interest, penalty, and the servicing fee kept from
//!   interest and penalty), one row per payment and investment.
//! - `schedule_versions`: the installments a prepayment replaced, as they
//!   stood, so the loan page can show the schedule's history.
//! - `penalty_accruals`: penalty interest day by day and the one-off late
//!   fee per installment; `UNIQUE(installment_id, accrued_on, kind)` makes
//!   a day accrued twice (a job run again, two instances) fail instead of
//!   charging twice.
//! - `reserve_fund_events`: the reserve fund covering investors' principal
//!   after a default, and being repaid from recoveries.
//! - `job_runs`: one row per run of a named job.
//! - `repayment_schedule.reminded_on`: the reminder was sent (claimed by a
//!   conditional update, so it is sent once); `loan_requests.default_reason`:
//!   why the loan was declared defaulted.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_loan_payments(manager).await?;
        create_distributions(manager).await?;
        create_schedule_versions(manager).await?;
        create_penalty_accruals(manager).await?;
        create_reserve_fund_events(manager).await?;
        create_job_runs(manager).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(RepaymentSchedule::Table)
                    .add_column(ColumnDef::new(RepaymentSchedule::RemindedOn).date().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(LoanRequests::Table)
                    .add_column(ColumnDef::new(LoanRequests::DefaultReason).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(LoanRequests::Table)
                    .drop_column(LoanRequests::DefaultReason)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(RepaymentSchedule::Table)
                    .drop_column(RepaymentSchedule::RemindedOn)
                    .to_owned(),
            )
            .await?;
        for table in [
            Alias::new("job_runs"),
            Alias::new("reserve_fund_events"),
            Alias::new("penalty_accruals"),
            Alias::new("schedule_versions"),
            Alias::new("distributions"),
            Alias::new("loan_payments"),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// `BIGINT NOT NULL DEFAULT 0 CHECK (col >= 0)`, the check named after `table`.
fn minor_units(table: &str, col: impl IntoIden + Copy) -> ColumnDef {
    let name = format!("ck_{table}_{}", col.into_iden());
    let mut def = ColumnDef::new(col);
    def.big_integer()
        .not_null()
        .default(0)
        .check((Alias::new(name), Expr::col(col).gte(0)));
    def
}

fn uuid_key(col: impl IntoIden) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    def.uuid().not_null().primary_key();
    def
}

fn moment(col: impl IntoIden) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    def.timestamp_with_time_zone().not_null();
    def
}

fn words_check(table: &str, col: impl IntoIden + Copy, words: &[&str]) -> (Alias, SimpleExpr) {
    (
        Alias::new(format!("ck_{table}_{}", col.into_iden())),
        Expr::col(col).is_in(words.iter().copied()),
    )
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    cols: &[Alias],
    unique: bool,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(col.clone());
    }
    if unique {
        index.unique();
    }
    manager.create_index(index.to_owned()).await
}

async fn create_loan_payments(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    const T: &str = "loan_payments";
    manager
        .create_table(
            Table::create()
                .table(LoanPayments::Table)
                .col(uuid_key(LoanPayments::Id))
                .col(ColumnDef::new(LoanPayments::LoanId).uuid().not_null())
                // NULL when the platform collected it (the due-payments job).
                .col(ColumnDef::new(LoanPayments::PaidBy).uuid().null())
                .col(
                    ColumnDef::new(LoanPayments::Kind)
                        .text()
                        .not_null()
                        .check(words_check(
                            T,
                            LoanPayments::Kind,
                            &["payment", "payoff", "collection", "recovery"],
                        )),
                )
                .col(
                    ColumnDef::new(LoanPayments::Amount)
                        .big_integer()
                        .not_null()
                        .check((
                            Alias::new("ck_loan_payments_amount"),
                            Expr::col(LoanPayments::Amount).gt(0),
                        )),
                )
                .col(
                    ColumnDef::new(LoanPayments::Currency)
                        .char_len(3)
                        .not_null(),
                )
                .col(minor_units(T, LoanPayments::Penalty))
                .col(minor_units(T, LoanPayments::Interest))
                .col(minor_units(T, LoanPayments::Principal))
                .col(minor_units(T, LoanPayments::PrepaidPrincipal))
                // Of a recovery: what went back to the reserve fund first.
                .col(minor_units(T, LoanPayments::ReserveRepaid))
                // The servicing fee kept from this payment's interest and penalty.
                .col(minor_units(T, LoanPayments::Fee))
                .col(ColumnDef::new(LoanPayments::EntryId).uuid().not_null())
                .col(ColumnDef::new(LoanPayments::PaidOn).date().not_null())
                .col(moment(LoanPayments::CreatedAt))
                .check((
                    Alias::new("ck_loan_payments_parts"),
                    Expr::col(LoanPayments::Penalty)
                        .add(Expr::col(LoanPayments::Interest))
                        .add(Expr::col(LoanPayments::Principal))
                        .add(Expr::col(LoanPayments::PrepaidPrincipal))
                        .add(Expr::col(LoanPayments::ReserveRepaid))
                        .eq(Expr::col(LoanPayments::Amount)),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_loan_payments_loan_id")
                        .from(LoanPayments::Table, LoanPayments::LoanId)
                        .to(LoanRequests::Table, LoanRequests::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_loan_payments_paid_by")
                        .from(LoanPayments::Table, LoanPayments::PaidBy)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_loan_payments_entry_id")
                        .from(LoanPayments::Table, LoanPayments::EntryId)
                        .to(LedgerEntries::Table, LedgerEntries::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "ix_loan_payments_loan_id_created_at",
        LoanPayments::Table,
        &[Alias::new("loan_id"), Alias::new("created_at")],
        false,
    )
    .await
}

async fn create_distributions(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    const T: &str = "distributions";
    manager
        .create_table(
            Table::create()
                .table(Distributions::Table)
                .col(uuid_key(Distributions::Id))
                .col(ColumnDef::new(Distributions::PaymentId).uuid().not_null())
                .col(
                    ColumnDef::new(Distributions::InvestmentId)
                        .uuid()
                        .not_null(),
                )
                .col(ColumnDef::new(Distributions::LoanId).uuid().not_null())
                // Who held the investment when the payment came in.
                .col(ColumnDef::new(Distributions::InvestorId).uuid().not_null())
                .col(minor_units(T, Distributions::Principal))
                .col(minor_units(T, Distributions::Interest))
                .col(minor_units(T, Distributions::Penalty))
                .col(minor_units(T, Distributions::Fee))
                .col(moment(Distributions::CreatedAt))
                .check((
                    Alias::new("ck_distributions_fee_within_charges"),
                    Expr::col(Distributions::Fee).lte(
                        Expr::col(Distributions::Interest).add(Expr::col(Distributions::Penalty)),
                    ),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_distributions_payment_id")
                        .from(Distributions::Table, Distributions::PaymentId)
                        .to(LoanPayments::Table, LoanPayments::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_distributions_investment_id")
                        .from(Distributions::Table, Distributions::InvestmentId)
                        .to(Investments::Table, Investments::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_distributions_investor_id")
                        .from(Distributions::Table, Distributions::InvestorId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "ux_distributions_payment_investment",
        Distributions::Table,
        &[Alias::new("payment_id"), Alias::new("investment_id")],
        true,
    )
    .await?;
    index(
        manager,
        "ix_distributions_investment_id",
        Distributions::Table,
        &[Alias::new("investment_id")],
        false,
    )
    .await?;
    index(
        manager,
        "ix_distributions_investor_id_created_at",
        Distributions::Table,
        &[Alias::new("investor_id"), Alias::new("created_at")],
        false,
    )
    .await
}

async fn create_schedule_versions(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(ScheduleVersions::Table)
                .col(uuid_key(ScheduleVersions::Id))
                .col(ColumnDef::new(ScheduleVersions::LoanId).uuid().not_null())
                // 1 for the schedule of the payout, replaced by the first prepayment.
                .col(
                    ColumnDef::new(ScheduleVersions::Version)
                        .integer()
                        .not_null()
                        .check((
                            Alias::new("ck_schedule_versions_version"),
                            Expr::col(ScheduleVersions::Version).gte(1),
                        )),
                )
                // The payment whose prepayment replaced it.
                .col(
                    ColumnDef::new(ScheduleVersions::PaymentId)
                        .uuid()
                        .not_null(),
                )
                // JSON: the replaced rows (number, due date, principal, interest).
                .col(
                    ColumnDef::new(ScheduleVersions::Installments)
                        .text()
                        .not_null(),
                )
                .col(moment(ScheduleVersions::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_schedule_versions_loan_id")
                        .from(ScheduleVersions::Table, ScheduleVersions::LoanId)
                        .to(LoanRequests::Table, LoanRequests::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_schedule_versions_payment_id")
                        .from(ScheduleVersions::Table, ScheduleVersions::PaymentId)
                        .to(LoanPayments::Table, LoanPayments::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "ux_schedule_versions_loan_version",
        ScheduleVersions::Table,
        &[Alias::new("loan_id"), Alias::new("version")],
        true,
    )
    .await
}

async fn create_penalty_accruals(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    const T: &str = "penalty_accruals";
    manager
        .create_table(
            Table::create()
                .table(PenaltyAccruals::Table)
                .col(uuid_key(PenaltyAccruals::Id))
                .col(
                    ColumnDef::new(PenaltyAccruals::InstallmentId)
                        .uuid()
                        .not_null(),
                )
                .col(ColumnDef::new(PenaltyAccruals::LoanId).uuid().not_null())
                .col(ColumnDef::new(PenaltyAccruals::AccruedOn).date().not_null())
                .col(
                    ColumnDef::new(PenaltyAccruals::Kind)
                        .text()
                        .not_null()
                        .check(words_check(
                            T,
                            PenaltyAccruals::Kind,
                            &["daily", "late_fee"],
                        )),
                )
                // What was overdue that day (principal and interest unpaid).
                .col(minor_units(T, PenaltyAccruals::Base))
                .col(minor_units(T, PenaltyAccruals::Amount))
                .col(moment(PenaltyAccruals::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_penalty_accruals_installment_id")
                        .from(PenaltyAccruals::Table, PenaltyAccruals::InstallmentId)
                        .to(RepaymentSchedule::Table, RepaymentSchedule::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "ux_penalty_accruals_installment_day_kind",
        PenaltyAccruals::Table,
        &[
            Alias::new("installment_id"),
            Alias::new("accrued_on"),
            Alias::new("kind"),
        ],
        true,
    )
    .await?;
    index(
        manager,
        "ix_penalty_accruals_loan_id",
        PenaltyAccruals::Table,
        &[Alias::new("loan_id"), Alias::new("accrued_on")],
        false,
    )
    .await
}

async fn create_reserve_fund_events(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    const T: &str = "reserve_fund_events";
    manager
        .create_table(
            Table::create()
                .table(ReserveFundEvents::Table)
                .col(uuid_key(ReserveFundEvents::Id))
                .col(ColumnDef::new(ReserveFundEvents::LoanId).uuid().not_null())
                .col(
                    ColumnDef::new(ReserveFundEvents::InvestmentId)
                        .uuid()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ReserveFundEvents::Kind)
                        .text()
                        .not_null()
                        .check(words_check(
                            T,
                            ReserveFundEvents::Kind,
                            &["covered", "repaid"],
                        )),
                )
                .col(
                    ColumnDef::new(ReserveFundEvents::Amount)
                        .big_integer()
                        .not_null()
                        .check((
                            Alias::new("ck_reserve_fund_events_amount"),
                            Expr::col(ReserveFundEvents::Amount).gt(0),
                        )),
                )
                // What the investment had outstanding when it was covered.
                .col(minor_units(T, ReserveFundEvents::Outstanding))
                .col(ColumnDef::new(ReserveFundEvents::EntryId).uuid().not_null())
                .col(moment(ReserveFundEvents::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_reserve_fund_events_loan_id")
                        .from(ReserveFundEvents::Table, ReserveFundEvents::LoanId)
                        .to(LoanRequests::Table, LoanRequests::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_reserve_fund_events_investment_id")
                        .from(ReserveFundEvents::Table, ReserveFundEvents::InvestmentId)
                        .to(Investments::Table, Investments::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_reserve_fund_events_entry_id")
                        .from(ReserveFundEvents::Table, ReserveFundEvents::EntryId)
                        .to(LedgerEntries::Table, LedgerEntries::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "ix_reserve_fund_events_investment_id",
        ReserveFundEvents::Table,
        &[Alias::new("investment_id")],
        false,
    )
    .await?;
    index(
        manager,
        "ix_reserve_fund_events_loan_id",
        ReserveFundEvents::Table,
        &[Alias::new("loan_id")],
        false,
    )
    .await
}

async fn create_job_runs(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    const T: &str = "job_runs";
    manager
        .create_table(
            Table::create()
                .table(JobRuns::Table)
                .col(uuid_key(JobRuns::Id))
                .col(ColumnDef::new(JobRuns::Name).text().not_null())
                // The day the run worked for (the clock's, or `--date`).
                .col(ColumnDef::new(JobRuns::BusinessDate).date().not_null())
                .col(moment(JobRuns::StartedAt))
                .col(
                    ColumnDef::new(JobRuns::FinishedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(JobRuns::Items)
                        .integer()
                        .not_null()
                        .default(0)
                        .check((
                            Alias::new("ck_job_runs_items"),
                            Expr::col(JobRuns::Items).gte(0),
                        )),
                )
                .col(
                    ColumnDef::new(JobRuns::Outcome)
                        .text()
                        .not_null()
                        .check(words_check(
                            T,
                            JobRuns::Outcome,
                            &["running", "succeeded", "failed"],
                        )),
                )
                .col(ColumnDef::new(JobRuns::Error).text().null())
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "ix_job_runs_started_at",
        JobRuns::Table,
        &[Alias::new("started_at")],
        false,
    )
    .await?;
    index(
        manager,
        "ix_job_runs_name_started_at",
        JobRuns::Table,
        &[Alias::new("name"), Alias::new("started_at")],
        false,
    )
    .await
}

#[derive(DeriveIden, Clone, Copy)]
enum LoanPayments {
    Table,
    Id,
    LoanId,
    PaidBy,
    Kind,
    Amount,
    Currency,
    Penalty,
    Interest,
    Principal,
    PrepaidPrincipal,
    ReserveRepaid,
    Fee,
    EntryId,
    PaidOn,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Distributions {
    Table,
    Id,
    PaymentId,
    InvestmentId,
    LoanId,
    InvestorId,
    Principal,
    Interest,
    Penalty,
    Fee,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ScheduleVersions {
    Table,
    Id,
    LoanId,
    Version,
    PaymentId,
    Installments,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PenaltyAccruals {
    Table,
    Id,
    InstallmentId,
    LoanId,
    AccruedOn,
    Kind,
    Base,
    Amount,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ReserveFundEvents {
    Table,
    Id,
    LoanId,
    InvestmentId,
    Kind,
    Amount,
    Outstanding,
    EntryId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum JobRuns {
    Table,
    Id,
    Name,
    BusinessDate,
    StartedAt,
    FinishedAt,
    Items,
    Outcome,
    Error,
}

#[derive(DeriveIden)]
enum RepaymentSchedule {
    Table,
    Id,
    RemindedOn,
}

#[derive(DeriveIden)]
enum LoanRequests {
    Table,
    Id,
    DefaultReason,
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

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Id,
}
