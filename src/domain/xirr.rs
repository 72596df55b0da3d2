//! The annualised internal rate of return of dated cash flows (XIRR), as an
//! investor's dashboard shows it: the rate r at which
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

/// Rates are found to this tolerance.
const TOLERANCE: Decimal = Decimal::from_parts(1, 0, 0, false, 10);
const LOWEST: Decimal = Decimal::from_parts(9999, 0, 0, true, 4);

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
    let timed: Vec<(Decimal, Decimal)> = flows
        .iter()
        .map(|(date, cf)| {
            (
                Decimal::from((*date - first).num_days()) / Decimal::from(365),
                *cf,
            )
        })
        .collect();
    newton(&timed)
        .or_else(|| bisect(&timed))
        .map_or(Xirr::NoSolution, Xirr::Rate)
}

/// Present value and its derivative at `rate`; `None` outside the domain or on overflow.
fn npv_and_slope(flows: &[(Decimal, Decimal)], rate: Decimal) -> Option<(Decimal, Decimal)> {
    let log_growth = (Decimal::ONE + rate).checked_ln()?;
    let mut npv = Decimal::ZERO;
    let mut slope = Decimal::ZERO;
    for (years, cf) in flows {
        let discount = (-*years * log_growth).checked_exp()?;
        npv = npv.checked_add(cf.checked_mul(discount)?)?;
        let term = cf
            .checked_mul(*years)?
            .checked_mul(discount)?
            .checked_div(Decimal::ONE + rate)?;
        slope = slope.checked_sub(term)?;
    }
    Some((npv, slope))
}

fn newton(flows: &[(Decimal, Decimal)]) -> Option<Decimal> {
    let mut rate = Decimal::new(1, 1);
    for _ in 0..60 {
        let (npv, slope) = npv_and_slope(flows, rate)?;
        if slope.is_zero() {
            return None;
        }
        let step = npv.checked_div(slope)?;
        rate -= step;
        if rate <= LOWEST {
            return None;
        }
        if step.abs() < TOLERANCE {
            return Some(rate.round_dp(8));
        }
    }
    None
}

fn bisect(flows: &[(Decimal, Decimal)]) -> Option<Decimal> {
    let npv = |rate: Decimal| npv_and_slope(flows, rate).map(|(value, _)| value);
    let candidates = [
        LOWEST,
        Decimal::new(-9, 1),
        Decimal::new(-5, 1),
        Decimal::ZERO,
        Decimal::new(5, 1),
        Decimal::ONE,
        Decimal::from(5),
        Decimal::from(50),
        Decimal::from(10_000),
    ];
    let (mut low, mut high) = candidates.windows(2).find_map(|pair| {
        let (a, b) = (npv(pair[0])?, npv(pair[1])?);
        (a.is_sign_negative() != b.is_sign_negative() || a.is_zero()).then_some((pair[0], pair[1]))
    })?;
    let low_sign = npv(low)?.is_sign_negative();
    for _ in 0..200 {
        let middle = (low + high) / Decimal::TWO;
        if high - low < TOLERANCE {
            return Some(middle.round_dp(8));
        }
        if npv(middle)?.is_sign_negative() == low_sign {
            low = middle;
        } else {
            high = middle;
        }
    }
    Some(((low + high) / Decimal::TWO).round_dp(8))
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
    }
}
