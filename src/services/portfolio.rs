//! What an investor sees of one investment (reads only): the stake, its
//! loan, and once paid out its share of every installment with where each
//! installment stands.

use sea_orm::DatabaseConnection;

use crate::{
    db::{
        queries::servicing::{self, CashFlow},
        repo::{installments, investments},
    },
    domain::{
        ids::{InvestmentId, UserId},
        installment::InstallmentStatus,
        investing::stored_share,
        investment::{Investment, InvestmentStatus},
        loan::Loan,
        schedule::Installment,
    },
    error::AppError,
};

/// One investment as its page shows it.
#[derive(Debug, Clone)]
pub struct InvestmentOverview {
    pub investment: Investment,
    pub loan: Loan,
    /// The stake's part of every installment (empty before the payout).
    pub share: Vec<(Installment, InstallmentStatus)>,
    /// What the stake's holder received, newest first: every payment's
    /// distribution and the reserve fund's payout.
    pub flows: Vec<CashFlow>,
}

/// `investor_id`'s investment `investment_id`; someone else's is not found.
///
/// # Errors
/// `NotFound`; database failures; a row that does not parse.
pub async fn investment(
    db: &DatabaseConnection,
    investor_id: UserId,
    investment_id: InvestmentId,
) -> Result<InvestmentOverview, AppError> {
    let (investment, loan) = investments::owned_by(db, investor_id, investment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let share = if investment.status == InvestmentStatus::Pending {
        Vec::new()
    } else {
        let stored = installments::of_loan(db, loan.id, loan.currency()).await?;
        let stakes = investments::of_loan(db, &loan, &InvestmentStatus::LIVE).await?;
        stored_share(&stored, &stakes, investment.id)
            .map_err(|err| AppError::Unexpected(err.into()))?
            .unwrap_or_default()
            .into_iter()
            .zip(stored.iter().map(|row| row.status))
            .collect()
    };
    let flows = servicing::cash_flows(db, investment.id, loan.currency()).await?;
    Ok(InvestmentOverview {
        investment,
        loan,
        share,
        flows,
    })
}
