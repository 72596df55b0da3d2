//! The annualised internal rate of return of dated cash flows (XIRR), as the
//! secondary market shows a buyer's yield: the rate r at which
//! Σ cf_i / (1 + r)^(days_i / 365) = 0.
//!
//! Newton's method from 10 %, and when it fails (a flat derivative, a step
//! out of the domain, no convergence) bisection over a bracket where the
//! present value changes sign. When no rate exists (flows all of one sign,
//! or no sign change anywhere) the answer says so: never a NaN.

use chrono::NaiveDate;
use rust_decimal::{Decimal, MathematicalOps};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Xirr {
    /// The annual rate as a fraction (0.125 = 12.5 %).
    Rate(Decimal),
    /// Money only went one way: nothing earned yet to measure.
    NeedsInflowAndOutflow,
    /// No rate between -99.99 % and 1 000 000 % makes the flows balance.
    NoSolution,
}

const LOWEST: Decimal = Decimal::from_parts(9999, 0, 0, true, 4);
/// Beyond this the present value only creeps towards the first day's flows,
/// and Newton's method would take the creep for a root.
const HIGHEST: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);
const DAYS_A_YEAR: u64 = 365;
/// The day's discount is found to this tolerance: a rate to about 1e-10.
const TOLERANCE: Decimal = Decimal::from_parts(1, 0, 0, false, 16);
/// Where Newton's method starts: about the day's discount at 10 % a year.
const START: Decimal = Decimal::from_parts(99_973_891, 0, 0, false, 8);

/// The XIRR of `flows` (date, amount; negative = paid out, positive = received).
///
/// The search is for the discount of one day, v = (1 + r)^(-1/365): the
/// present value is then the polynomial Σ cf_i · v^days_i, whole powers
/// worked out by multiplication. Searching for r itself took an `exp` per
/// flow per step, and a page of twenty yields spent more on them than on its
/// queries.
#[must_use]
pub fn xirr(flows: &[(NaiveDate, Decimal)]) -> Xirr {
    let has_in = flows
        .iter()
        .any(|(_, cf)| cf.is_sign_positive() && !cf.is_zero());
    let has_out = flows
        .iter()
        .any(|(_, cf)| cf.is_sign_negative() && !cf.is_zero());
    if !(has_in && has_out) {
        return Xirr::NeedsInflowAndOutflow;
    }
    let Some(first) = flows.iter().map(|(date, _)| *date).min() else {
        return Xirr::NeedsInflowAndOutflow;
    };
    let mut dated: Vec<(u64, Decimal)> = flows
        .iter()
        .map(|(date, cf)| ((*date - first).num_days().unsigned_abs(), *cf))
        .collect();
    dated.sort_unstable_by_key(|(days, _)| *days);
    let rate =
        |discount: Decimal| annual_rate(discount).filter(|rate| (LOWEST..=HIGHEST).contains(rate));
    newton(&dated)
        .and_then(rate)
        .or_else(|| bisect(&dated).and_then(rate))
        .map_or(Xirr::NoSolution, |rate| Xirr::Rate(rate.round_dp(8)))
}

/// The rate a year whose discount of one day is `discount`.
fn annual_rate(discount: Decimal) -> Option<Decimal> {
    Decimal::ONE
        .checked_div(discount.checked_powu(DAYS_A_YEAR)?)?
        .checked_sub(Decimal::ONE)
}

/// The discount of one day at `rate` a year.
fn daily_discount(rate: Decimal) -> Option<Decimal> {
    let log_growth = Decimal::ONE.checked_add(rate)?.checked_ln()?;
    (-log_growth.checked_div(Decimal::from(DAYS_A_YEAR))?).checked_exp()
}

/// Present value of flows `days` after the first (sorted by days) at the
/// discount of one day `v`, and its derivative by `v`; `None` on overflow.
fn npv_and_slope(flows: &[(u64, Decimal)], v: Decimal) -> Option<(Decimal, Decimal)> {
    let mut npv = Decimal::ZERO;
    // Σ cf · days · v^days; the derivative is this over v.
    let mut weighted = Decimal::ZERO;
    let (mut power, mut at) = (Decimal::ONE, 0);
    // Installments are a month apart: a handful of distinct gaps.
    let mut gaps: Vec<(u64, Decimal)> = Vec::with_capacity(4);
    for (days, cf) in flows {
        let gap = days - at;
        let step = match gaps.iter().find(|(g, _)| *g == gap) {
            Some((_, step)) => *step,
            None => {
                let step = v.checked_powu(gap)?;
                gaps.push((gap, step));
                step
            }
        };
        power = power.checked_mul(step)?;
        at = *days;
        let value = cf.checked_mul(power)?;
        npv = npv.checked_add(value)?;
        weighted = weighted.checked_add(value.checked_mul(Decimal::from(*days))?)?;
    }
    Some((npv, weighted.checked_div(v)?))
}

fn newton(flows: &[(u64, Decimal)]) -> Option<Decimal> {
    let mut v = START;
    for _ in 0..60 {
        let (npv, slope) = npv_and_slope(flows, v)?;
        if slope.is_zero() {
            return None;
        }
        let step = npv.checked_div(slope)?;
        v = v.checked_sub(step)?;
        if !v.is_sign_positive() || v.is_zero() {
            return None;
        }
        if step.abs() < TOLERANCE {
            return Some(v);
        }
    }
    None
}

/// Bisection between the days' discounts of rates where the present value
/// changes sign (a higher rate, a smaller discount).
fn bisect(flows: &[(u64, Decimal)]) -> Option<Decimal> {
    let npv = |v: Decimal| npv_and_slope(flows, v).map(|(value, _)| value);
    let candidates = [
        LOWEST,
        Decimal::new(-9, 1),
        Decimal::new(-5, 1),
        Decimal::ZERO,
        Decimal::new(5, 1),
        Decimal::ONE,
        Decimal::from(5),
        Decimal::from(50),
        HIGHEST,
    ]
    .map(daily_discount);
    let (mut low, mut high) = candidates.windows(2).find_map(|pair| {
        let (high, low) = (pair[0]?, pair[1]?);
        let (a, b) = (npv(high)?, npv(low)?);
        (a.is_sign_negative() != b.is_sign_negative() || a.is_zero()).then_some((low, high))
    })?;
    let low_sign = npv(low)?.is_sign_negative();
    for _ in 0..200 {
        let middle = (low + high) / Decimal::TWO;
        if high - low < TOLERANCE {
            return Some(middle);
        }
        if npv(middle)?.is_sign_negative() == low_sign {
            low = middle;
        } else {
            high = middle;
        }
    }
    Some((low + high) / Decimal::TWO)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;

    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::from_str(text).unwrap()
    }

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    const LOWEST_RATE: Decimal = Decimal::from_parts(9999, 0, 0, true, 4);

    fn close(rate: Xirr, expected: &str) -> bool {
        matches!(rate, Xirr::Rate(r) if (r - d(expected)).abs() < d("0.000001"))
    }

    #[test]
    fn a_year_at_ten_percent_is_ten_percent() {
        let flows = [
            (day("2025-01-01"), d("-1000")),
            (day("2026-01-01"), d("1100")),
        ];
        assert!(close(xirr(&flows), "0.1"));
    }

    #[test]
    fn a_loss_is_a_negative_rate() {
        let flows = [
            (day("2025-01-01"), d("-1000")),
            (day("2026-01-01"), d("500")),
        ];
        assert!(close(xirr(&flows), "-0.5"));
    }

    #[test]
    fn flows_one_way_or_without_a_root_are_an_explicit_answer() {
        assert_eq!(xirr(&[]), Xirr::NeedsInflowAndOutflow);
        assert_eq!(
            xirr(&[(day("2025-01-01"), d("-1000"))]),
            Xirr::NeedsInflowAndOutflow
        );
        assert_eq!(
            xirr(&[(day("2025-01-01"), d("100")), (day("2026-01-01"), d("100"))]),
            Xirr::NeedsInflowAndOutflow
        );
        // Receiving first and paying back more, at the same moment: no rate balances it.
        assert_eq!(
            xirr(&[
                (day("2025-01-01"), d("100")),
                (day("2025-01-01"), d("-200"))
            ]),
            Xirr::NoSolution
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn the_rate_a_cash_flow_was_built_from_is_found_again(
            bps in -5_000_i64..=20_000,
            receipts in prop::collection::vec((1_i64..=3_650, 1_i64..=1_000_000), 1..8),
        ) {
            let rate = Decimal::new(bps, 4);
            let start = day("2024-01-01");
            let log_growth = (Decimal::ONE + rate).ln();
            let mut flows = Vec::new();
            let mut invested = Decimal::ZERO;
            for (days, cents) in receipts {
                let amount = Decimal::new(cents, 2);
                let years = Decimal::from(days) / Decimal::from(365);
                invested += amount * (-years * log_growth).exp();
                flows.push((start + chrono::Days::new(days.unsigned_abs()), amount));
            }
            flows.push((start, -invested));
            match xirr(&flows) {
                Xirr::Rate(found) => prop_assert!((found - rate).abs() < d("0.00001"), "{found} vs {rate}"),
                other => prop_assert!(false, "no rate found: {other:?}"),
            }
        }

        #[test]
        fn any_flows_get_a_rate_that_balances_them_or_an_explicit_answer(
            flows in prop::collection::vec(
                (0_i64..=20_000, -1_000_000_000_000_i64..=1_000_000_000_000),
                0..40,
            ),
        ) {
            let start = day("2020-01-01");
            let dated: Vec<(NaiveDate, Decimal)> = flows
                .iter()
                .map(|(days, cents)| {
                    (start + chrono::Days::new(days.unsigned_abs()), Decimal::new(*cents, 2))
                })
                .collect();
            if let Xirr::Rate(rate) = xirr(&dated) {
                // A root: the present value changes sign across it.
                prop_assert!(rate >= LOWEST_RATE, "{rate}");
                // The present value's sign, worked out apart from the solver
                // (an `exp` for each flow). Scaled by a positive factor so
                // that no flow's factor exceeds 1 and the nearest is 1: at
                // the first flow's day when money grows, carried to the last
                // flow's day when it shrinks. (From a fixed day before the
                // flows every factor could be so small that a decimal keeps
                // only a few of its digits, and the sum's sign is noise.)
                let days_of = || dated.iter().map(|(date, _)| (*date - start).num_days());
                let first = days_of().min().unwrap();
                let last = days_of().max().unwrap();
                let npv = |rate: Decimal| -> Decimal {
                    let log_growth = (Decimal::ONE + rate).ln();
                    dated
                        .iter()
                        .map(|(date, cf)| {
                            let days = (*date - start).num_days();
                            let days = if log_growth.is_sign_negative() {
                                last - days
                            } else {
                                first - days
                            };
                            // At most 1, so a failure is a factor too small to hold.
                            let factor = (Decimal::from(days) / Decimal::from(DAYS_A_YEAR) * log_growth)
                                .checked_exp()
                                .unwrap_or(Decimal::ZERO);
                            *cf * factor
                        })
                        .sum()
                };
                let nudge = d("0.000001");
                let (below, above) = (npv(rate - nudge), npv(rate + nudge));
                prop_assert!(
                    below.is_zero()
                        || above.is_zero()
                        || below.is_sign_negative() != above.is_sign_negative(),
                    "{rate}: {below} .. {above}"
                );
            }
        }
    }
}
