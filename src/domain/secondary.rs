//! The secondary market (DESIGN.md section 8): an investor sells an active,
//! non-overdue stake, whole or in part, at its outstanding principal times
//! (1 + markup), the markup inside the platform's band. What may be listed,
//! what it costs, what the seller keeps, what the buyer can expect to earn
//! at that price, a fair-value hint, and a listing's place in the queue of
//! listings at the same price (first come, first served).
//!
//! Prices are exact: principal in minor units × (10 000 + markup in basis
//! points) / 10 000, rounded once, half up.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::domain::{
    ids::{InvestmentId, ListingId, LoanId, UserId},
    installment::{Installment, InstallmentStatus},
    investment::InvestmentStatus,
    money::{Money, MoneyError, Rate},
    scoring::Grade,
    xirr::{Xirr, xirr},
};

const BPS_PER_WHOLE: i128 = 10_000;

/// A markup on the outstanding principal, in signed basis points
/// (−2 000 = a 20 % discount).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Markup(i32);

/// Why a markup typed into the form is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MarkupError {
    #[error("Enter the markup as a percentage, e.g. 2.5 or -10.")]
    Malformed,
    #[error("Use at most two decimals.")]
    TooPrecise,
    #[error("The markup must be between {min} and {max}.")]
    OutsideBand { min: Markup, max: Markup },
}

impl Markup {
    pub const ZERO: Self = Self(0);

    #[must_use]
    pub const fn from_bps(bps: i32) -> Self {
        Self(bps)
    }

    #[must_use]
    pub const fn bps(self) -> i32 {
        self.0
    }

    /// Parses "5", "+5", "-2.5", "−20", "1,25", "3 %".
    ///
    /// # Errors
    /// `Malformed` for anything else (exponents, letters, other digits),
    /// `TooPrecise` beyond two decimals.
    pub fn parse_percent(input: &str) -> Result<Self, MarkupError> {
        let text = input
            .trim()
            .trim_end_matches('%')
            .trim()
            .replace('\u{2212}', "-")
            .replace(',', ".");
        let digits = text.strip_prefix(['-', '+']).unwrap_or(&text);
        if digits.is_empty()
            || digits.starts_with('.')
            || !digits.chars().all(|c| c.is_ascii_digit() || c == '.')
            || digits.matches('.').count() > 1
        {
            return Err(MarkupError::Malformed);
        }
        let percent: Decimal = text.parse().map_err(|_| MarkupError::Malformed)?;
        if percent.normalize().scale() > 2 {
            return Err(MarkupError::TooPrecise);
        }
        let bps = (percent * Decimal::ONE_HUNDRED).normalize().mantissa();
        i32::try_from(bps)
            .ok()
            .filter(|bps| bps.abs() < 1_000_000)
            .map(Self)
            .ok_or(MarkupError::Malformed)
    }
}

impl std::fmt::Display for Markup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "\u{2212}" } else { "" };
        let bps = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}\u{a0}%", bps / 100, bps % 100)
    }
}

/// The markups the platform allows (settings; −20 % .. +5 % by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkupBand {
    pub min: Markup,
    pub max: Markup,
}

impl Default for MarkupBand {
    fn default() -> Self {
        Self {
            min: Markup(-2_000),
            max: Markup(500),
        }
    }
}

impl MarkupBand {
    /// `markup`, if the band allows it.
    ///
    /// # Errors
    /// `OutsideBand` naming the band.
    pub fn check(self, markup: Markup) -> Result<Markup, MarkupError> {
        if (self.min..=self.max).contains(&markup) {
            Ok(markup)
        } else {
            Err(MarkupError::OutsideBand {
                min: self.min,
                max: self.max,
            })
        }
    }
}

/// What `principal` sells for at `markup`.
///
/// # Errors
/// `TooLarge` beyond what [`Money`] holds.
pub fn price(principal: Money, markup: Markup) -> Result<Money, MoneyError> {
    principal.mul_ratio(BPS_PER_WHOLE + i128::from(markup.0), BPS_PER_WHOLE)
}

/// A stake as its owner may offer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stake {
    pub status: InvestmentStatus,
    /// Whether its loan has an installment overdue.
    pub overdue: bool,
    /// The principal it still holds.
    pub outstanding: Money,
}

/// Why a stake, or that part of it, cannot be listed; each reads as the
/// message shown next to the form's field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ListingProblem {
    #[error("Only an investment being repaid can be sold.")]
    NotActive,
    #[error("An investment whose loan is overdue cannot be sold until the arrears are paid.")]
    Overdue,
    #[error("Enter an amount greater than zero.")]
    NotPositive,
    #[error("The investment holds {outstanding} of principal; sell at most that.")]
    MoreThanHeld { outstanding: Money },
    #[error("The smallest sale is {min}.")]
    BelowMinimum { min: Money },
    #[error("Sell all of it, or leave at least {min} (it holds {outstanding}).")]
    LeavesTooLittle { min: Money, outstanding: Money },
}

/// A listing's terms: the principal on sale and its price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub principal: Money,
    pub markup: Markup,
    pub price: Money,
}

/// Checks listing `principal` of `stake` at `markup` (already inside the
/// band): an active stake of a loan not overdue, at least the minimum
/// ticket, and either all of it or leaving at least the minimum ticket.
///
/// # Errors
/// The first [`ListingProblem`] that applies; `TooLarge` prices cannot
/// occur for a principal the stake holds at a markup within ±100 %.
pub fn check_listing(
    stake: Stake,
    principal: Money,
    markup: Markup,
    min_ticket: Money,
) -> Result<Terms, ListingProblem> {
    if stake.status != InvestmentStatus::Active {
        return Err(ListingProblem::NotActive);
    }
    if stake.overdue {
        return Err(ListingProblem::Overdue);
    }
    let (sold, held) = (principal.minor(), stake.outstanding.minor());
    if sold <= 0 {
        return Err(ListingProblem::NotPositive);
    }
    if sold > held {
        return Err(ListingProblem::MoreThanHeld {
            outstanding: stake.outstanding,
        });
    }
    if sold < min_ticket.minor() && sold != held {
        return Err(ListingProblem::BelowMinimum { min: min_ticket });
    }
    let left = held - sold;
    if left > 0 && left < min_ticket.minor() {
        return Err(ListingProblem::LeavesTooLittle {
            min: min_ticket,
            outstanding: stake.outstanding,
        });
    }
    let price = price(principal, markup).map_err(|_| ListingProblem::MoreThanHeld {
        outstanding: stake.outstanding,
    })?;
    Ok(Terms {
        principal,
        markup,
        price,
    })
}

/// What the seller receives of `price` after the platform's `fee`.
///
/// # Errors
/// `TooLarge` beyond what [`Money`] holds.
pub fn proceeds(price: Money, fee: Rate) -> Result<(Money, Money), MoneyError> {
    let charged = price.mul_ratio(i128::from(fee.bps()), BPS_PER_WHOLE)?;
    Ok((price.checked_sub(charged)?, charged))
}

/// The buyer's annual yield if they pay `price` on `today` and receive the
/// stake's share of the installments still to come (`flows`, dated).
#[must_use]
pub fn yield_to_maturity(price: Money, today: NaiveDate, flows: &[(NaiveDate, Money)]) -> Xirr {
    let mut dated = Vec::with_capacity(flows.len() + 1);
    dated.push((today, -price.amount()));
    dated.extend(
        flows
            .iter()
            .filter(|(date, _)| *date > today)
            .map(|(date, amount)| (*date, amount.amount())),
    );
    xirr(&dated)
}

/// The share of principal and interest a grade's loans are assumed to lose
/// over their life, for the fair-value hint: the platform's planning
/// figures, not a promise.
#[must_use]
pub fn expected_loss(grade: Grade) -> Rate {
    let bps = match grade {
        Grade::A => 50,
        Grade::B => 150,
        Grade::C => 300,
        Grade::D => 500,
        Grade::E => 800,
        Grade::F => 1_200,
    };
    Rate::from_bps(bps).unwrap_or(Rate::ZERO)
}

/// A hint of what the principal on sale is worth: it and the interest
/// accrued on it, less the grade's expected loss.
///
/// # Errors
/// `TooLarge` beyond what [`Money`] holds.
pub fn fair_value(principal: Money, accrued: Money, grade: Grade) -> Result<Money, MoneyError> {
    let loss = i128::from(expected_loss(grade).bps());
    principal
        .checked_add(accrued)?
        .mul_ratio(BPS_PER_WHOLE - loss, BPS_PER_WHOLE)
}

/// A listing waiting for a buyer, as the queue orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued<K> {
    pub key: K,
    pub markup: Markup,
    pub listed_at: DateTime<Utc>,
}

/// `key`'s place (1 = next) among the listings of one loan at its markup,
/// first come first served (the earlier id first between equal times);
/// `None` when it is not among them.
#[must_use]
pub fn place_in_queue<K: Ord + Copy>(listings: &[Queued<K>], key: K) -> Option<usize> {
    let mine = listings.iter().find(|l| l.key == key)?;
    Some(
        1 + listings
            .iter()
            .filter(|l| {
                l.markup == mine.markup && (l.listed_at, l.key) < (mine.listed_at, mine.key)
            })
            .count(),
    )
}

word_enum!(
    /// Where a listing stands; stored in `secondary_listings.status`.
    ListingStatus {
        Open => "open", "On sale";
        Sold => "sold", "Sold";
        Withdrawn => "withdrawn", "Withdrawn";
    }
);

/// A listing as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub id: ListingId,
    pub loan_id: LoanId,
    pub investment_id: InvestmentId,
    pub seller_id: UserId,
    /// The principal on sale.
    pub principal: Money,
    pub markup: Markup,
    pub status: ListingStatus,
    pub listed_at: DateTime<Utc>,
}

impl Listing {
    /// Its place in its loan's queue, as [`place_in_queue`] reads it.
    #[must_use]
    pub fn queued(&self) -> Queued<ListingId> {
        Queued {
            key: self.id,
            markup: self.markup,
            listed_at: self.listed_at,
        }
    }
}

/// What a buyer of `principal` of a loan with `schedule` may expect: their
/// share of each installment not yet paid (dated), and the interest of the
/// current period accrued on that principal by `today` (for the fair-value
/// hint). The share is `principal` over the principal still unpaid.
#[must_use]
pub fn buyer_view(
    principal: Money,
    schedule: &[Installment],
    today: NaiveDate,
) -> (Vec<(NaiveDate, Money)>, Money) {
    let currency = principal.currency();
    let zero = Money::zero(currency);
    let unpaid: Vec<&Installment> = schedule
        .iter()
        .filter(|i| {
            i.status != InstallmentStatus::Paid && i.status != InstallmentStatus::WrittenOff
        })
        .collect();
    let held: i64 = unpaid
        .iter()
        .map(|i| i.principal.minor() - i.paid_principal.minor())
        .sum();
    if held <= 0 {
        return (Vec::new(), zero);
    }
    let share = |m: i64| {
        Money::from_minor(m, currency)
            .and_then(|m| m.mul_ratio(i128::from(principal.minor()), i128::from(held)))
            .unwrap_or(zero)
    };
    let flows = unpaid
        .iter()
        .map(|i| {
            let left = i.principal.minor() - i.paid_principal.minor() + i.interest.minor()
                - i.paid_interest.minor();
            (i.due_date, share(left))
        })
        .collect();
    let accrued = unpaid
        .iter()
        .find(|i| i.due_date >= today)
        .map_or(zero, |next| {
            let start = schedule
                .iter()
                .filter(|i| i.due_date < next.due_date)
                .map(|i| i.due_date)
                .max()
                .unwrap_or_else(|| {
                    next.due_date
                        .checked_sub_months(chrono::Months::new(1))
                        .unwrap_or(next.due_date)
                });
            let period = (next.due_date - start).num_days().max(1);
            let elapsed = (today - start).num_days().clamp(0, period);
            share(next.interest.minor())
                .mul_ratio(i128::from(elapsed), i128::from(period))
                .unwrap_or(zero)
        });
    (flows, accrued)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::domain::money::Currency;

    fn rub(r: i64) -> Money {
        Money::from_minor(r * 100, Currency::Rub).unwrap()
    }

    fn kopecks(k: i64) -> Money {
        Money::from_minor(k, Currency::Rub).unwrap()
    }

    #[test]
    fn markups_are_read_as_people_type_them_and_nothing_else() {
        for (input, bps) in [
            ("5", 500),
            ("-20", -2_000),
            ("\u{2212}2,5", -250),
            ("1.25 %", 125),
            ("0", 0),
            ("-0.01", -1),
            ("+5", 500),
        ] {
            assert_eq!(Markup::parse_percent(input), Ok(Markup(bps)), "{input}");
        }
        for input in [
            "", "abc", "1e2", "NaN", "--5", "5-", ".5", "1.2.3", "٣", "+-5", "-+5",
        ] {
            assert_eq!(
                Markup::parse_percent(input),
                Err(MarkupError::Malformed),
                "{input}"
            );
        }
        assert_eq!(Markup::parse_percent("1.234"), Err(MarkupError::TooPrecise));
        assert_eq!(Markup(-250).to_string(), "\u{2212}2.50\u{a0}%");
    }

    #[test]
    fn the_band_takes_its_ends_and_refuses_beyond() {
        let band = MarkupBand::default();
        assert_eq!(band.check(Markup(-2_000)), Ok(Markup(-2_000)));
        assert_eq!(band.check(Markup(500)), Ok(Markup(500)));
        for outside in [-2_001, 501] {
            assert_eq!(
                band.check(Markup(outside)),
                Err(MarkupError::OutsideBand {
                    min: Markup(-2_000),
                    max: Markup(500)
                })
            );
        }
    }

    #[test]
    fn prices_round_once_half_up() {
        assert_eq!(price(rub(10_000), Markup(500)), Ok(rub(10_500)));
        assert_eq!(price(rub(10_000), Markup(-2_000)), Ok(rub(8_000)));
        // 333.33 × 1.015 = 338.329 95 → 338.33; 0.50 kopecks up.
        assert_eq!(price(kopecks(33_333), Markup(150)), Ok(kopecks(33_833)));
        assert_eq!(price(kopecks(50), Markup(100)), Ok(kopecks(51)));
    }

    #[test]
    fn what_may_be_listed() {
        let min = rub(1_000);
        let stake = Stake {
            status: InvestmentStatus::Active,
            overdue: false,
            outstanding: rub(5_000),
        };
        let cases: Vec<(&str, Stake, Money, Result<Money, ListingProblem>)> = vec![
            ("all of it", stake, rub(5_000), Ok(rub(5_000))),
            ("part, leaving a ticket", stake, rub(4_000), Ok(rub(4_000))),
            (
                "a small remainder, sold whole",
                Stake {
                    outstanding: rub(600),
                    ..stake
                },
                rub(600),
                Ok(rub(600)),
            ),
            (
                "part of a small remainder",
                Stake {
                    outstanding: rub(600),
                    ..stake
                },
                rub(300),
                Err(ListingProblem::BelowMinimum { min }),
            ),
            (
                "below the minimum",
                stake,
                rub(999),
                Err(ListingProblem::BelowMinimum { min }),
            ),
            (
                "leaving too little",
                stake,
                rub(4_500),
                Err(ListingProblem::LeavesTooLittle {
                    min,
                    outstanding: rub(5_000),
                }),
            ),
            (
                "more than held",
                stake,
                rub(5_001),
                Err(ListingProblem::MoreThanHeld {
                    outstanding: rub(5_000),
                }),
            ),
            ("zero", stake, rub(0), Err(ListingProblem::NotPositive)),
            (
                "overdue",
                Stake {
                    overdue: true,
                    ..stake
                },
                rub(5_000),
                Err(ListingProblem::Overdue),
            ),
            (
                "not active",
                Stake {
                    status: InvestmentStatus::Repaid,
                    ..stake
                },
                rub(5_000),
                Err(ListingProblem::NotActive),
            ),
        ];
        for (name, stake, principal, expected) in cases {
            assert_eq!(
                check_listing(stake, principal, Markup(-1_000), min).map(|t| t.principal),
                expected,
                "{name}"
            );
        }
        let terms = check_listing(stake, rub(4_000), Markup(-1_000), min).unwrap();
        assert_eq!(terms.price, rub(3_600));
    }

    #[test]
    fn the_seller_keeps_the_price_less_the_fee() {
        let fee = Rate::from_bps(100).unwrap();
        assert_eq!(proceeds(rub(3_600), fee), Ok((rub(3_564), rub(36))));
    }

    #[test]
    fn buying_at_a_discount_yields_more_than_the_loan_s_rate() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let flows: Vec<(NaiveDate, Money)> = (1..=12)
            .map(|m| (today + chrono::Months::new(m), kopecks(90_258)))
            .collect();
        // 12 × 902.58 repays 10 000 at about 15 % a year.
        let Xirr::Rate(at_par) = yield_to_maturity(rub(10_000), today, &flows) else {
            panic!("a rate")
        };
        let Xirr::Rate(discounted) = yield_to_maturity(rub(9_000), today, &flows) else {
            panic!("a rate")
        };
        assert!(
            at_par > Decimal::new(15, 2) && at_par < Decimal::new(17, 2),
            "{at_par}"
        );
        assert!(discounted > at_par + Decimal::new(15, 2), "{discounted}");
    }

    #[test]
    fn fair_value_takes_the_grade_s_expected_loss() {
        assert_eq!(
            fair_value(rub(10_000), rub(100), Grade::A),
            Ok(kopecks(1_004_950))
        );
        assert_eq!(fair_value(rub(10_000), rub(0), Grade::F), Ok(rub(8_800)));
    }

    #[test]
    fn listings_at_one_price_are_served_in_the_order_they_came() {
        let at = |minute| Utc.with_ymd_and_hms(2026, 1, 1, 9, minute, 0).unwrap();
        let queue = [
            Queued {
                key: 1,
                markup: Markup(0),
                listed_at: at(5),
            },
            Queued {
                key: 2,
                markup: Markup(0),
                listed_at: at(1),
            },
            Queued {
                key: 3,
                markup: Markup(-100),
                listed_at: at(0),
            },
            Queued {
                key: 4,
                markup: Markup(0),
                listed_at: at(5),
            },
        ];
        assert_eq!(place_in_queue(&queue, 2), Some(1));
        assert_eq!(place_in_queue(&queue, 1), Some(2));
        assert_eq!(place_in_queue(&queue, 4), Some(3));
        assert_eq!(place_in_queue(&queue, 3), Some(1));
        assert_eq!(place_in_queue(&queue, 9), None);
    }

    proptest! {
        /// The seller's part and the fee add up to the price, and a markup
        /// of zero sells at exactly the principal.
        #[test]
        fn nothing_is_created_or_lost_in_a_sale(
            principal in 1i64..10_000_000_000,
            markup in -2_000i32..=500,
            fee in 0u32..=1_000,
        ) {
            let principal = kopecks(principal);
            let paid = price(principal, Markup(markup)).unwrap();
            let (kept, charged) = proceeds(paid, Rate::from_bps(fee).unwrap()).unwrap();
            prop_assert_eq!(kept.minor() + charged.minor(), paid.minor());
            prop_assert!(charged.minor() >= 0 && kept.minor() >= 0);
            prop_assert_eq!(price(principal, Markup::ZERO).unwrap(), principal);
            let exact = i128::from(principal.minor()) * i128::from(10_000 + markup);
            let error = i128::from(paid.minor()) * 10_000 - exact;
            prop_assert!((-5_000..5_000).contains(&error) || error == 5_000);
        }
    }

    #[test]
    fn a_buyer_expects_their_share_of_each_unpaid_installment_and_the_interest_accrued() {
        use crate::domain::{
            ids::{InstallmentId, LoanId},
            installment::{Installment, InstallmentStatus},
        };
        let rub = |r: i64| Money::from_minor(r, Currency::Rub).unwrap();
        let day = |m: u32, d: u32| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        let installment = |n: u32, due, principal, interest, status| Installment {
            id: InstallmentId::new(),
            loan_id: LoanId::new(),
            number: n,
            due_date: due,
            principal: rub(principal),
            interest: rub(interest),
            paid_principal: rub(if status == InstallmentStatus::Paid {
                principal
            } else {
                0
            }),
            paid_interest: rub(if status == InstallmentStatus::Paid {
                interest
            } else {
                0
            }),
            penalty_accrued: rub(0),
            penalty_paid: rub(0),
            status,
            paid_at: None,
        };
        let schedule = [
            installment(1, day(1, 31), 10_000, 3_000, InstallmentStatus::Paid),
            installment(2, day(3, 3), 10_000, 2_000, InstallmentStatus::Scheduled),
            installment(3, day(3, 31), 10_000, 1_000, InstallmentStatus::Scheduled),
        ];
        // A quarter of the 20 000 still unpaid, 15 of the period's 31 days in.
        let (flows, accrued) = buyer_view(rub(5_000), &schedule, day(2, 15));
        assert_eq!(
            flows,
            vec![(day(3, 3), rub(3_000)), (day(3, 31), rub(2_750))]
        );
        assert_eq!(accrued, rub(242));
        // Nothing unpaid: nothing to expect.
        let paid = [installment(
            1,
            day(1, 31),
            10_000,
            3_000,
            InstallmentStatus::Paid,
        )];
        assert_eq!(
            buyer_view(rub(5_000), &paid, day(2, 15)),
            (Vec::new(), rub(0))
        );
    }
}
