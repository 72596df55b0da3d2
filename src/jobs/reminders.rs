//! `reminders`: each day, the borrower of every loan being repaid whose next
//! installment falls due within the setting's days is reminded once. The
//! installment is claimed by a conditional update (`reminded_on` set where
//! it is still empty) in the transaction that queues the email, in batches,
//! so a run again (or a second instance) reminds nobody twice.

use chrono::Days;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use url::Url;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::{loan_requests, repayment_schedule},
        repo::{loans, users, wallets},
    },
    domain::{ids::LoanId, installment::InstallmentStatus, lifecycle::LoanStatus, money::Money},
    error::AppError,
    mail::messages::PaymentReminder,
    paths,
    services::{outbox, settings},
};

/// Installments reminded per committed transaction.
const BATCH: u64 = 100;

/// One pass as of the clock's day; returns how many reminders were queued.
///
/// # Errors
/// Database failures.
pub async fn run(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    base_url: &Url,
) -> Result<u32, AppError> {
    use repayment_schedule::Column;
    let days = settings::load(db).await?.reminder_days;
    let today = clock.today();
    let Some(horizon) = today.checked_add_days(Days::new(u64::from(days))) else {
        return Ok(0);
    };
    if days == 0 {
        return Ok(0);
    }
    let mut sent = 0;
    loop {
        let due: Vec<repayment_schedule::Model> = repayment_schedule::Entity::find()
            .inner_join(loan_requests::Entity)
            .filter(loan_requests::Column::Status.eq(LoanStatus::Active.as_str()))
            .filter(Column::Status.eq(InstallmentStatus::Scheduled.as_str()))
            .filter(Column::DueDate.gt(today))
            .filter(Column::DueDate.lte(horizon))
            .filter(Column::RemindedOn.is_null())
            .order_by_asc(Column::DueDate)
            .limit(BATCH)
            .all(db)
            .await?;
        if due.is_empty() {
            return Ok(sent);
        }
        let txn = db::begin_write(db).await?;
        let mut emails = Vec::new();
        for row in &due {
            let claimed = repayment_schedule::Entity::update_many()
                .col_expr(Column::RemindedOn, Expr::value(Some(today)))
                .filter(Column::Id.eq(row.id))
                .filter(Column::RemindedOn.is_null())
                .exec(&txn)
                .await?;
            if claimed.rows_affected != 1 {
                continue;
            }
            let loan = loans::get(&txn, LoanId::from_uuid(row.loan_id)).await?;
            let currency = loan.currency();
            let amount = Money::from_minor(row.principal + row.interest, currency)
                .map_err(AppError::unexpected)?;
            let available = wallets::of_user(&txn, loan.borrower_id, currency)
                .await?
                .map_or(Money::zero(currency), |w| w.available());
            let borrower = users::get(&txn, loan.borrower_id).await?;
            emails.push(outbox::render(
                borrower.email.as_str(),
                &PaymentReminder {
                    full_name: borrower.full_name.clone(),
                    loan_url: outbox::link(base_url, &paths::borrower_loan(loan.id)),
                    due_date: row.due_date,
                    amount,
                    available,
                },
            )?);
        }
        sent += u32::try_from(emails.len()).unwrap_or(u32::MAX);
        outbox::queue(&txn, clock.now(), emails).await?;
        db::commit(txn).await?;
    }
}
