//! Paying out a funded loan, planned (DESIGN.md section 5, step 5): who gets
//! what, the repayment schedule from the payout day, and each stake's share
//! of it, computed from the loan and its commitments alone. The use case
//! renders the agreements and emails from this plan before it opens the
//! short transaction that moves the money, and checks under its locks that
//! the loan and the commitments are still the ones planned for.

use chrono::NaiveDate;

use crate::domain::{
    ids::{InvestmentId, LoanId, UserId},
    investing::{Payout, PayoutError, payout, schedule_shares},
    investment::{Investment, InvestmentStatus, investor_totals},
    lifecycle::LoanStatus,
    loan::Loan,
    money::{Money, MoneyError, Rate},
    schedule::{self, Installment, Schedule, ScheduleError},
    split::{Holding, SplitError},
};

/// What the plan needs of the platform's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deductions {
    pub reserve_contribution: Rate,
    pub origination_fee: Rate,
}

/// One stake as paid out: the commitment and its share of the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StakePlan {
    pub investment: Investment,
    /// This stake's part of every installment (before the servicing fee).
    pub share: Vec<Installment>,
}

/// One investor's stakes in the loan together (an investor who committed
/// several times gets one email with one schedule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvestorPlan {
    pub investor_id: UserId,
    /// Their stakes together.
    pub total: Money,
    /// Their first commitment (the page their email links to).
    pub first: InvestmentId,
    /// Their share of every installment, summed over their stakes.
    pub share: Vec<Installment>,
}

/// A funded loan's payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisbursementPlan {
    pub loan_id: LoanId,
    pub borrower_id: UserId,
    pub day: NaiveDate,
    /// The loan divided: the borrower's part, the reserve contribution and
    /// the origination fee (they add up to the loan).
    pub payout: Payout,
    /// The annuity schedule from `day`.
    pub schedule: Schedule,
    /// Earliest commitment first.
    pub stakes: Vec<StakePlan>,
    /// In the order of their first commitment.
    pub investors: Vec<InvestorPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisbursementError {
    /// Only a fully funded loan is paid out.
    #[error("a loan that is {0:?} is not paid out")]
    NotFunded(LoanStatus),
    /// The open commitments do not add up to the loan.
    #[error("the commitments hold {committed} of the loan's {amount}")]
    CommitmentsDoNotCoverTheLoan { committed: i64, amount: i64 },
    #[error("a commitment of the plan is not an open one")]
    NotPending(InvestmentId),
    #[error("the loan has no rate")]
    NoRate,
    #[error(transparent)]
    Payout(#[from] PayoutError),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error(transparent)]
    Split(#[from] SplitError),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// Plans the payout of `loan` from its open `commitments` (earliest
/// first) on `day`.
///
/// # Errors
/// A [`DisbursementError`] when the loan is not funded, the commitments do
/// not cover it exactly, or an amount leaves what money can hold.
pub fn plan(
    loan: &Loan,
    commitments: &[Investment],
    deductions: Deductions,
    day: NaiveDate,
) -> Result<DisbursementPlan, DisbursementError> {
    if loan.status != LoanStatus::Funded {
        return Err(DisbursementError::NotFunded(loan.status));
    }
    if let Some(closed) = commitments
        .iter()
        .find(|c| c.status != InvestmentStatus::Pending)
    {
        return Err(DisbursementError::NotPending(closed.id));
    }
    let committed: i64 = commitments.iter().map(|c| c.amount.minor()).sum();
    if committed != loan.amount.minor() || loan.funded != loan.amount {
        return Err(DisbursementError::CommitmentsDoNotCoverTheLoan {
            committed,
            amount: loan.amount.minor(),
        });
    }
    let payout = payout(
        loan.amount,
        deductions.reserve_contribution.bps(),
        deductions.origination_fee.bps(),
    )?;
    let terms = loan
        .terms_for(loan.amount, day)
        .ok_or(DisbursementError::NoRate)?;
    let schedule = schedule::annuity(&terms)?;
    let holdings: Vec<Holding<usize>> = commitments
        .iter()
        .enumerate()
        .map(|(index, c)| Holding {
            key: index,
            weight: c.amount.minor(),
        })
        .collect();
    let stakes: Vec<StakePlan> = schedule_shares(&schedule.installments, &holdings)?
        .into_iter()
        .map(|(index, share)| StakePlan {
            investment: commitments[index].clone(),
            share,
        })
        .collect();
    let investors = per_investor(&stakes)?;
    Ok(DisbursementPlan {
        loan_id: loan.id,
        borrower_id: loan.borrower_id,
        day,
        payout,
        schedule,
        stakes,
        investors,
    })
}

/// The stakes grouped by investor, in the order of their first commitment,
/// each with their shares of the schedule summed.
fn per_investor(stakes: &[StakePlan]) -> Result<Vec<InvestorPlan>, MoneyError> {
    let commitments: Vec<Investment> = stakes.iter().map(|s| s.investment.clone()).collect();
    investor_totals(&commitments)?
        .into_iter()
        .map(|total| {
            let mut share: Vec<Installment> = Vec::new();
            for stake in stakes
                .iter()
                .filter(|s| s.investment.investor_id == total.investor_id)
            {
                if share.is_empty() {
                    share.clone_from(&stake.share);
                    continue;
                }
                for (row, extra) in share.iter_mut().zip(&stake.share) {
                    row.principal = row.principal.checked_add(extra.principal)?;
                    row.interest = row.interest.checked_add(extra.interest)?;
                    row.balance_after = row.balance_after.checked_add(extra.balance_after)?;
                }
            }
            Ok(InvestorPlan {
                investor_id: total.investor_id,
                total: total.total,
                first: total.first,
                share,
            })
        })
        .collect()
}

impl DisbursementPlan {
    /// What each investor gives up of their wallet: their stakes together.
    #[must_use]
    pub fn taken_from(&self) -> Vec<(UserId, Money)> {
        self.investors
            .iter()
            .map(|i| (i.investor_id, i.total))
            .collect()
    }

    /// Whether `commitments` (read again under the locks) are exactly the
    /// ones planned for.
    #[must_use]
    pub fn still_matches(&self, commitments: &[Investment]) -> bool {
        commitments.len() == self.stakes.len()
            && commitments
                .iter()
                .zip(&self.stakes)
                .all(|(now, planned)| now == &planned.investment)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::domain::{
        application::{ListingMode, Purpose},
        investment::InvestmentSource,
        money::Currency,
        scoring::Grade,
    };

    fn rub(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Rub).unwrap()
    }

    fn funded_loan(amount: i64) -> Loan {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        Loan {
            id: LoanId::new(),
            borrower_id: UserId::new(),
            amount: rub(amount),
            funded: rub(amount),
            requested_amount: rub(amount),
            term_months: 12,
            requested_term_months: 12,
            rate: Rate::from_bps(1_800).ok(),
            status: LoanStatus::Funded,
            grade: Some(Grade::C),
            score: Some(600),
            purpose: Purpose::Car,
            description: "A car.".to_owned(),
            listing_mode: ListingMode::Fixed,
            funding_deadline: None,
            listed_at: Some(at),
            funded_at: Some(at),
            disbursed_at: None,
            closed_at: None,
            rejection_reason: None,
            default_reason: None,
            created_at: at,
            updated_at: at,
        }
    }

    fn commitment(loan: &Loan, investor: UserId, amount: i64) -> Investment {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        Investment {
            id: InvestmentId::new(),
            investor_id: investor,
            loan_id: loan.id,
            amount: rub(amount),
            status: InvestmentStatus::Pending,
            source: InvestmentSource::Manual,
            accepted_at: at,
            agreement_hash: None,
            created_at: at,
        }
    }

    fn deductions() -> Deductions {
        Deductions {
            reserve_contribution: Rate::from_bps(200).unwrap(),
            origination_fee: Rate::from_bps(100).unwrap(),
        }
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    }

    #[test]
    fn a_payout_divides_the_loan_and_shares_the_schedule_by_stake() {
        let loan = funded_loan(10_000_000);
        let (ann, bob) = (UserId::new(), UserId::new());
        let commitments = [
            commitment(&loan, ann, 3_000_000),
            commitment(&loan, bob, 5_000_000),
            commitment(&loan, ann, 2_000_000),
        ];
        let plan = plan(&loan, &commitments, deductions(), day()).unwrap();
        assert_eq!(plan.payout.to_borrower, rub(9_700_000));
        assert_eq!(plan.schedule.installments.len(), 12);
        assert_eq!(
            plan.schedule.installments[0].due_date,
            NaiveDate::from_ymd_opt(2026, 12, 30).unwrap()
        );
        // Each stake's principal adds up to the stake; the stakes' parts of
        // each installment add up to the installment.
        for stake in &plan.stakes {
            let principal: i64 = stake.share.iter().map(|r| r.principal.minor()).sum();
            assert_eq!(principal, stake.investment.amount.minor());
        }
        for (index, row) in plan.schedule.installments.iter().enumerate() {
            let interest: i64 = plan
                .stakes
                .iter()
                .map(|s| s.share[index].interest.minor())
                .sum();
            assert_eq!(interest, row.interest.minor());
        }
        // Ann's two commitments make one investor, first in line.
        assert_eq!(plan.investors.len(), 2);
        assert_eq!(plan.investors[0].investor_id, ann);
        assert_eq!(plan.investors[0].total, rub(5_000_000));
        assert_eq!(plan.investors[0].first, commitments[0].id);
        assert_eq!(
            plan.taken_from(),
            vec![(ann, rub(5_000_000)), (bob, rub(5_000_000))]
        );
        assert!(plan.still_matches(&commitments));
        assert!(!plan.still_matches(&commitments[..2]));
    }

    #[test]
    fn only_a_loan_whose_commitments_cover_it_exactly_is_planned() {
        let loan = funded_loan(10_000_000);
        let short = [commitment(&loan, UserId::new(), 9_000_000)];
        assert!(matches!(
            plan(&loan, &short, deductions(), day()),
            Err(DisbursementError::CommitmentsDoNotCoverTheLoan { .. })
        ));
        let mut open = funded_loan(10_000_000);
        open.status = LoanStatus::Funding;
        let whole = [commitment(&open, UserId::new(), 10_000_000)];
        assert_eq!(
            plan(&open, &whole, deductions(), day()),
            Err(DisbursementError::NotFunded(LoanStatus::Funding))
        );
    }
}
