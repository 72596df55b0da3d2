//! Sharing a payment among a loan's investors (DESIGN.md sections 6 and 7):
//! its principal, interest and penalty each split pro rata to the principal
//! each investment holds, largest remainders, ties to the earliest; the
//! servicing fee taken from interest and penalty only, as one figure for the
//! payment, then shared out in proportion to what each holder received of
//! them (so no holder pays more fee than they got interest and penalty).
//! Every part sums exactly to the payment's.

use crate::domain::{
    money::{Money, MoneyError, Rate},
    split::{self, Holding, SplitError},
};

/// What one payment brings, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub principal: Money,
    pub interest: Money,
    pub penalty: Money,
}

/// One holder's share of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share<K> {
    pub key: K,
    pub principal: Money,
    pub interest: Money,
    pub penalty: Money,
    /// The servicing fee kept from this holder's interest and penalty.
    pub fee: Money,
}

impl<K> Share<K> {
    /// What reaches the holder's wallet.
    ///
    /// # Errors
    /// `TooLarge` beyond what [`Money`] holds.
    pub fn net(&self) -> Result<Money, MoneyError> {
        self.principal
            .checked_add(self.interest)?
            .checked_add(self.penalty)?
            .checked_sub(self.fee)
    }
}

/// The shares of `received` among `holdings` (earliest first), with the
/// servicing fee at `fee_rate` of interest and penalty.
///
/// # Errors
/// A [`SplitError`] for no holders, a non-positive holding or a negative
/// part.
pub fn distribute<K: Clone + PartialEq>(
    received: Received,
    fee_rate: Rate,
    holdings: &[Holding<K>],
) -> Result<(Vec<Share<K>>, Money), SplitError> {
    let principal = split::pro_rata(received.principal, 0, holdings)?;
    let interest = split::pro_rata(received.interest, 0, holdings)?;
    let penalty = split::pro_rata(received.penalty, 0, holdings)?;
    let charged = received.interest.checked_add(received.penalty)?;
    let fee = split::fee(charged, fee_rate.bps())?;
    let currency = received.principal.currency();
    let zero = Money::zero(currency);

    let mut shares: Vec<Share<K>> = holdings
        .iter()
        .enumerate()
        .map(|(index, holding)| Share {
            key: holding.key.clone(),
            principal: principal.parts[index].1,
            interest: interest.parts[index].1,
            penalty: penalty.parts[index].1,
            fee: zero,
        })
        .collect();
    // The fee by what each received of interest and penalty (those who got
    // none pay none).
    let charged_by: Vec<(usize, i64)> = shares
        .iter()
        .enumerate()
        .map(|(index, share)| (index, share.interest.minor() + share.penalty.minor()))
        .filter(|(_, weight)| *weight > 0)
        .collect();
    if fee.is_positive() {
        let weights: Vec<Holding<usize>> = charged_by
            .iter()
            .map(|(index, weight)| Holding {
                key: *index,
                weight: *weight,
            })
            .collect();
        for (index, part) in split::pro_rata(fee, 0, &weights)?.parts {
            shares[index].fee = part;
        }
    }
    Ok((shares, fee))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::money::Currency;

    fn rub(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Rub).unwrap()
    }

    fn holdings(weights: &[i64]) -> Vec<Holding<usize>> {
        weights
            .iter()
            .enumerate()
            .map(|(key, weight)| Holding {
                key,
                weight: *weight,
            })
            .collect()
    }

    #[test]
    fn three_equal_holders_share_a_kopeck_short_installment_exactly() {
        let received = Received {
            principal: rub(10_000),
            interest: rub(1_001),
            penalty: rub(0),
        };
        let (shares, fee) = distribute(
            received,
            Rate::from_bps(100).unwrap(),
            &holdings(&[1, 1, 1]),
        )
        .unwrap();
        assert_eq!(fee, rub(10), "1 % of 10.01 is 0.1001 → 0.10");
        let principal: Vec<i64> = shares.iter().map(|s| s.principal.minor()).collect();
        assert_eq!(
            principal,
            [3_334, 3_333, 3_333],
            "the leftover kopeck to the earliest"
        );
        let interest: Vec<i64> = shares.iter().map(|s| s.interest.minor()).collect();
        assert_eq!(interest, [334, 334, 333]);
        let fees: Vec<i64> = shares.iter().map(|s| s.fee.minor()).collect();
        assert_eq!(fees.iter().sum::<i64>(), 10);
        let paid_out: i64 = shares.iter().map(|s| s.net().unwrap().minor()).sum();
        assert_eq!(paid_out + fee.minor(), 11_001);
    }

    #[test]
    fn principal_alone_carries_no_fee() {
        let received = Received {
            principal: rub(99_999),
            interest: rub(0),
            penalty: rub(0),
        };
        let (shares, fee) =
            distribute(received, Rate::from_bps(100).unwrap(), &holdings(&[5, 3])).unwrap();
        assert_eq!(fee, rub(0));
        assert!(shares.iter().all(|s| s.fee.is_zero()));
    }

    proptest! {
        #[test]
        fn no_kopeck_is_created_or_lost(
            principal in 0i64..10_000_000,
            interest in 0i64..1_000_000,
            penalty in 0i64..100_000,
            fee_bps in 0u32..=10_000,
            weights in prop::collection::vec(1i64..5_000_000, 1..60),
        ) {
            let received = Received {
                principal: rub(principal),
                interest: rub(interest),
                penalty: rub(penalty),
            };
            let (shares, fee) =
                distribute(received, Rate::from_bps(fee_bps).unwrap(), &holdings(&weights)).unwrap();
            prop_assert_eq!(shares.iter().map(|s| s.principal.minor()).sum::<i64>(), principal);
            prop_assert_eq!(shares.iter().map(|s| s.interest.minor()).sum::<i64>(), interest);
            prop_assert_eq!(shares.iter().map(|s| s.penalty.minor()).sum::<i64>(), penalty);
            prop_assert_eq!(shares.iter().map(|s| s.fee.minor()).sum::<i64>(), fee.minor());
            for share in &shares {
                prop_assert!(share.fee.minor() <= share.interest.minor() + share.penalty.minor());
                prop_assert!(share.net().unwrap().minor() >= 0);
            }
            let total: i64 = shares.iter().map(|s| s.net().unwrap().minor()).sum::<i64>() + fee.minor();
            prop_assert_eq!(total, principal + interest + penalty);
        }
    }
}
