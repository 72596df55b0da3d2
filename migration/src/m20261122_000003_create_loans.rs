//! Lending core: `loan_requests`, `investments`, `repayment_schedule`.
//!
//! These rows carry money, so every foreign key is ON DELETE RESTRICT: a
//! user or loan with financial history can never be deleted out from under it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_loan_requests(manager).await?;
        create_investments(manager).await?;
        create_repayment_schedule(manager).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RepaymentSchedule::Table.into_iden(),
            Investments::Table.into_iden(),
            LoanRequests::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

async fn create_loan_requests(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(LoanRequests::Table)
                .col(
                    ColumnDef::new(LoanRequests::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(LoanRequests::BorrowerId).uuid().not_null())
                // Current amount: starts as requested_amount, may be lowered
                // on approval; funded_amount is capped by it (see below).
                .col(
                    ColumnDef::new(LoanRequests::Amount)
                        .big_integer()
                        .not_null()
                        .check((
                            "ck_loan_requests_amount",
                            Expr::col(LoanRequests::Amount).gt(0),
                        )),
                )
                .col(
                    ColumnDef::new(LoanRequests::Currency)
                        .char_len(3)
                        .not_null()
                        .default("RUB"),
                )
                // 1 month .. 30 years.
                .col(
                    ColumnDef::new(LoanRequests::TermMonths)
                        .integer()
                        .not_null()
                        .check((
                            "ck_loan_requests_term_months",
                            Expr::col(LoanRequests::TermMonths).between(1, 360),
                        )),
                )
                // Annual rate in basis points (0..=100.00 %); NULL until scored.
                .col(
                    ColumnDef::new(LoanRequests::RateAnnual)
                        .integer()
                        .null()
                        .check((
                            "ck_loan_requests_rate_annual",
                            Expr::col(LoanRequests::RateAnnual).between(0, 10000),
                        )),
                )
                // What the borrower originally asked for, kept for audit even
                // if amount/term are changed on approval.
                .col(
                    ColumnDef::new(LoanRequests::RequestedAmount)
                        .big_integer()
                        .not_null()
                        .check((
                            "ck_loan_requests_requested_amount",
                            Expr::col(LoanRequests::RequestedAmount).gt(0),
                        )),
                )
                .col(
                    ColumnDef::new(LoanRequests::RequestedTermMonths)
                        .integer()
                        .not_null()
                        .check((
                            "ck_loan_requests_requested_term_months",
                            Expr::col(LoanRequests::RequestedTermMonths).between(1, 360),
                        )),
                )
                .col(
                    ColumnDef::new(LoanRequests::Purpose)
                        .text()
                        .not_null()
                        .check((
                            "ck_loan_requests_purpose",
                            Expr::col(LoanRequests::Purpose).is_in([
                                "debt_consolidation",
                                "business",
                                "home_improvement",
                                "car",
                                "education",
                                "medical",
                                "travel",
                                "other",
                            ]),
                        )),
                )
                .col(
                    ColumnDef::new(LoanRequests::Description)
                        .text()
                        .not_null()
                        .default(""),
                )
                .col(
                    ColumnDef::new(LoanRequests::Status)
                        .text()
                        .not_null()
                        .default("pending")
                        .check((
                            "ck_loan_requests_status",
                            Expr::col(LoanRequests::Status).is_in([
                                "pending",
                                "scoring",
                                "approved",
                                "funding",
                                "funded",
                                "active",
                                "repaid",
                                "rejected",
                                "withdrawn",
                                "expired",
                                "defaulted",
                            ]),
                        )),
                )
                .col(
                    ColumnDef::new(LoanRequests::FundedAmount)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                // Risk grades are the only uppercase enum: they are shown as-is.
                .col(
                    ColumnDef::new(LoanRequests::RiskGrade)
                        .char_len(1)
                        .null()
                        .check((
                            "ck_loan_requests_risk_grade",
                            Expr::col(LoanRequests::RiskGrade)
                                .is_in(["A", "B", "C", "D", "E", "F"]),
                        )),
                )
                .col(
                    ColumnDef::new(LoanRequests::ScoringScore)
                        .integer()
                        .null()
                        .check((
                            "ck_loan_requests_scoring_score",
                            Expr::col(LoanRequests::ScoringScore).between(0, 1000),
                        )),
                )
                .col(
                    ColumnDef::new(LoanRequests::ListingMode)
                        .text()
                        .not_null()
                        .default("fixed")
                        .check((
                            "ck_loan_requests_listing_mode",
                            Expr::col(LoanRequests::ListingMode).is_in(["fixed", "offers"]),
                        )),
                )
                .col(
                    ColumnDef::new(LoanRequests::FundingDeadline)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(LoanRequests::ListedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(LoanRequests::FundedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(LoanRequests::DisbursedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(LoanRequests::ClosedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(ColumnDef::new(LoanRequests::RejectionReason).text().null())
                .col(
                    ColumnDef::new(LoanRequests::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(LoanRequests::UpdatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                // Over-funding must be impossible at the database level, even
                // if two concurrent investments both pass the app's check.
                .check((
                    "ck_loan_requests_funded_amount",
                    Expr::col(LoanRequests::FundedAmount).gte(0).and(
                        Expr::col(LoanRequests::FundedAmount).lte(Expr::col(LoanRequests::Amount)),
                    ),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_loan_requests_borrower_id")
                        .from(LoanRequests::Table, LoanRequests::BorrowerId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;

    manager
        .create_index(
            Index::create()
                .name("idx_loan_requests_borrower_id")
                .table(LoanRequests::Table)
                .col(LoanRequests::BorrowerId)
                .to_owned(),
        )
        .await?;

    // Expiry job: listings in 'funding' whose deadline has passed.
    manager
        .create_index(
            Index::create()
                .name("idx_loan_requests_status_funding_deadline")
                .table(LoanRequests::Table)
                .col(LoanRequests::Status)
                .col(LoanRequests::FundingDeadline)
                .to_owned(),
        )
        .await?;

    // Marketplace: open listings filtered by grade, sorted by rate.
    manager
        .create_index(
            Index::create()
                .name("idx_loan_requests_status_risk_grade_rate_annual")
                .table(LoanRequests::Table)
                .col(LoanRequests::Status)
                .col(LoanRequests::RiskGrade)
                .col(LoanRequests::RateAnnual)
                .to_owned(),
        )
        .await?;

    // Staff review queue: oldest pending applications first.
    manager
        .create_index(
            Index::create()
                .name("idx_loan_requests_status_created_at")
                .table(LoanRequests::Table)
                .col(LoanRequests::Status)
                .col(LoanRequests::CreatedAt)
                .to_owned(),
        )
        .await?;

    Ok(())
}

async fn create_investments(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Investments::Table)
                .col(
                    ColumnDef::new(Investments::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Investments::InvestorId).uuid().not_null())
                .col(ColumnDef::new(Investments::LoanId).uuid().not_null())
                .col(
                    ColumnDef::new(Investments::Amount)
                        .big_integer()
                        .not_null()
                        .check((
                            "ck_investments_amount",
                            Expr::col(Investments::Amount).gt(0),
                        )),
                )
                .col(
                    ColumnDef::new(Investments::Status)
                        .text()
                        .not_null()
                        .default("pending")
                        .check((
                            "ck_investments_status",
                            Expr::col(Investments::Status).is_in([
                                "pending",
                                "active",
                                "repaid",
                                "defaulted",
                                "cancelled",
                                "expired",
                                "sold",
                            ]),
                        )),
                )
                .col(
                    ColumnDef::new(Investments::Source)
                        .text()
                        .not_null()
                        .default("manual")
                        .check((
                            "ck_investments_source",
                            Expr::col(Investments::Source).is_in(["manual", "auto", "secondary"]),
                        )),
                )
                // SHA-256 hex of the signed agreement document and where it is stored.
                .col(ColumnDef::new(Investments::AgreementHash).text().null())
                .col(ColumnDef::new(Investments::AgreementPath).text().null())
                // When the investor accepted the agreement (legally relevant).
                .col(
                    ColumnDef::new(Investments::AcceptedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Investments::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Investments::UpdatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_investments_investor_id")
                        .from(Investments::Table, Investments::InvestorId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_investments_loan_id")
                        .from(Investments::Table, Investments::LoanId)
                        .to(LoanRequests::Table, LoanRequests::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;

    manager
        .create_index(
            Index::create()
                .name("idx_investments_loan_id_status")
                .table(Investments::Table)
                .col(Investments::LoanId)
                .col(Investments::Status)
                .to_owned(),
        )
        .await?;

    manager
        .create_index(
            Index::create()
                .name("idx_investments_investor_id_status")
                .table(Investments::Table)
                .col(Investments::InvestorId)
                .col(Investments::Status)
                .to_owned(),
        )
        .await?;

    Ok(())
}

async fn create_repayment_schedule(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(RepaymentSchedule::Table)
                .col(
                    ColumnDef::new(RepaymentSchedule::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(RepaymentSchedule::LoanId).uuid().not_null())
                // 1-based instalment number within the loan.
                .col(
                    ColumnDef::new(RepaymentSchedule::PaymentNum)
                        .integer()
                        .not_null()
                        .check((
                            "ck_repayment_schedule_payment_num",
                            Expr::col(RepaymentSchedule::PaymentNum).gte(1),
                        )),
                )
                .col(ColumnDef::new(RepaymentSchedule::DueDate).date().not_null())
                .col(non_negative_money(RepaymentSchedule::Principal, false))
                .col(non_negative_money(RepaymentSchedule::Interest, false))
                .col(non_negative_money(RepaymentSchedule::PaidPrincipal, true))
                .col(non_negative_money(RepaymentSchedule::PaidInterest, true))
                .col(non_negative_money(RepaymentSchedule::PenaltyAccrued, true))
                .col(non_negative_money(RepaymentSchedule::PenaltyPaid, true))
                .col(
                    ColumnDef::new(RepaymentSchedule::Status)
                        .text()
                        .not_null()
                        .default("pending")
                        .check((
                            "ck_repayment_schedule_status",
                            Expr::col(RepaymentSchedule::Status).is_in([
                                "pending",
                                "partially_paid",
                                "paid",
                                "overdue",
                                "written_off",
                            ]),
                        )),
                )
                .col(
                    ColumnDef::new(RepaymentSchedule::PaidAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(RepaymentSchedule::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RepaymentSchedule::UpdatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                // Overpayment of any component must be impossible: excess money
                // has to go to the next instalment, not silently vanish here.
                .check((
                    "ck_repayment_schedule_paid_principal_max",
                    Expr::col(RepaymentSchedule::PaidPrincipal)
                        .lte(Expr::col(RepaymentSchedule::Principal)),
                ))
                .check((
                    "ck_repayment_schedule_paid_interest_max",
                    Expr::col(RepaymentSchedule::PaidInterest)
                        .lte(Expr::col(RepaymentSchedule::Interest)),
                ))
                .check((
                    "ck_repayment_schedule_penalty_paid_max",
                    Expr::col(RepaymentSchedule::PenaltyPaid)
                        .lte(Expr::col(RepaymentSchedule::PenaltyAccrued)),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_repayment_schedule_loan_id")
                        .from(RepaymentSchedule::Table, RepaymentSchedule::LoanId)
                        .to(LoanRequests::Table, LoanRequests::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;

    // One row per instalment number per loan; also serves loan_id lookups.
    manager
        .create_index(
            Index::create()
                .name("uq_repayment_schedule_loan_id_payment_num")
                .table(RepaymentSchedule::Table)
                .col(RepaymentSchedule::LoanId)
                .col(RepaymentSchedule::PaymentNum)
                .unique()
                .to_owned(),
        )
        .await?;

    // Due-payments job: unpaid instalments by due date.
    manager
        .create_index(
            Index::create()
                .name("idx_repayment_schedule_status_due_date")
                .table(RepaymentSchedule::Table)
                .col(RepaymentSchedule::Status)
                .col(RepaymentSchedule::DueDate)
                .to_owned(),
        )
        .await?;

    Ok(())
}

/// `BIGINT NOT NULL CHECK (col >= 0)`, optionally `DEFAULT 0`.
fn non_negative_money(col: RepaymentSchedule, default_zero: bool) -> ColumnDef {
    let name = format!("ck_repayment_schedule_{}", col.unquoted());
    let mut def = ColumnDef::new(col);
    def.big_integer().not_null();
    if default_zero {
        def.default(0);
    }
    def.check((Alias::new(name), Expr::col(col).gte(0)));
    def
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
    BorrowerId,
    Amount,
    Currency,
    TermMonths,
    RateAnnual,
    RequestedAmount,
    RequestedTermMonths,
    Purpose,
    Description,
    Status,
    FundedAmount,
    RiskGrade,
    ScoringScore,
    ListingMode,
    FundingDeadline,
    ListedAt,
    FundedAt,
    DisbursedAt,
    ClosedAt,
    RejectionReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Investments {
    Table,
    Id,
    InvestorId,
    LoanId,
    Amount,
    Status,
    Source,
    AgreementHash,
    AgreementPath,
    AcceptedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RepaymentSchedule {
    Table,
    Id,
    LoanId,
    PaymentNum,
    DueDate,
    Principal,
    Interest,
    PaidPrincipal,
    PaidInterest,
    PenaltyAccrued,
    PenaltyPaid,
    Status,
    PaidAt,
    CreatedAt,
    UpdatedAt,
}
