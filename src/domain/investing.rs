//! Investing rules (DESIGN.md section 5, steps 4 and 5): what one commitment
//! may be, how far it may be reduced, how a funded loan's money is divided
//! when it is paid out, and each investor's share of the repayment schedule.

use crate::domain::{
    money::{Money, MoneyError},
    schedule::Installment,
    split::{self, Holding, SplitError},
};

word_enum!(
    /// Where an investment is in its life; stored in `investments.status`.
    InvestmentStatus {
        Pending => "pending", "Reserved";
        Active => "active", "Repaying";
        Repaid => "repaid", "Repaid";
        Defaulted => "defaulted", "Defaulted";
        Cancelled => "cancelled", "Cancelled";
        Expired => "expired", "Released, loan not funded";
        Sold => "sold", "Sold";
    }
);

impl InvestmentStatus {
    /// The statuses whose money is (or was) lent: they count towards a loan's
    /// funded amount. A cancelled or expired commitment never left the wallet.
    pub const LIVE: [Self; 4] = [Self::Pending, Self::Active, Self::Repaid, Self::Defaulted];

    /// The statuses that count towards an unqualified investor's yearly
    /// limit: every commitment made, except those that never lent anything.
    pub const COUNTED_FOR_LIMIT: [Self; 5] = [
        Self::Pending,
        Self::Active,
        Self::Repaid,
        Self::Defaulted,
        Self::Sold,
    ];

    /// The words of `statuses`, for queries.
    #[must_use]
    pub fn words(statuses: &[Self]) -> Vec<&'static str> {
        statuses.iter().map(|s| s.as_str()).collect()
    }
}

/// What bounds a new commitment, as read under the locks of the use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitmentLimits {
    /// The platform's minimum ticket.
    pub min_ticket: Money,
    /// What the loan still needs (amount − funded).
    pub remaining: Money,
    /// The investor's wallet balance less what it has reserved.
    pub available: Money,
    /// For an unqualified investor: the yearly limit and what this calendar
    /// year's commitments have used of it. `None` for qualified investors.
    pub yearly: Option<YearlyLimit>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearlyLimit {
    pub limit: Money,
    pub used: Money,
}

impl YearlyLimit {
    /// What is left of the limit this year (never negative).
    #[must_use]
    pub fn room(&self) -> Money {
        self.limit
            .checked_sub(self.used)
            .ok()
            .filter(|room| room.minor() >= 0)
            .unwrap_or_else(|| Money::zero(self.limit.currency()))
    }
}

/// Why an amount cannot be committed; each reads as the message shown next
/// to the amount field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommitmentProblem {
    #[error("Enter an amount greater than zero.")]
    NotPositive,
    #[error("The loan is fully funded: nothing is left to invest in.")]
    NothingLeft,
    #[error("The smallest investment is {min}.")]
    BelowMinimum { min: Money },
    #[error(
        "Only {remaining} is left, less than the usual minimum: invest exactly {remaining} to complete the loan."
    )]
    MustTakeTheRest { remaining: Money },
    #[error("Only {remaining} is left to fund in this loan.")]
    AboveRemaining { remaining: Money },
    #[error("You have {available} available in your wallet. Deposit more or invest less.")]
    AboveAvailable { available: Money },
    #[error(
        "Unqualified investors may invest {limit} a calendar year; {room} of it is left this year."
    )]
    AboveYearlyLimit { limit: Money, room: Money },
}

/// Checks a new commitment of `amount` against the limits, most basic rule first.
///
/// The minimum ticket gives way only for the last piece of a loan: when less
/// than the minimum is left, exactly what is left may be committed.
///
/// # Errors
/// The first [`CommitmentProblem`] that applies.
pub fn check_commitment(amount: Money, limits: &CommitmentLimits) -> Result<(), CommitmentProblem> {
    let minor = amount.minor();
    let remaining = limits.remaining.minor();
    if minor <= 0 {
        return Err(CommitmentProblem::NotPositive);
    }
    if remaining <= 0 {
        return Err(CommitmentProblem::NothingLeft);
    }
    if remaining < limits.min_ticket.minor() {
        if minor != remaining {
            return Err(CommitmentProblem::MustTakeTheRest {
                remaining: limits.remaining,
            });
        }
    } else if minor < limits.min_ticket.minor() {
        return Err(CommitmentProblem::BelowMinimum {
            min: limits.min_ticket,
        });
    } else if minor > remaining {
        return Err(CommitmentProblem::AboveRemaining {
            remaining: limits.remaining,
        });
    }
    if minor > limits.available.minor() {
        return Err(CommitmentProblem::AboveAvailable {
            available: limits.available,
        });
    }
    if let Some(yearly) = limits.yearly {
        let room = yearly.room();
        if minor > room.minor() {
            return Err(CommitmentProblem::AboveYearlyLimit {
                limit: yearly.limit,
                room,
            });
        }
    }
    Ok(())
}

/// Why a commitment cannot be reduced to the amount asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReductionProblem {
    #[error(
        "Enter an amount smaller than your commitment of {current}; to take it all back, cancel it."
    )]
    NotSmaller { current: Money },
    #[error("The smallest investment is {min}; to go lower, cancel the commitment.")]
    BelowMinimum { min: Money },
}

/// Checks reducing a commitment of `current` to `new`.
///
/// # Errors
/// The [`ReductionProblem`] that applies.
pub fn check_reduction(
    current: Money,
    new: Money,
    min_ticket: Money,
) -> Result<(), ReductionProblem> {
    if new.minor() >= current.minor() || new.minor() <= 0 {
        return Err(ReductionProblem::NotSmaller { current });
    }
    if new.minor() < min_ticket.minor() {
        return Err(ReductionProblem::BelowMinimum { min: min_ticket });
    }
    Ok(())
}

/// Where a funded loan's money goes when it is paid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payout {
    /// What reaches the borrower's wallet.
    pub to_borrower: Money,
    /// Kept for the reserve fund.
    pub reserve_contribution: Money,
    /// The platform's origination fee.
    pub origination_fee: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayoutError {
    #[error("the reserve contribution and the origination fee together exceed the loan")]
    DeductionsExceedLoan,
    #[error(transparent)]
    Split(#[from] SplitError),
}

/// Divides `loan_amount`: each deduction is its rate of the loan, half-up to
/// the cent, and the borrower gets the rest, so the three parts add up to
/// the loan exactly.
///
/// # Errors
/// A rate above 100 %, or deductions larger than the loan.
pub fn payout(
    loan_amount: Money,
    reserve_bps: u32,
    origination_bps: u32,
) -> Result<Payout, PayoutError> {
    let reserve_contribution = split::fee(loan_amount, reserve_bps)?;
    let origination_fee = split::fee(loan_amount, origination_bps)?;
    let to_borrower = loan_amount
        .checked_sub(reserve_contribution)
        .and_then(|rest| rest.checked_sub(origination_fee))
        .map_err(|_| PayoutError::DeductionsExceedLoan)?;
    if to_borrower.minor() < 0 {
        return Err(PayoutError::DeductionsExceedLoan);
    }
    Ok(Payout {
        to_borrower,
        reserve_contribution,
        origination_fee,
    })
}

/// Each holder's share of a loan's schedule, before the servicing fee.
///
/// Every installment's interest is split pro rata (largest remainder, ties
/// to the earliest holding). Principal is split the same way, except in the
/// last installment, where each holder gets exactly what of their stake is
/// still outstanding. So each holder's principal sums to their stake, and
/// for each installment the holders' parts sum to the installment.
/// `holdings` weights are the stakes and must sum to the loan's principal.
///
/// # Errors
/// A [`SplitError`] for no holders or a non-positive stake; `TooLarge` on
/// overflow.
pub fn schedule_shares<K: Clone>(
    installments: &[Installment],
    holdings: &[Holding<K>],
) -> Result<Vec<(K, Vec<Installment>)>, SplitError> {
    let mut shares: Vec<(K, Vec<Installment>)> = holdings
        .iter()
        .map(|h| (h.key.clone(), Vec::with_capacity(installments.len())))
        .collect();
    let mut outstanding: Vec<i64> = holdings.iter().map(|h| h.weight).collect();
    for (index, installment) in installments.iter().enumerate() {
        let currency = installment.principal.currency();
        let interest = split::pro_rata(installment.interest, 0, holdings)?;
        let principal: Vec<i64> = if index + 1 == installments.len() {
            outstanding.clone()
        } else {
            split::pro_rata(installment.principal, 0, holdings)?
                .parts
                .iter()
                .map(|(_, part)| part.minor())
                .collect()
        };
        for (holder, ((_, rows), (_, interest))) in
            shares.iter_mut().zip(interest.parts.iter()).enumerate()
        {
            outstanding[holder] -= principal[holder];
            rows.push(Installment {
                number: installment.number,
                due_date: installment.due_date,
                principal: Money::from_minor(principal[holder], currency)
                    .map_err(SplitError::Money)?,
                interest: *interest,
                balance_after: Money::from_minor(outstanding[holder], currency)
                    .map_err(|_| SplitError::Money(MoneyError::TooLarge))?,
            });
        }
    }
    Ok(shares)
}

/// One stake's share of a loan's stored schedule: the installments split
/// among the live `stakes` (earliest first) as at the payout, so the same
/// figures as the agreement. `None` when `mine` is not among them.
///
/// # Errors
/// A [`SplitError`] for no stakes or a non-positive one; `TooLarge` on overflow.
pub fn stored_share(
    installments: &[crate::domain::installment::Installment],
    stakes: &[crate::domain::investment::Investment],
    mine: crate::domain::ids::InvestmentId,
) -> Result<Option<Vec<Installment>>, SplitError> {
    let Some(first) = installments.first() else {
        return Ok(Some(Vec::new()));
    };
    let currency = first.principal.currency();
    let mut outstanding: i64 = stakes.iter().map(|s| s.amount.minor()).sum();
    let mut rows = Vec::with_capacity(installments.len());
    for stored in installments {
        outstanding -= stored.principal.minor();
        rows.push(Installment {
            number: stored.number,
            due_date: stored.due_date,
            principal: stored.principal,
            interest: stored.interest,
            balance_after: Money::from_minor(outstanding.max(0), currency)?,
        });
    }
    let holdings: Vec<Holding<_>> = stakes
        .iter()
        .map(|s| Holding {
            key: s.id,
            weight: s.amount.minor(),
        })
        .collect();
    Ok(schedule_shares(&rows, &holdings)?
        .into_iter()
        .find(|(key, _)| *key == mine)
        .map(|(_, share)| share))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;
    use crate::domain::{
        money::{Currency, Rate},
        schedule::{LoanTerms, annuity},
    };

    fn rub(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Rub).unwrap()
    }

    fn limits(remaining: i64, available: i64) -> CommitmentLimits {
        CommitmentLimits {
            min_ticket: rub(100_000),
            remaining: rub(remaining),
            available: rub(available),
            yearly: None,
        }
    }

    #[test]
    fn a_commitment_must_fit_every_limit() {
        let l = limits(5_000_000, 3_000_000);
        assert_eq!(check_commitment(rub(100_000), &l), Ok(()));
        assert_eq!(check_commitment(rub(3_000_000), &l), Ok(()));
        assert_eq!(
            check_commitment(rub(0), &l),
            Err(CommitmentProblem::NotPositive)
        );
        assert_eq!(
            check_commitment(rub(99_999), &l),
            Err(CommitmentProblem::BelowMinimum { min: rub(100_000) })
        );
        assert_eq!(
            check_commitment(rub(3_000_001), &l),
            Err(CommitmentProblem::AboveAvailable {
                available: rub(3_000_000)
            })
        );
        assert_eq!(
            check_commitment(rub(5_000_001), &limits(5_000_000, 9_000_000)),
            Err(CommitmentProblem::AboveRemaining {
                remaining: rub(5_000_000)
            })
        );
        assert_eq!(
            check_commitment(rub(1), &limits(0, 9_000_000)),
            Err(CommitmentProblem::NothingLeft)
        );
    }

    #[test]
    fn the_last_piece_may_be_below_the_minimum_but_must_be_taken_whole() {
        let l = limits(40_000, 9_000_000);
        assert_eq!(check_commitment(rub(40_000), &l), Ok(()));
        assert_eq!(
            check_commitment(rub(30_000), &l),
            Err(CommitmentProblem::MustTakeTheRest {
                remaining: rub(40_000)
            })
        );
        assert_eq!(
            check_commitment(rub(100_000), &l),
            Err(CommitmentProblem::MustTakeTheRest {
                remaining: rub(40_000)
            })
        );
    }

    #[test]
    fn unqualified_investors_stay_within_the_years_limit() {
        let mut l = limits(100_000_000, 100_000_000);
        l.yearly = Some(YearlyLimit {
            limit: rub(60_000_000),
            used: rub(55_000_000),
        });
        assert_eq!(check_commitment(rub(5_000_000), &l), Ok(()));
        let err = check_commitment(rub(5_000_001), &l).unwrap_err();
        assert_eq!(
            err,
            CommitmentProblem::AboveYearlyLimit {
                limit: rub(60_000_000),
                room: rub(5_000_000)
            }
        );
        assert_eq!(
            err.to_string(),
            "Unqualified investors may invest 600\u{a0}000,00\u{a0}₽ a calendar year; 50\u{a0}000,00\u{a0}₽ of it is left this year."
        );
        l.yearly = Some(YearlyLimit {
            limit: rub(60_000_000),
            used: rub(70_000_000),
        });
        assert_eq!(
            check_commitment(rub(100_000), &l),
            Err(CommitmentProblem::AboveYearlyLimit {
                limit: rub(60_000_000),
                room: rub(0)
            }),
            "a limit lowered below what was used leaves no room, not a negative one"
        );
    }

    #[test]
    fn a_reduction_goes_down_and_stays_above_the_minimum() {
        let min = rub(100_000);
        assert_eq!(check_reduction(rub(500_000), rub(200_000), min), Ok(()));
        assert_eq!(
            check_reduction(rub(500_000), rub(500_000), min),
            Err(ReductionProblem::NotSmaller {
                current: rub(500_000)
            })
        );
        assert_eq!(
            check_reduction(rub(500_000), rub(0), min),
            Err(ReductionProblem::NotSmaller {
                current: rub(500_000)
            })
        );
        assert_eq!(
            check_reduction(rub(500_000), rub(50_000), min),
            Err(ReductionProblem::BelowMinimum { min })
        );
    }

    #[test]
    fn a_payout_keeps_the_reserve_and_the_fee_and_gives_the_rest() {
        let p = payout(rub(30_000_000), 200, 100).unwrap();
        assert_eq!(p.reserve_contribution, rub(600_000));
        assert_eq!(p.origination_fee, rub(300_000));
        assert_eq!(p.to_borrower, rub(29_100_000));
        // Half-up on a cent: 2 % of 1 000,25 is 20,005 → 20,01.
        let p = payout(rub(100_025), 200, 0).unwrap();
        assert_eq!(p.reserve_contribution, rub(2_001));
        assert_eq!(p.to_borrower, rub(98_024));
        assert_eq!(
            payout(rub(100), 6_000, 5_000),
            Err(PayoutError::DeductionsExceedLoan)
        );
    }

    fn schedule(principal: i64, bps: u32, months: u32) -> Vec<Installment> {
        annuity(&LoanTerms {
            principal: rub(principal),
            rate: Rate::from_bps(bps).unwrap(),
            term_months: months,
            start: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        })
        .unwrap()
        .installments
    }

    #[test]
    fn three_investors_shares_of_a_year_long_loan() {
        let rows = schedule(10_000_000, 1_800, 12);
        let holdings = [
            Holding {
                key: 'a',
                weight: 3_333_333,
            },
            Holding {
                key: 'b',
                weight: 3_333_333,
            },
            Holding {
                key: 'c',
                weight: 3_333_334,
            },
        ];
        let shares = schedule_shares(&rows, &holdings).unwrap();
        for (holding, (key, lines)) in holdings.iter().zip(&shares) {
            assert_eq!(holding.key, *key);
            let principal: i64 = lines.iter().map(|l| l.principal.minor()).sum();
            assert_eq!(principal, holding.weight);
            assert_eq!(lines.last().unwrap().balance_after.minor(), 0);
        }
        for (i, row) in rows.iter().enumerate() {
            let p: i64 = shares.iter().map(|(_, l)| l[i].principal.minor()).sum();
            let r: i64 = shares.iter().map(|(_, l)| l[i].interest.minor()).sum();
            assert_eq!(
                (p, r),
                (row.principal.minor(), row.interest.minor()),
                "row {}",
                i + 1
            );
        }
    }

    proptest! {
        #[test]
        fn shares_add_up_to_the_schedule_and_each_stake(
            stakes in proptest::collection::vec(100_000_i64..50_000_000, 1..40),
            bps in 0_u32..6_000,
            months in 1_u32..61,
        ) {
            let total: i64 = stakes.iter().sum();
            let rows = schedule(total, bps, months);
            let holdings: Vec<Holding<usize>> = stakes
                .iter()
                .enumerate()
                .map(|(key, weight)| Holding { key, weight: *weight })
                .collect();
            let shares = schedule_shares(&rows, &holdings).unwrap();
            for (i, row) in rows.iter().enumerate() {
                let p: i64 = shares.iter().map(|(_, l)| l[i].principal.minor()).sum();
                let r: i64 = shares.iter().map(|(_, l)| l[i].interest.minor()).sum();
                prop_assert_eq!(p, row.principal.minor());
                prop_assert_eq!(r, row.interest.minor());
            }
            for ((_, lines), stake) in shares.iter().zip(&stakes) {
                prop_assert!(lines.iter().all(|l| l.principal.minor() >= 0));
                let principal: i64 = lines.iter().map(|l| l.principal.minor()).sum();
                prop_assert_eq!(principal, *stake);
            }
        }

        #[test]
        fn a_payout_never_creates_or_loses_a_cent(
            amount in 1_i64..100_000_000_000,
            reserve in 0_u32..1_000,
            fee in 0_u32..1_000,
        ) {
            let p = payout(rub(amount), reserve, fee).unwrap();
            prop_assert_eq!(
                p.to_borrower.minor() + p.reserve_contribution.minor() + p.origination_fee.minor(),
                amount
            );
            prop_assert!(p.to_borrower.minor() >= 0);
        }
    }
}
