//! Direct offers (DESIGN.md section 5, listing mode `offers`): instead of a
//! platform rate, lenders offer their own rate for the whole loan, with the
//! money reserved in their wallet; the borrower sees the offers cheapest
//! first and accepts one (the cheapest chosen unless they pick another);
//! every other offer is rejected at once, and every offer still open when
//! the listing ends expires. An offer's status moves only through
//! [`offer_transition`]; each move away from `pending` releases or uses the
//! reservation, in the same transaction.
//!
//! ```text
//! pending ──Edit──> pending          (a new rate; the money stays reserved)
//! pending ──Accept──> accepted       (the loan is paid out from it)
//! pending ──Reject──> rejected       (another was accepted, or the borrower withdrew)
//! pending ──Cancel──> cancelled      (by the lender, before acceptance)
//! pending ──Expire──> expired        (the listing's deadline passed)
//! ```
//!
//! Every status but `pending` is final.

use chrono::{DateTime, Utc};

use crate::domain::{
    ids::{LoanId, OfferId, UserId},
    money::{Money, Rate},
};

/// A lender's offer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub id: OfferId,
    pub loan_id: LoanId,
    pub lender_id: UserId,
    pub rate: Rate,
    /// The loan's whole amount, reserved while the offer is pending.
    pub amount: Money,
    pub status: OfferStatus,
    pub made_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Offer {
    /// The offer as [`ranked`] orders offers.
    #[must_use]
    pub fn standing(&self) -> Standing<OfferId> {
        Standing {
            key: self.id,
            rate: self.rate,
            status: self.status,
            made_at: self.made_at,
        }
    }
}

word_enum!(
    /// Where an offer stands; stored in `offers.status`.
    OfferStatus {
        Pending => "pending", "Waiting for the borrower";
        Accepted => "accepted", "Accepted";
        Rejected => "rejected", "Not chosen";
        Cancelled => "cancelled", "Withdrawn";
        Expired => "expired", "Expired";
    }
);

/// What happens to an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfferEvent {
    Edit,
    Accept,
    Reject,
    Cancel,
    Expire,
}

impl OfferEvent {
    pub const ALL: [Self; 5] = [
        Self::Edit,
        Self::Accept,
        Self::Reject,
        Self::Cancel,
        Self::Expire,
    ];
}

/// A move an offer's life does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("This offer is {} and can no longer change.", from.label().to_lowercase())]
pub struct OfferTransitionError {
    pub from: OfferStatus,
    pub event: OfferEvent,
}

/// The status after `event`.
///
/// # Errors
/// [`OfferTransitionError`] for every move not in the module's diagram.
pub fn offer_transition(
    from: OfferStatus,
    event: OfferEvent,
) -> Result<OfferStatus, OfferTransitionError> {
    use OfferEvent as E;
    use OfferStatus as S;
    match (from, event) {
        (S::Pending, E::Edit) => Ok(S::Pending),
        (S::Pending, E::Accept) => Ok(S::Accepted),
        (S::Pending, E::Reject) => Ok(S::Rejected),
        (S::Pending, E::Cancel) => Ok(S::Cancelled),
        (S::Pending, E::Expire) => Ok(S::Expired),
        _ => Err(OfferTransitionError { from, event }),
    }
}

/// Why a rate cannot be offered; each reads as the message next to the
/// `rate_annual` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OfferProblem {
    #[error("Offer a rate between {min} and {max}, the range for this loan's grade.")]
    OutsideBand { min: Rate, max: Rate },
    #[error("You have {available} available; an offer reserves the whole {amount}.")]
    NotEnoughCash { available: Money, amount: Money },
}

/// Checks an offer of `rate` for a loan of `amount` whose grade allows
/// `min..=max`, from a wallet with `available`.
///
/// # Errors
/// The first [`OfferProblem`] that applies.
pub fn check_offer(
    rate: Rate,
    (min, max): (Rate, Rate),
    amount: Money,
    available: Money,
) -> Result<(), OfferProblem> {
    if rate.bps() < min.bps() || rate.bps() > max.bps() {
        return Err(OfferProblem::OutsideBand { min, max });
    }
    if available.minor() < amount.minor() {
        return Err(OfferProblem::NotEnoughCash { available, amount });
    }
    Ok(())
}

/// An offer as the borrower's page orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing<K> {
    pub key: K,
    pub rate: Rate,
    pub status: OfferStatus,
    pub made_at: DateTime<Utc>,
}

/// The pending offers, cheapest first; between equal rates the one made
/// first, then the smaller key (every order is reproducible).
#[must_use]
pub fn ranked<K: Ord + Copy>(offers: &[Standing<K>]) -> Vec<Standing<K>> {
    let mut pending: Vec<Standing<K>> = offers
        .iter()
        .copied()
        .filter(|o| o.status == OfferStatus::Pending)
        .collect();
    pending.sort_by(|a, b| {
        a.rate
            .bps()
            .cmp(&b.rate.bps())
            .then(a.made_at.cmp(&b.made_at))
            .then(a.key.cmp(&b.key))
    });
    pending
}

/// The offer chosen unless the borrower picks another: the first of
/// [`ranked`].
#[must_use]
pub fn best<K: Ord + Copy>(offers: &[Standing<K>]) -> Option<K> {
    ranked(offers).first().map(|o| o.key)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::money::Currency;

    fn rate(bps: u32) -> Rate {
        Rate::from_bps(bps).unwrap()
    }

    fn rub(r: i64) -> Money {
        Money::from_minor(r * 100, Currency::Rub).unwrap()
    }

    #[test]
    fn only_a_pending_offer_moves_and_every_other_status_is_final() {
        for from in OfferStatus::ALL {
            for event in OfferEvent::ALL {
                let moved = offer_transition(*from, event);
                if *from == OfferStatus::Pending {
                    let to = moved.unwrap();
                    assert_eq!(to == OfferStatus::Pending, event == OfferEvent::Edit);
                } else {
                    assert_eq!(
                        moved,
                        Err(OfferTransitionError { from: *from, event }),
                        "{from:?} {event:?}"
                    );
                }
            }
        }
        assert_eq!(
            offer_transition(OfferStatus::Accepted, OfferEvent::Cancel)
                .unwrap_err()
                .to_string(),
            "This offer is accepted and can no longer change."
        );
    }

    #[test]
    fn statuses_round_trip_through_their_stored_words() {
        for status in OfferStatus::ALL {
            assert_eq!(OfferStatus::parse(status.as_str()), Some(*status));
        }
        assert_eq!(OfferStatus::parse("Pending"), None);
    }

    #[test]
    fn an_offer_is_a_rate_in_the_grade_s_band_backed_by_the_whole_amount() {
        let band = (rate(1_600), rate(2_000));
        assert_eq!(
            check_offer(rate(1_600), band, rub(100_000), rub(100_000)),
            Ok(())
        );
        assert_eq!(
            check_offer(rate(2_000), band, rub(100_000), rub(150_000)),
            Ok(())
        );
        for outside in [1_599, 2_001] {
            assert_eq!(
                check_offer(rate(outside), band, rub(100_000), rub(150_000)),
                Err(OfferProblem::OutsideBand {
                    min: rate(1_600),
                    max: rate(2_000)
                })
            );
        }
        assert_eq!(
            check_offer(rate(1_800), band, rub(100_000), rub(99_999)),
            Err(OfferProblem::NotEnoughCash {
                available: rub(99_999),
                amount: rub(100_000)
            })
        );
    }

    #[test]
    fn the_borrower_sees_pending_offers_cheapest_then_earliest_first() {
        let at = |minute| Utc.with_ymd_and_hms(2026, 1, 1, 9, minute, 0).unwrap();
        let offer = |key, bps, status, minute| Standing {
            key,
            rate: rate(bps),
            status,
            made_at: at(minute),
        };
        let offers = [
            offer(1, 1_800, OfferStatus::Pending, 0),
            offer(2, 1_700, OfferStatus::Pending, 5),
            offer(3, 1_700, OfferStatus::Pending, 2),
            offer(4, 1_600, OfferStatus::Cancelled, 1),
            offer(5, 1_700, OfferStatus::Pending, 2),
        ];
        let keys: Vec<u32> = ranked(&offers).iter().map(|o| o.key).collect();
        assert_eq!(keys, [3, 5, 2, 1]);
        assert_eq!(best(&offers), Some(3));
        assert_eq!(best::<u32>(&[]), None);
    }
}
