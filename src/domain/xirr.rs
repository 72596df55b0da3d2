//! The annualised internal rate of return of dated cash flows (XIRR), as the
//! secondary market shows a buyer's yield: the rate r at which
//! Σ cf_i / (1 + r)^(days_i / 365) = 0.
//!
//! Newton's method from 10 %, and when it fails (a flat derivative, a step
//! out of the domain, no convergence) bisection over a bracket where the
//! present value changes sign. When no rate exists (flows all of one sign,
//! or no sign change anywhere) the answer says so: never a NaN.
//!
//! The search runs in `f64`: the rate is a figure shown to a hundredth of a
//! percent, not money, and `Decimal`'s `exp` made one listing's yield cost
//! a quarter of a millisecond (a page of twenty spent more on yields than on
//! its queries). The answer is rounded to 8 places and handed back as a
//! `Decimal`, so callers never see a float.

use chrono::NaiveDate;
use rust_decimal::{Decimal, prelude::ToPrimitive};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Xirr {
    /// The annual rate as a fraction (0.125 = 12.5 %).
    Rate(Decimal),
    /// Money only went one way: nothing earned yet to measure.
    NeedsInflowAndOutflow,
    /// No rate between -99.99 % and 1 000 000 % makes the flows balance.
    NoSolution,
}

/// Rates are found to this tolerance.
const TOLERANCE: f64 = 1e-10;
const LOWEST: f64 = -0.9999;
/// Beyond this the present value only creeps towards the first day's flows,
/// and Newton's method would take the creep for a root.
const HIGHEST: f64 = 10_000.0;
const DAYS_A_YEAR: f64 = 365.0;

/// The XIRR of `flows` (date, amount; negative = paid out, positive = received).
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
    let timed: Option<Vec<(f64, f64)>> = flows
        .iter()
        .map(|(date, cf)| {
            let days = i32::try_from((*date - first).num_days()).ok()?;
            Some((f64::from(days) / DAYS_A_YEAR, cf.to_f64()?))
        })
        .collect();
    timed
        .and_then(|timed| newton(&timed).or_else(|| bisect(&timed)))
        .and_then(Decimal::from_f64_retain)
        .map_or(Xirr::NoSolution, |rate| Xirr::Rate(rate.round_dp(8)))
}

/// Present value and its derivative at `rate`; `None` outside the domain or
/// where the figures overflow.
fn npv_and_slope(flows: &[(f64, f64)], rate: f64) -> Option<(f64, f64)> {
    if rate <= -1.0 {
        return None;
    }
    let log_growth = rate.ln_1p();
    let (mut npv, mut slope) = (0.0, 0.0);
    for (years, cf) in flows {
        let discount = (-years * log_growth).exp();
        npv += cf * discount;
        slope -= cf * years * discount / (1.0 + rate);
    }
    (npv.is_finite() && slope.is_finite()).then_some((npv, slope))
}

fn newton(flows: &[(f64, f64)]) -> Option<f64> {
    let mut rate = 0.1;
    for _ in 0..60 {
        let (npv, slope) = npv_and_slope(flows, rate)?;
        if slope == 0.0 {
            return None;
        }
        let step = npv / slope;
        rate -= step;
        if !rate.is_finite() || rate <= LOWEST || rate > HIGHEST {
            return None;
        }
        if step.abs() < TOLERANCE {
            return Some(rate);
        }
    }
    None
}

fn bisect(flows: &[(f64, f64)]) -> Option<f64> {
    let npv = |rate: f64| npv_and_slope(flows, rate).map(|(value, _)| value);
    let candidates = [LOWEST, -0.9, -0.5, 0.0, 0.5, 1.0, 5.0, 50.0, HIGHEST];
    let (mut low, mut high) = candidates.windows(2).find_map(|pair| {
        let (a, b) = (npv(pair[0])?, npv(pair[1])?);
        (a.is_sign_negative() != b.is_sign_negative() || a == 0.0).then_some((pair[0], pair[1]))
    })?;
    let low_sign = npv(low)?.is_sign_negative();
    for _ in 0..200 {
        let middle = (low + high) / 2.0;
        if high - low < TOLERANCE {
            return Some(middle);
        }
        if npv(middle)?.is_sign_negative() == low_sign {
            low = middle;
        } else {
            high = middle;
        }
    }
    Some((low + high) / 2.0)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;
    use rust_decimal::MathematicalOps;

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
                let npv = |rate: f64| -> f64 {
                    dated
                        .iter()
                        .map(|(date, cf)| {
                            let days = i32::try_from((*date - start).num_days()).unwrap();
                            let years = f64::from(days) / 365.0;
                            cf.to_f64().unwrap() * (1.0 + rate).powf(-years)
                        })
                        .sum()
                };
                let rate = rate.to_f64().unwrap();
                let (below, above) = (npv(rate - 1e-6), npv(rate + 1e-6));
                prop_assert!(
                    below == 0.0
                        || above == 0.0
                        || below.is_sign_negative() != above.is_sign_negative(),
                    "{rate}: {below} .. {above}"
                );
            }
        }
    }
}
