//! Installment statuses for servicing: `repayment_schedule.status` takes the
//! words of the domain's installment machine (`scheduled`, `due`,
//! `partially_paid`, `paid`, `overdue`, `written_off`), and the rows stored
//! as `pending` (written by the payout until now) become `scheduled`, also
//! the column's default. `down` maps `scheduled` and `due` back to `pending`.
//!
//! PostgreSQL swaps the CHECK in place. SQLite cannot change a constraint on
//! an existing table, so it rebuilds the table (SQLite's documented
//! procedure: create the new one, copy with the words mapped, drop, rename,
//! recreate the indexes); nothing references `repayment_schedule`, so the
//! drop needs no foreign-key pause. The rebuilt table is 000003's with the
//! new CHECK and default, written out here because migrations share no code.
//! Either way in one transaction: a half-renamed schedule never exists.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "repayment_schedule";
const STATUS_CHECK: &str = "ck_repayment_schedule_status";

/// The words after this migration; the first is the column's default.
const NEW_WORDS: [&str; 6] = [
    "scheduled",
    "due",
    "partially_paid",
    "paid",
    "overdue",
    "written_off",
];
/// The words before it (000003); the first is the column's default.
const OLD_WORDS: [&str; 5] = [
    "pending",
    "partially_paid",
    "paid",
    "overdue",
    "written_off",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change_words(manager, &NEW_WORDS, &[("pending", "scheduled")]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The old words had no `due`: an installment due and unpaid was `pending`.
        change_words(
            manager,
            &OLD_WORDS,
            &[("scheduled", "pending"), ("due", "pending")],
        )
        .await
    }

    // SQLite too: the rebuild must not stop halfway.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// Allows exactly `words` (defaulting to the first) after renaming the
/// stored words `renames` maps (from, to).
async fn change_words(
    manager: &SchemaManager<'_>,
    words: &[&str],
    renames: &[(&str, &str)],
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(&format!(
                "ALTER TABLE {TABLE} DROP CONSTRAINT {STATUS_CHECK}"
            ))
            .await?;
            for (from, to) in renames {
                db.execute_unprepared(&format!(
                    "UPDATE {TABLE} SET status = '{to}' WHERE status = '{from}'"
                ))
                .await?;
            }
            db.execute_unprepared(&format!(
                "ALTER TABLE {TABLE} ADD CONSTRAINT {STATUS_CHECK} CHECK (status IN ({}))",
                quoted(words)
            ))
            .await?;
            db.execute_unprepared(&format!(
                "ALTER TABLE {TABLE} ALTER COLUMN status SET DEFAULT '{}'",
                words[0]
            ))
            .await?;
        }
        _ => {
            let rebuilt = Alias::new(format!("{TABLE}_rebuilt"));
            manager
                .create_table(schedule_table(rebuilt.clone(), words))
                .await?;
            // The CHECK on the old table refuses the new words, so the words
            // are mapped on the way across.
            let columns = COLUMNS.join(", ");
            let status = renames
                .iter()
                .fold(String::from("status"), |expr, (from, to)| {
                    format!("CASE WHEN status = '{from}' THEN '{to}' ELSE {expr} END")
                });
            let copied = COLUMNS
                .map(|c| if c == "status" { status.as_str() } else { c })
                .join(", ");
            db.execute_unprepared(&format!(
                "INSERT INTO {TABLE}_rebuilt ({columns}) SELECT {copied} FROM {TABLE}"
            ))
            .await?;
            manager
                .drop_table(Table::drop().table(RepaymentSchedule::Table).to_owned())
                .await?;
            manager
                .rename_table(
                    Table::rename()
                        .table(rebuilt, RepaymentSchedule::Table)
                        .to_owned(),
                )
                .await?;
            // As 000003 created them (dropping the table dropped them).
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
        }
    }
    Ok(())
}

/// `'a', 'b'`: constants of this file, never input.
fn quoted(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every column, in 000003's order.
const COLUMNS: [&str; 14] = [
    "id",
    "loan_id",
    "payment_num",
    "due_date",
    "principal",
    "interest",
    "paid_principal",
    "paid_interest",
    "penalty_accrued",
    "penalty_paid",
    "status",
    "paid_at",
    "created_at",
    "updated_at",
];

/// 000003's `repayment_schedule` under `name`, its status limited to `words`.
fn schedule_table(name: Alias, words: &[&str]) -> TableCreateStatement {
    Table::create()
        .table(name)
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
                .default(words[0])
                .check((
                    STATUS_CHECK,
                    Expr::col(RepaymentSchedule::Status).is_in(words.iter().copied()),
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
            Expr::col(RepaymentSchedule::PaidInterest).lte(Expr::col(RepaymentSchedule::Interest)),
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
        .to_owned()
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

#[derive(DeriveIden)]
enum LoanRequests {
    Table,
    Id,
}
