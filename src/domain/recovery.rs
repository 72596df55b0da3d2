//! After a default (DESIGN.md section 7): what the borrower still owes, and
//! how money recovered from them is shared.
//!
//! The claim is what was unpaid when the loan defaulted: all the principal
//! not repaid, the interest of installments already due, and the penalties
//! charged. Interest of installments not yet due when the loan defaulted is
//! not claimed.
//!
//! A recovery is shared among the stakes by the principal each had
//! outstanding at the default (largest remainders, as every split). Of each
//! stake's share, the reserve fund is repaid first what it paid that stake
//! and has not had back; the rest goes to the stake's holder, as principal
//! until the principal the fund did not cover is back, then as interest
//! (from which the servicing fee is taken). The fund paid the holder for
//! that principal already: paying the holder first would pay it twice, and
//! a recovery then leaves every holder and the fund with the same share of
//! what they lost.

use chrono::NaiveDate;

use crate::domain::{
    installment::{Installment, InstallmentStatus},
    money::{Money, MoneyError, Rate},
    split::{self, Holding, SplitError},
};

word_enum!(
    /// A movement of the reserve fund for a stake; stored in
    /// `reserve_fund_events.kind`.
    ReserveEventKind {
        Covered => "covered", "Reserve fund payout";
        Repaid => "repaid", "Repaid to the reserve fund";
    }
);

/// What the borrower of a loan that defaulted on `defaulted_on` owed then
/// (its written-off installments as they stood).
///
/// # Errors
/// `TooLarge` beyond what [`Money`] holds.
pub fn claim_at_default(
    rows: &[Installment],
    defaulted_on: NaiveDate,
) -> Result<Money, MoneyError> {
    let currency = rows
        .first()
        .map_or(crate::domain::money::Currency::Rub, |r| {
            r.principal.currency()
        });
    let mut claim = Money::zero(currency);
    for row in rows
        .iter()
        .filter(|r| r.status == InstallmentStatus::WrittenOff)
    {
        claim = claim
            .checked_add(row.principal.checked_sub(row.paid_principal)?)?
            .checked_add(row.penalty_accrued.checked_sub(row.penalty_paid)?)?;
        if row.due_date <= defaulted_on {
            claim = claim.checked_add(row.interest.checked_sub(row.paid_interest)?)?;
        }
    }
    Ok(claim)
}

/// One stake of a defaulted loan, as a recovery shares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stake<K> {
    pub key: K,
    /// Principal outstanding at the default.
    pub outstanding: Money,
    /// What the reserve fund paid for it.
    pub covered: Money,
    /// What recoveries have repaid the reserve fund for it so far.
    pub reserve_repaid: Money,
    /// Principal recoveries have paid its holder so far.
    pub principal_recovered: Money,
}

/// What one stake's share of a recovery does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryShare<K> {
    pub key: K,
    pub to_reserve: Money,
    pub principal: Money,
    pub interest: Money,
    /// Kept from `interest`.
    pub fee: Money,
}

impl<K> RecoveryShare<K> {
    /// What reaches the holder's wallet.
    ///
    /// # Errors
    /// `TooLarge` beyond what [`Money`] holds.
    pub fn net(&self) -> Result<Money, MoneyError> {
        self.principal
            .checked_add(self.interest)?
            .checked_sub(self.fee)
    }
}

/// Shares `amount` among `stakes` (earliest first; stakes with nothing
/// outstanding get nothing).
///
/// # Errors
/// `NoHolders` when no stake had anything outstanding; amounts out of range.
pub fn share<K: Clone>(
    amount: Money,
    fee: Rate,
    stakes: &[Stake<K>],
) -> Result<Vec<RecoveryShare<K>>, SplitError> {
    let holdings: Vec<Holding<usize>> = stakes
        .iter()
        .enumerate()
        .filter(|(_, s)| s.outstanding.is_positive())
        .map(|(index, s)| Holding {
            key: index,
            weight: s.outstanding.minor(),
        })
        .collect();
    let split = split::pro_rata(amount, 0, &holdings)?;
    let mut shares = Vec::with_capacity(split.parts.len());
    for (index, part) in split.parts {
        let stake = &stakes[index];
        let reserve_owed = stake.covered.checked_sub(stake.reserve_repaid)?;
        let to_reserve = min(part, positive(reserve_owed));
        let rest = part.checked_sub(to_reserve)?;
        let principal_owed = stake
            .outstanding
            .checked_sub(stake.covered)?
            .checked_sub(stake.principal_recovered)?;
        let principal = min(rest, positive(principal_owed));
        let interest = rest.checked_sub(principal)?;
        shares.push(RecoveryShare {
            key: stake.key.clone(),
            to_reserve,
            principal,
            interest,
            fee: split::fee(interest, fee.bps())?,
        });
    }
    Ok(shares)
}

fn min(a: Money, b: Money) -> Money {
    if a.minor() <= b.minor() { a } else { b }
}

fn positive(amount: Money) -> Money {
    if amount.is_positive() {
        amount
    } else {
        Money::zero(amount.currency())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::money::Currency;

    fn rub(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Rub).unwrap()
    }

    fn stake(key: u8, outstanding: i64, covered: i64) -> Stake<u8> {
        Stake {
            key,
            outstanding: rub(outstanding),
            covered: rub(covered),
            reserve_repaid: rub(0),
            principal_recovered: rub(0),
        }
    }

    #[test]
    fn the_reserve_fund_is_repaid_first_then_the_holders_principal_then_interest() {
        // Half covered: 600 of 1 200 and 300 of 600.
        let stakes = [stake(1, 120_000, 60_000), stake(2, 60_000, 30_000)];
        let first = share(rub(60_000), Rate::from_bps(100).unwrap(), &stakes).unwrap();
        assert_eq!(first[0].to_reserve, rub(40_000));
        assert_eq!(first[1].to_reserve, rub(20_000));
        assert!(
            first
                .iter()
                .all(|s| s.principal.is_zero() && s.interest.is_zero())
        );
        // The fund repaid, the next 1 000 goes to the holders' principal
        // (900 outstanding uncovered), and 100 is interest, 1 % fee.
        let repaid = [
            Stake {
                reserve_repaid: rub(60_000),
                ..stakes[0].clone()
            },
            Stake {
                reserve_repaid: rub(30_000),
                ..stakes[1].clone()
            },
        ];
        let second = share(rub(100_000), Rate::from_bps(100).unwrap(), &repaid).unwrap();
        let parts: Vec<(i64, i64, i64, i64)> = second
            .iter()
            .map(|s| {
                (
                    s.to_reserve.minor(),
                    s.principal.minor(),
                    s.interest.minor(),
                    s.fee.minor(),
                )
            })
            .collect();
        // 1 000 split 2:1 is 666.67 and 333.33; 1 % of 66.67 is 0.6667 → 0.67.
        assert_eq!(parts, [(0, 60_000, 6_667, 67), (0, 30_000, 3_333, 33)]);
        assert_eq!(second[0].net().unwrap(), rub(66_600));
    }

    proptest! {
        #[test]
        fn a_recovery_is_shared_to_the_cent(
            amount in 1i64..10_000_000,
            stakes in proptest::collection::vec((1i64..5_000_000, 0u32..=100, 0u32..=100), 1..8),
        ) {
            let stakes: Vec<Stake<usize>> = stakes
                .iter()
                .enumerate()
                .map(|(key, (outstanding, covered, repaid))| {
                    let covered = outstanding * i64::from(*covered) / 100;
                    Stake {
                        key,
                        outstanding: rub(*outstanding),
                        covered: rub(covered),
                        reserve_repaid: rub(covered * i64::from(*repaid) / 100),
                        principal_recovered: rub(0),
                    }
                })
                .collect();
            let shares = share(rub(amount), Rate::from_bps(100).unwrap(), &stakes).unwrap();
            let total: i64 = shares
                .iter()
                .map(|s| s.to_reserve.minor() + s.principal.minor() + s.interest.minor())
                .sum();
            prop_assert_eq!(total, amount);
            for (s, stake) in shares.iter().zip(&stakes) {
                prop_assert!(s.to_reserve.minor() <= stake.covered.minor() - stake.reserve_repaid.minor());
                prop_assert!(s.principal.minor() <= stake.outstanding.minor() - stake.covered.minor());
                prop_assert!(s.fee.minor() <= s.interest.minor());
                prop_assert!(s.to_reserve.minor() >= 0 && s.principal.minor() >= 0 && s.interest.minor() >= 0);
            }
        }
    }
}
