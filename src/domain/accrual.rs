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

use chrono::{Days, NaiveDate};

use crate::domain::{
    installment::{Installment, InstallmentStatus},
    money::{BPS_PER_WHOLE, Money, MoneyError, Rate},
    repayment::overdue_base,
};

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

/// How late payment is charged (the platform's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PenaltyTerms {
    /// Penalty interest per day on what is unpaid.
    pub daily: Rate,
    /// The most penalty interest one installment accrues, as a share of its
    /// scheduled amount.
    pub cap: Rate,
    /// Charged once, the first day after the due date.
    pub late_fee: Money,
}

word_enum!(
    /// What a penalty accrual is; stored in `penalty_accruals.kind`.
    PenaltyKind {
        Daily => "daily", "Penalty interest";
        LateFee => "late_fee", "Late fee";
    }
);

/// What an installment accrued so far (its `penalty_accruals` rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PenaltyHistory {
    /// The last day penalty interest was accrued for.
    pub daily_through: Option<NaiveDate>,
    /// Penalty interest accrued so far (the late fee not included).
    pub daily_total: Money,
    pub late_fee_charged: bool,
}

impl PenaltyHistory {
    /// An installment never charged.
    #[must_use]
    pub fn none(currency: crate::domain::money::Currency) -> Self {
        Self {
            daily_through: None,
            daily_total: Money::zero(currency),
            late_fee_charged: false,
        }
    }
}

/// One day's penalty on one installment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PenaltyAccrual {
    pub on: NaiveDate,
    pub kind: PenaltyKind,
    /// What it was charged on (the unpaid principal and interest; for the
    /// late fee, the same for the record).
    pub base: Money,
    pub amount: Money,
}

/// The penalties an overdue installment has not yet accrued through
/// `today`: the late fee on the first day after the due date, then for each
/// day not yet accrued, the daily rate on what is unpaid, until the cap.
/// Nothing for an installment that is not overdue. Accruing before every
/// payment (and daily) keeps the base of each day the amount unpaid that
/// day.
///
/// # Errors
/// `TooLarge` beyond what [`Money`] holds.
pub fn penalties_due(
    row: &Installment,
    history: &PenaltyHistory,
    terms: &PenaltyTerms,
    today: NaiveDate,
) -> Result<Vec<PenaltyAccrual>, MoneyError> {
    let mut due = Vec::new();
    let Some(first_day) = row.due_date.checked_add_days(Days::new(1)) else {
        return Ok(due);
    };
    if row.status != InstallmentStatus::Overdue || today < first_day {
        return Ok(due);
    }
    let base = overdue_base(row)?;
    if !base.is_positive() {
        return Ok(due);
    }
    if !history.late_fee_charged && terms.late_fee.is_positive() {
        due.push(PenaltyAccrual {
            on: first_day,
            kind: PenaltyKind::LateFee,
            base,
            amount: terms.late_fee,
        });
    }
    let cap = row
        .total()?
        .mul_ratio(i128::from(terms.cap.bps()), BPS_PER_WHOLE)?;
    let mut room = cap.checked_sub(history.daily_total)?;
    let mut day = history
        .daily_through
        .and_then(|d| d.checked_add_days(Days::new(1)))
        .map_or(first_day, |next| next.max(first_day));
    let daily = base.mul_ratio(i128::from(terms.daily.bps()), BPS_PER_WHOLE)?;
    while day <= today && room.is_positive() && daily.is_positive() {
        let amount = if daily.minor() < room.minor() {
            daily
        } else {
            room
        };
        due.push(PenaltyAccrual {
            on: day,
            kind: PenaltyKind::Daily,
            base,
            amount,
        });
        room = room.checked_sub(amount)?;
        let Some(next) = day.checked_add_days(Days::new(1)) else {
            break;
        };
        day = next;
    }
    Ok(due)
}

word_enum!(
    /// How late a loan is, as the back office groups loans in arrears.
    ArrearsBucket {
        UpTo15 => "1-15", "1 to 15 days";
        UpTo30 => "16-30", "16 to 30 days";
        UpTo60 => "31-60", "31 to 60 days";
        UpTo90 => "61-90", "61 to 90 days";
        Over90 => "90+", "More than 90 days";
    }
);

impl ArrearsBucket {
    /// The bucket of a loan whose oldest unpaid installment is `days` late
    /// (at least one).
    #[must_use]
    pub fn of(days: u32) -> Self {
        match days {
            0..=15 => Self::UpTo15,
            16..=30 => Self::UpTo30,
            31..=60 => Self::UpTo60,
            61..=90 => Self::UpTo90,
            _ => Self::Over90,
        }
    }
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
    fn arrears_are_grouped_by_days_late() {
        let buckets: Vec<&str> = [1, 15, 16, 30, 31, 60, 61, 90, 91, 400]
            .into_iter()
            .map(|days| ArrearsBucket::of(days).as_str())
            .collect();
        assert_eq!(
            buckets,
            [
                "1-15", "1-15", "16-30", "16-30", "31-60", "31-60", "61-90", "61-90", "90+", "90+"
            ]
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

    fn overdue(principal: &str, interest: &str, due: &str) -> Installment {
        Installment {
            id: crate::domain::ids::InstallmentId::new(),
            loan_id: crate::domain::ids::LoanId::new(),
            number: 1,
            due_date: day(due),
            principal: rub(principal),
            interest: rub(interest),
            paid_principal: rub("0"),
            paid_interest: rub("0"),
            penalty_accrued: rub("0"),
            penalty_paid: rub("0"),
            status: InstallmentStatus::Overdue,
            paid_at: None,
        }
    }

    fn terms() -> PenaltyTerms {
        PenaltyTerms {
            daily: Rate::from_bps(10).unwrap(),
            cap: Rate::from_bps(100).unwrap(),
            late_fee: rub("300"),
        }
    }

    fn nothing_yet() -> PenaltyHistory {
        PenaltyHistory::none(Currency::Rub)
    }

    #[test]
    fn an_overdue_installment_accrues_the_late_fee_once_then_each_day_until_the_cap() {
        let row = overdue("9000", "1005", "2026-03-10");
        assert!(
            penalties_due(&row, &nothing_yet(), &terms(), day("2026-03-10"))
                .unwrap()
                .is_empty(),
            "nothing on the due date itself"
        );
        let three_days = penalties_due(&row, &nothing_yet(), &terms(), day("2026-03-13")).unwrap();
        let kinds: Vec<(String, PenaltyKind, i64)> = three_days
            .iter()
            .map(|a| (a.on.to_string(), a.kind, a.amount.minor()))
            .collect();
        // 0.1 % of 10 005.00 is 10.005: half a kopeck, up.
        assert_eq!(
            kinds,
            [
                ("2026-03-11".to_owned(), PenaltyKind::LateFee, 30_000),
                ("2026-03-11".to_owned(), PenaltyKind::Daily, 1_001),
                ("2026-03-12".to_owned(), PenaltyKind::Daily, 1_001),
                ("2026-03-13".to_owned(), PenaltyKind::Daily, 1_001),
            ]
        );
        let after = PenaltyHistory {
            daily_through: Some(day("2026-03-13")),
            daily_total: rub("30,03"),
            late_fee_charged: true,
        };
        assert!(
            penalties_due(&row, &after, &terms(), day("2026-03-13"))
                .unwrap()
                .is_empty(),
            "a second run the same day accrues nothing"
        );
        // The cap is 1 % of 10 005.00 = 100.05: ten days of 10.01 would be
        // 100.10, so the tenth day takes only what is left.
        let long = penalties_due(&row, &after, &terms(), day("2026-04-30")).unwrap();
        let total: i64 = long.iter().map(|a| a.amount.minor()).sum();
        assert_eq!(total + 3_003, 10_005);
        assert_eq!(long.len(), 7);
        assert_eq!(
            long.last().unwrap().amount.minor(),
            10_005 - 3_003 - 6 * 1_001
        );
    }

    #[test]
    fn only_overdue_installments_accrue_and_on_what_is_still_unpaid() {
        let mut row = overdue("9000", "1000", "2026-03-10");
        row.paid_interest = rub("1000");
        row.paid_principal = rub("4000");
        let one = penalties_due(&row, &nothing_yet(), &terms(), day("2026-03-11")).unwrap();
        assert_eq!(one[1].base.minor(), 500_000);
        assert_eq!(one[1].amount.minor(), 500);
        row.status = InstallmentStatus::Due;
        assert!(
            penalties_due(&row, &nothing_yet(), &terms(), day("2026-03-20"))
                .unwrap()
                .is_empty()
        );
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
