//! Splitting money between holders pro rata (DESIGN.md section 6): repayments
//! to investors, reserve-fund payouts, any split.
//!
//! The fee is taken first (half-up to the cent). Each holder then gets the
//! floor of their exact share of what is left, to the cent; the cents that
//! flooring leaves over go one at a time to the largest fractional remainders,
//! ties to the earliest holding. The parts and the fee always add up to the
//! amount: no cent is created or lost. All arithmetic is on whole cents in
//! 128-bit integers, so nothing is approximated.

use crate::domain::money::{BPS_PER_WHOLE, Money, MoneyError};

/// One holder's stake: `weight` is what they hold (e.g. principal invested,
/// in cents). Holdings are passed earliest first; that order breaks ties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding<K> {
    pub key: K,
    pub weight: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<K> {
    pub fee: Money,
    pub parts: Vec<(K, Money)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("There is nobody to split between.")]
    NoHolders,
    #[error("Every holding must be positive.")]
    NonPositiveWeight,
    #[error("The amount to split cannot be negative.")]
    NegativeAmount,
    #[error("The fee must be between 0 % and 100 %.")]
    FeeOutOfRange,
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// The fee on `amount` at `fee_bps`, rounded half-up to the cent.
///
/// # Errors
/// `FeeOutOfRange` above 100 %; `NegativeAmount` for a negative amount.
pub fn fee(amount: Money, fee_bps: u32) -> Result<Money, SplitError> {
    if i128::from(fee_bps) > BPS_PER_WHOLE {
        return Err(SplitError::FeeOutOfRange);
    }
    if amount.minor() < 0 {
        return Err(SplitError::NegativeAmount);
    }
    Ok(amount.mul_ratio(i128::from(fee_bps), BPS_PER_WHOLE)?)
}

/// Splits `amount` between `holdings` after a fee of `fee_bps`.
///
/// # Errors
/// A [`SplitError`] for no holders, a non-positive holding, a negative amount
/// or a fee outside 0..=100 %.
pub fn pro_rata<K: Clone>(
    amount: Money,
    fee_bps: u32,
    holdings: &[Holding<K>],
) -> Result<Split<K>, SplitError> {
    if holdings.is_empty() {
        return Err(SplitError::NoHolders);
    }
    if holdings.iter().any(|h| h.weight <= 0) {
        return Err(SplitError::NonPositiveWeight);
    }
    let fee = fee(amount, fee_bps)?;
    let pool = i128::from(amount.minor() - fee.minor());
    let total: i128 = holdings.iter().map(|h| i128::from(h.weight)).sum();

    let mut floors: Vec<i128> = Vec::with_capacity(holdings.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(holdings.len());
    for (index, holding) in holdings.iter().enumerate() {
        let exact = pool * i128::from(holding.weight);
        floors.push(exact / total);
        remainders.push((exact % total, index));
    }
    let mut leftover = pool - floors.iter().sum::<i128>();
    // Largest remainder first; on equal remainders the earlier holding first.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, index) in remainders {
        if leftover == 0 {
            break;
        }
        floors[index] += 1;
        leftover -= 1;
    }

    let currency = amount.currency();
    let parts = holdings
        .iter()
        .zip(floors)
        .map(|(holding, minor)| {
            Ok((
                holding.key.clone(),
                Money::from_minor(to_i64(minor)?, currency)?,
            ))
        })
        .collect::<Result<Vec<_>, SplitError>>()?;
    Ok(Split { fee, parts })
}

fn to_i64(value: i128) -> Result<i64, MoneyError> {
    i64::try_from(value).map_err(|_| MoneyError::TooLarge)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::money::{Currency, MAX_MINOR};

    fn rub(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Rub).unwrap()
    }

    fn holdings(weights: &[i64]) -> Vec<Holding<usize>> {
        weights
            .iter()
            .enumerate()
            .map(|(key, &weight)| Holding { key, weight })
            .collect()
    }

    fn minors(split: &Split<usize>) -> Vec<i64> {
        split.parts.iter().map(|(_, m)| m.minor()).collect()
    }

    #[test]
    fn the_fee_comes_first_and_is_rounded_half_up() {
        assert_eq!(fee(rub(10_000), 100).unwrap().minor(), 100);
        assert_eq!(fee(rub(50), 100).unwrap().minor(), 1, "0.5 cent rounds up");
        assert_eq!(fee(rub(49), 100).unwrap().minor(), 0);
        assert_eq!(fee(rub(100), 10_001), Err(SplitError::FeeOutOfRange));
    }

    #[test]
    fn leftover_cents_go_to_the_largest_remainders_then_the_earliest() {
        // 100.00 between three equal holders: 33.33 each and one cent left,
        // which goes to the earliest (all remainders are equal).
        let split = pro_rata(rub(10_000), 0, &holdings(&[1, 1, 1])).unwrap();
        assert_eq!(minors(&split), vec![3334, 3333, 3333]);
        // 10.00 between weights 1, 2, 3 after a 1 % fee (0.10): pool 9.90 →
        // exact 1.65, 3.30, 4.95: no leftover.
        let split = pro_rata(rub(1000), 100, &holdings(&[1, 2, 3])).unwrap();
        assert_eq!(split.fee.minor(), 10);
        assert_eq!(minors(&split), vec![165, 330, 495]);
        // 1.00 between 3 and 7 and 1: exact 27.27, 63.63, 9.09 → floors 27,
        // 63, 9 and one cent to the largest remainder (the 7, .63 > .27 > .09).
        let split = pro_rata(rub(100), 0, &holdings(&[3, 7, 1])).unwrap();
        assert_eq!(minors(&split), vec![27, 64, 9]);
    }

    #[test]
    fn bad_splits_are_refused() {
        assert_eq!(
            pro_rata::<usize>(rub(100), 0, &[]),
            Err(SplitError::NoHolders)
        );
        assert_eq!(
            pro_rata(rub(100), 0, &holdings(&[1, 0])),
            Err(SplitError::NonPositiveWeight)
        );
    }

    proptest! {
        #[test]
        fn the_parts_and_the_fee_always_add_up_and_each_part_is_within_a_cent(
            amount in 0..=MAX_MINOR,
            fee_bps in 0_u32..=10_000,
            weights in prop::collection::vec(1_i64..=MAX_MINOR, 1..60),
        ) {
            let split = pro_rata(rub(amount), fee_bps, &holdings(&weights)).unwrap();
            let paid: i64 = split.parts.iter().map(|(_, m)| m.minor()).sum();
            prop_assert_eq!(paid + split.fee.minor(), amount);
            let pool = i128::from(amount - split.fee.minor());
            let total: i128 = weights.iter().map(|&w| i128::from(w)).sum();
            for ((_, part), &weight) in split.parts.iter().zip(&weights) {
                // |part − pool·w/total| < 1 cent  ⇔  |part·total − pool·w| < total
                let error = (i128::from(part.minor()) * total - pool * i128::from(weight)).abs();
                prop_assert!(error < total, "a part is a cent or more from its exact share");
            }
        }
    }
}
