//! A loan as the use cases see it: a loan request parsed once, with typed
//! ids, money, rate, status, grade and purpose (`db::repo::loans` builds it
//! from the stored row and refuses a row that does not parse). The rules
//! that read only the loan itself live here.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{
    application::{ListingMode, Purpose},
    error::DomainError,
    ids::{LoanId, UserId},
    lifecycle::LoanStatus,
    money::{Currency, Money, Rate},
    schedule::LoanTerms,
    scoring::Grade,
};

/// One loan request, from application to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loan {
    pub id: LoanId,
    pub borrower_id: UserId,
    /// The amount approved (or, before the decision, asked for).
    pub amount: Money,
    /// What investors have committed so far (never above `amount`).
    pub funded: Money,
    pub requested_amount: Money,
    pub term_months: u32,
    pub requested_term_months: u32,
    /// Set once scored; fixed by staff at approval.
    pub rate: Option<Rate>,
    pub status: LoanStatus,
    pub grade: Option<Grade>,
    pub score: Option<u32>,
    pub purpose: Purpose,
    pub description: String,
    pub listing_mode: ListingMode,
    pub funding_deadline: Option<DateTime<Utc>>,
    pub listed_at: Option<DateTime<Utc>>,
    pub funded_at: Option<DateTime<Utc>>,
    pub disbursed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
    /// Why it was declared defaulted.
    pub default_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Loan {
    #[must_use]
    pub fn currency(&self) -> Currency {
        self.amount.currency()
    }

    /// What the loan still needs to be fully funded.
    #[must_use]
    pub fn remaining(&self) -> Money {
        Money::from_minor(
            (self.amount.minor() - self.funded.minor()).max(0),
            self.currency(),
        )
        .unwrap_or_else(|_| Money::zero(self.currency()))
    }

    /// Whole percent funded, rounded down (a loan shows 100 % only when full).
    #[must_use]
    pub fn funded_percent(&self) -> u32 {
        funded_percent(self.funded, self.amount)
    }

    /// Whether its funding deadline has passed at `now` (a loan past it takes
    /// no commitments and is closed by the `funding-expiry` job).
    #[must_use]
    pub fn is_past_deadline(&self, now: DateTime<Utc>) -> bool {
        self.funding_deadline
            .is_some_and(|deadline| deadline <= now)
    }

    /// Whether it takes commitments (at the platform's rate) at `now`.
    ///
    /// # Errors
    /// As [`Loan::open_for_funding`]; `LoanTakesOffers` for a loan priced
    /// by lenders' offers.
    pub fn open_for_investment(&self, now: DateTime<Utc>) -> Result<(), DomainError> {
        self.open_for_funding(now)?;
        if self.listing_mode == ListingMode::Offers {
            return Err(DomainError::LoanTakesOffers);
        }
        Ok(())
    }

    /// Whether it is listed and in time at `now` (for commitments or
    /// offers, as its listing mode says).
    ///
    /// # Errors
    /// `LoanNotOpen` unless it is in funding; `FundingClosed` once its
    /// deadline has passed.
    pub fn open_for_funding(&self, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.status != LoanStatus::Funding {
            return Err(DomainError::LoanNotOpen);
        }
        if self.is_past_deadline(now) {
            return Err(DomainError::FundingClosed);
        }
        Ok(())
    }

    /// The loan's terms for a schedule of `principal` starting on `start`,
    /// once it has a rate.
    #[must_use]
    pub fn terms_for(&self, principal: Money, start: NaiveDate) -> Option<LoanTerms> {
        Some(LoanTerms {
            principal,
            rate: self.rate?,
            term_months: self.term_months,
            start,
        })
    }
}

/// Whole percent of `amount` that `funded` covers, rounded down, 0..=100.
#[must_use]
pub fn funded_percent(funded: Money, amount: Money) -> u32 {
    if amount.minor() <= 0 {
        return 0;
    }
    let percent = (i128::from(funded.minor()) * 100 / i128::from(amount.minor())).clamp(0, 100);
    u32::try_from(percent).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn rub(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Rub).unwrap()
    }

    fn loan(status: LoanStatus, funded: i64) -> Loan {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        Loan {
            id: LoanId::new(),
            borrower_id: UserId::new(),
            amount: rub(10_000_000),
            funded: rub(funded),
            requested_amount: rub(10_000_000),
            term_months: 12,
            requested_term_months: 12,
            rate: Rate::from_bps(1_500).ok(),
            status,
            grade: Some(Grade::B),
            score: Some(700),
            purpose: Purpose::Car,
            description: "A car for work.".to_owned(),
            listing_mode: ListingMode::Fixed,
            funding_deadline: Some(at + chrono::TimeDelta::days(14)),
            listed_at: Some(at),
            funded_at: None,
            disbursed_at: None,
            closed_at: None,
            rejection_reason: None,
            default_reason: None,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn only_a_loan_in_funding_before_its_deadline_takes_commitments() {
        let open = loan(LoanStatus::Funding, 0);
        let before = open.funding_deadline.unwrap() - chrono::TimeDelta::seconds(1);
        let at_deadline = open.funding_deadline.unwrap();
        assert_eq!(open.open_for_investment(before), Ok(()));
        assert_eq!(
            open.open_for_investment(at_deadline),
            Err(DomainError::FundingClosed)
        );
        assert_eq!(
            loan(LoanStatus::Funded, 10_000_000).open_for_investment(before),
            Err(DomainError::LoanNotOpen)
        );
    }

    #[test]
    fn what_is_left_and_the_share_funded() {
        let part = loan(LoanStatus::Funding, 3_333_333);
        assert_eq!(part.remaining(), rub(6_666_667));
        assert_eq!(part.funded_percent(), 33);
        let almost = loan(LoanStatus::Funding, 9_999_999);
        assert_eq!(almost.funded_percent(), 99, "100 % only when full");
        assert_eq!(loan(LoanStatus::Funded, 10_000_000).funded_percent(), 100);
        assert_eq!(funded_percent(rub(5), rub(0)), 0);
    }
}
