//! One loan as the marketplace shows it (reads only): its terms and funding,
//! how many investors it has, the scorecard, and what may be said of its
//! borrower. A loan past its funding deadline is shown as closed; the
//! `funding-expiry` job releases it (a page view never writes).

use sea_orm::DatabaseConnection;

use crate::{
    clock::Clock,
    db::{
        queries::{
            applications::{self as applications_queries, ScoringView},
            investments as investment_queries,
        },
        repo::loans,
    },
    domain::{
        disclosure::{DisclosedBorrower, disclose},
        ids::LoanId,
        lifecycle::LoanStatus,
        loan::Loan,
        money::Money,
    },
    error::AppError,
    services::settings,
};

/// A loan on the marketplace.
#[derive(Debug, Clone)]
pub struct Listing {
    pub loan: Loan,
    /// Different investors holding a stake.
    pub investors: i64,
    pub min_investment: Money,
    pub scorecard: Option<ScoringView>,
    pub borrower: Option<DisclosedBorrower>,
    /// Its funding deadline has passed (it takes no more commitments).
    pub closed: bool,
}

/// The loan `loan_id` while it is listed for funding.
///
/// # Errors
/// `NotFound` for an unknown loan or one not open for funding; database
/// failures.
pub async fn listing(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    loan_id: LoanId,
) -> Result<Listing, AppError> {
    let loan = loans::find(db, loan_id)
        .await?
        .filter(|loan| loan.status == LoanStatus::Funding)
        .ok_or(AppError::NotFound)?;
    let investors = investment_queries::investor_count(db, loan_id).await?;
    let min_investment = settings::load(db).await?.min_investment;
    let scorecard = applications_queries::latest_scoring(db, loan_id).await?;
    let borrower = applications_queries::profile(db, loan.borrower_id)
        .await?
        .map(|profile| disclose(&profile, clock.today()))
        .transpose()
        .map_err(|err| AppError::Unexpected(err.into()))?;
    Ok(Listing {
        closed: loan.is_past_deadline(clock.now()),
        loan,
        investors,
        min_investment,
        scorecard,
        borrower,
    })
}
