//! Interest and penalties that grow by the day.
//!
//! - Interest accrued to a day (for early payoff): the installment period's
//!   interest, `balance · r` (r = annual / 12, as in the schedule), in
//!   proportion to the days elapsed in that period. On the due date it equals
//!   the scheduled interest, so paying off early never costs more than
//!   waiting for the due date.
//! - Penalty interest: a daily rate (0.1 % by default) on the overdue amount,
//!   for each full day after the due date.
//!
//! Each result is the exact rational value (in integers: minor units × basis
//! points × days / …) rounded half-up to the cent once, at the end.

use chrono::NaiveDate;

use crate::domain::money::{BPS_PER_WHOLE, Money, MoneyError, Rate};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccrualError {
    #[error("The period must end after it starts.")]
    EmptyPeriod,
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// Interest on `balance` from `period_start` to `as_of` (clamped to the
/// period), where the period ends at `period_end`, the next due date.
///
/// # Errors
/// `EmptyPeriod` when `period_end` is not after `period_start`.
pub fn interest_to_day(
    balance: Money,
    rate: Rate,
    period_start: NaiveDate,
    period_end: NaiveDate,
    as_of: NaiveDate,
) -> Result<Money, AccrualError> {
    let period_days = u32::try_from((period_end - period_start).num_days())
        .ok()
        .filter(|days| *days > 0)
        .ok_or(AccrualError::EmptyPeriod)?;
    let elapsed = days_between(period_start, as_of.min(period_end));
    Ok(rate.monthly_interest_part(balance, elapsed, period_days)?)
}

/// Penalty interest on `overdue` at `daily_bps` (10 = 0.1 % a day) for `days` days.
///
/// # Errors
/// `TooLarge` if the penalty leaves the allowed range.
pub fn penalty(overdue: Money, daily_bps: u32, days: u32) -> Result<Money, AccrualError> {
    Ok(overdue.mul_ratio(i128::from(daily_bps) * i128::from(days), BPS_PER_WHOLE)?)
}

/// Full days an installment due on `due_date` is overdue on `as_of` (penalty
/// starts the day after the due date).
#[must_use]
pub fn days_overdue(due_date: NaiveDate, as_of: NaiveDate) -> u32 {
    days_between(due_date, as_of)
}

/// Whole days from `from` to `to`; none when `to` is not after `from`.
fn days_between(from: NaiveDate, to: NaiveDate) -> u32 {
    u32::try_from((to - from).num_days().max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::domain::money::Currency;

    fn rub(text: &str) -> Money {
        Money::parse(text, Currency::Rub).unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::from_str(text).unwrap()
    }

    #[test]
    fn interest_grows_with_the_days_and_equals_the_schedule_on_the_due_date() {
        let rate = Rate::parse_percent("12").unwrap();
        let (start, end) = (day("2026-01-15"), day("2026-02-15"));
        let at = |d: &str| {
            interest_to_day(rub("10000"), rate, start, end, day(d))
                .unwrap()
                .minor()
        };
        assert_eq!(at("2026-01-15"), 0);
        assert_eq!(at("2026-01-30"), 4839, "100.00 × 15/31 = 48.387 → 48.39");
        assert_eq!(at("2026-02-15"), 10_000, "a whole month: 10 000 × 1 %");
        assert_eq!(
            at("2026-03-01"),
            10_000,
            "never more than the period's interest"
        );
        assert_eq!(
            interest_to_day(rub("1"), rate, end, start, end),
            Err(AccrualError::EmptyPeriod)
        );
    }

    #[test]
    fn penalties_accrue_daily_after_the_due_date() {
        assert_eq!(days_overdue(day("2026-03-10"), day("2026-03-10")), 0);
        assert_eq!(days_overdue(day("2026-03-10"), day("2026-03-13")), 3);
        assert_eq!(days_overdue(day("2026-03-10"), day("2026-03-01")), 0);
        // 0.1 % a day on 8 701.70 for three days: 26.1051 → 26.11.
        assert_eq!(penalty(rub("8701,70"), 10, 3).unwrap().minor(), 2611);
        assert_eq!(penalty(rub("8701,70"), 10, 0).unwrap().minor(), 0);
        // 0.1 % a day on 5 005.00 for one day is exactly 5.005: half a kopeck up.
        assert_eq!(penalty(rub("5005"), 10, 1).unwrap().minor(), 501);
    }

    #[test]
    fn interest_to_a_day_of_exactly_half_a_kopeck_rounds_up() {
        // 100 050.00 at 18.52 %: a whole month is 1 544.105 exactly, and the
        // last day of a 31-day period is that whole month.
        let rate = Rate::parse_percent("18.52").unwrap();
        let (start, end) = (day("2026-03-15"), day("2026-04-15"));
        let interest = interest_to_day(rub("100050"), rate, start, end, end).unwrap();
        assert_eq!(interest.minor(), 154_411);
        // Two of four days of 2 000.40 at 12 %: 10.002 (not a midpoint), and
        // of 2 001.00: 10.005, which rounds up.
        let rate = Rate::parse_percent("12").unwrap();
        let (start, end) = (day("2026-01-01"), day("2026-01-05"));
        let half = day("2026-01-03");
        assert_eq!(
            interest_to_day(rub("2000,40"), rate, start, end, half)
                .unwrap()
                .minor(),
            1000
        );
        assert_eq!(
            interest_to_day(rub("2001"), rate, start, end, half)
                .unwrap()
                .minor(),
            1001
        );
    }
}
