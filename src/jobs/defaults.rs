//! `defaults`: each day, a loan with an installment overdue more than the
//! setting's days (default 90) is declared defaulted, and the reserve fund
//! covers its investors (`services::defaults`). One committed transaction
//! per loan; the condition is checked again under the loan's lock, so a run
//! again (or a second instance) defaults nothing twice.

use sea_orm::DatabaseConnection;
use url::Url;

use crate::{
    clock::Clock,
    error::AppError,
    jobs::penalties::overdue_loans,
    services::defaults::{self, Cause},
};

/// One pass as of the clock's day; returns how many loans defaulted.
///
/// # Errors
/// Database failures; a loan that moved meanwhile is left to the next pass.
pub async fn run(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    base_url: &Url,
) -> Result<u32, AppError> {
    let mut defaulted = 0;
    for loan_id in overdue_loans(db).await? {
        match defaults::declare(db, clock, loan_id, Cause::Overdue, base_url).await {
            Ok(Some(_)) => defaulted += 1,
            Ok(None) | Err(AppError::Domain(_)) => {}
            Err(AppError::Conflict) => {
                tracing::info!(%loan_id, "the loan moved meanwhile; left to the next pass");
            }
            Err(err) => return Err(err),
        }
    }
    Ok(defaulted)
}
