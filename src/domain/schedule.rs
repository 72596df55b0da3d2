//! Annuity repayment schedules (DESIGN.md section 6).
//!
//! Monthly rate r = annual / 12. Payment = P·r(1+r)^n / ((1+r)^n − 1),
//! rounded to the cent. Each month: interest = round(balance · r), principal
//! = payment − interest; the last installment takes whatever balance is left,
//! so the principals always sum to exactly P. A 0 % loan repays P/n (rounded)
//! a month. Installment k is due k months after the start date, clamped to
//! the end of shorter months and always counted from the start (a loan
//! started on 31 January is due 28 February, 31 March, 30 April).
//!
//! Every figure is the exact rational value rounded once, half-up: r is
//! bps / 120 000, so the interest is minor units × bps / 120 000 in integers,
//! and the payment is computed on whole numbers too (with r = b / 120 000,
//! P·r(1+r)^n / ((1+r)^n − 1) = P·b·(120 000 + b)^n / (120 000·((120 000 + b)^n
//! − 120 000^n)), whose powers outgrow 128 bits, hence big integers).

use chrono::{Months, NaiveDate};
use num_bigint::BigInt;

use crate::domain::money::{BPS_PER_WHOLE, Currency, Money, MoneyError, Rate, div_round_half_up};

/// The longest term the platform offers, in months.
pub const MAX_TERM_MONTHS: u32 = 360;

/// What a schedule is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoanTerms {
    pub principal: Money,
    pub rate: Rate,
    pub term_months: u32,
    pub start: NaiveDate,
}

/// One line of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Installment {
    pub number: u32,
    pub due_date: NaiveDate,
    pub principal: Money,
    pub interest: Money,
    pub balance_after: Money,
}

impl Installment {
    /// Principal plus interest.
    ///
    /// # Errors
    /// `TooLarge` when the sum is beyond what [`Money`] holds.
    pub fn total(&self) -> Result<Money, MoneyError> {
        self.principal.checked_add(self.interest)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The level monthly payment (the last one may differ by the rounding residue).
    pub payment: Money,
    pub installments: Vec<Installment>,
}

impl Schedule {
    /// The interest of all installments together.
    ///
    /// # Errors
    /// `TooLarge` when the sum is beyond what [`Money`] holds (a very large
    /// loan at a high rate over a long term).
    pub fn total_interest(&self) -> Result<Money, MoneyError> {
        self.installments
            .iter()
            .try_fold(Money::zero(self.payment.currency()), |sum, i| {
                sum.checked_add(i.interest)
            })
    }
}

impl Schedule {
    /// Everything the schedule pays back, principal and interest.
    ///
    /// # Errors
    /// `TooLarge` when the sum is beyond what [`Money`] holds.
    pub fn total_payments(&self) -> Result<Money, MoneyError> {
        self.installments
            .iter()
            .try_fold(Money::zero(self.payment.currency()), |sum, i| {
                sum.checked_add(i.total()?)
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("The amount must be more than zero.")]
    NonPositivePrincipal,
    #[error("The term must be between 1 and {MAX_TERM_MONTHS} months.")]
    TermOutOfRange,
    #[error("The repayment dates fall outside the calendar this platform supports.")]
    DateOutOfRange,
    #[error(
        "The monthly payment would be more than the platform can handle: choose a smaller amount, a lower rate or a longer term."
    )]
    PaymentTooLarge,
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// Computes the annuity schedule for `terms`.
///
/// # Errors
/// A [`ScheduleError`] for a non-positive amount, a term outside 1..=360
/// months, or dates beyond the calendar.
pub fn annuity(terms: &LoanTerms) -> Result<Schedule, ScheduleError> {
    let LoanTerms {
        principal,
        rate,
        term_months,
        start,
    } = *terms;
    if !principal.is_positive() {
        return Err(ScheduleError::NonPositivePrincipal);
    }
    if !(1..=MAX_TERM_MONTHS).contains(&term_months) {
        return Err(ScheduleError::TermOutOfRange);
    }
    let payment = level_payment(principal, rate, term_months)?;
    Ok(Schedule {
        payment,
        installments: remaining_installments(principal, rate, payment, 1, term_months, start)?,
    })
}

/// The level payment for `balance` over `months` at `rate`, the exact value
/// rounded once to the cent, half-up.
fn level_payment(balance: Money, rate: Rate, months: u32) -> Result<Money, ScheduleError> {
    let too_large = |_| ScheduleError::PaymentTooLarge;
    if rate.bps() == 0 {
        let minor = div_round_half_up(i128::from(balance.minor()), i128::from(months));
        return i64::try_from(minor)
            .map_err(|_| ScheduleError::PaymentTooLarge)
            .and_then(|minor| Money::from_minor(minor, balance.currency()).map_err(too_large));
    }
    let per_month = BigInt::from(BPS_PER_WHOLE * 12);
    let bps = BigInt::from(rate.bps());
    let grown = (&per_month + &bps).pow(months);
    let numerator = BigInt::from(balance.minor()) * bps * &grown;
    let denominator = &per_month * (grown - per_month.pow(months));
    // Half-up on a non-negative fraction: floor((2n + d) / 2d).
    let minor = (numerator * 2 + &denominator) / (denominator * 2);
    i64::try_from(minor)
        .map_err(|_| ScheduleError::PaymentTooLarge)
        .and_then(|minor| Money::from_minor(minor, balance.currency()).map_err(too_large))
}

/// Installments `first..=last` repaying `balance` with the level `payment`;
/// the last one takes what is left.
fn remaining_installments(
    balance: Money,
    rate: Rate,
    payment: Money,
    first: u32,
    last: u32,
    start: NaiveDate,
) -> Result<Vec<Installment>, ScheduleError> {
    let currency: Currency = balance.currency();
    let mut balance = balance;
    let mut installments = Vec::with_capacity((last + 1 - first) as usize);
    for number in first..=last {
        let interest = rate.monthly_interest(balance)?;
        let principal = if number == last {
            balance
        } else {
            let due = payment.minor().saturating_sub(interest.minor());
            Money::from_minor(due.clamp(0, balance.minor()), currency)?
        };
        balance = balance.checked_sub(principal)?;
        installments.push(Installment {
            number,
            due_date: due_date(start, number)?,
            principal,
            interest,
            balance_after: balance,
        });
    }
    Ok(installments)
}

/// Installment `number`'s due date: `number` months after `start`, clamped to month end.
///
/// # Errors
/// `DateOutOfRange` past the end of the supported calendar.
pub fn due_date(start: NaiveDate, number: u32) -> Result<NaiveDate, ScheduleError> {
    start
        .checked_add_months(Months::new(number))
        .ok_or(ScheduleError::DateOutOfRange)
}

/// After a prepayment: the installments from `next_number` to the original
/// last one, repaying `outstanding` with a lower level payment over the same
/// remaining term.
///
/// # Errors
/// As [`annuity`].
pub fn recompute_after_prepayment(
    terms: &LoanTerms,
    outstanding: Money,
    next_number: u32,
) -> Result<Schedule, ScheduleError> {
    if !(1..=terms.term_months).contains(&next_number) {
        return Err(ScheduleError::TermOutOfRange);
    }
    if !outstanding.is_positive() {
        return Err(ScheduleError::NonPositivePrincipal);
    }
    let payment = level_payment(outstanding, terms.rate, terms.term_months + 1 - next_number)?;
    Ok(Schedule {
        payment,
        installments: remaining_installments(
            outstanding,
            terms.rate,
            payment,
            next_number,
            terms.term_months,
            terms.start,
        )?,
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::*;
    use crate::domain::money::MAX_MINOR;

    fn terms(amount: &str, rate_percent: &str, months: u32, start: &str) -> LoanTerms {
        LoanTerms {
            principal: Money::from_decimal(Decimal::from_str(amount).unwrap(), Currency::Rub)
                .unwrap(),
            rate: Rate::parse_percent(rate_percent).unwrap(),
            term_months: months,
            start: NaiveDate::from_str(start).unwrap(),
        }
    }

    fn cents(text: &str) -> i64 {
        Money::from_decimal(Decimal::from_str(text).unwrap(), Currency::Rub)
            .unwrap()
            .minor()
    }

    /// Every row of the independently computed reference schedules, to the cent.
    #[test]
    fn every_reference_schedule_is_reproduced_to_the_cent() {
        let reference: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/annuity_schedules.json")).unwrap();
        let cases = reference["cases"].as_array().unwrap();
        assert!(cases.len() > 100);
        for case in cases {
            let s = |key: &str| case[key].as_str().unwrap().to_owned();
            let months = u32::try_from(case["term_months"].as_u64().unwrap()).unwrap();
            let schedule = annuity(&terms(
                &s("amount"),
                &s("annual_rate"),
                months,
                &s("start_date"),
            ))
            .unwrap();
            let label = format!("{} at {} % for {months}", s("amount"), s("annual_rate"));
            assert_eq!(
                schedule.payment.minor(),
                cents(&s("monthly_payment")),
                "{label}: payment"
            );
            let rows = case["schedule"].as_array().unwrap();
            assert_eq!(schedule.installments.len(), rows.len(), "{label}");
            for (ours, theirs) in schedule.installments.iter().zip(rows) {
                let t = |key: &str| theirs[key].as_str().unwrap().to_owned();
                let row = format!("{label}, payment {}", ours.number);
                assert_eq!(
                    u64::from(ours.number),
                    theirs["payment_num"].as_u64().unwrap(),
                    "{row}"
                );
                assert_eq!(ours.due_date.to_string(), t("due_date"), "{row}: due date");
                assert_eq!(
                    ours.principal.minor(),
                    cents(&t("principal")),
                    "{row}: principal"
                );
                assert_eq!(
                    ours.interest.minor(),
                    cents(&t("interest")),
                    "{row}: interest"
                );
                assert_eq!(
                    ours.total().unwrap().minor(),
                    cents(&t("total")),
                    "{row}: total"
                );
                assert_eq!(
                    ours.balance_after.minor(),
                    cents(&t("balance_after")),
                    "{row}: balance"
                );
            }
        }
    }

    /// Whether `k` is `numerator / denominator` rounded half-up, checked on the
    /// exact fraction: (2k − 1)·d ≤ 2n < (2k + 1)·d.
    fn is_half_up_rounding(k: i64, numerator: i128, denominator: i128) -> bool {
        let k = i128::from(k);
        (2 * k - 1) * denominator <= 2 * numerator && 2 * numerator < (2 * k + 1) * denominator
    }

    #[test]
    fn interest_of_exactly_half_a_kopeck_rounds_up() {
        // Found by an outside check: these first installments were 1 544.10,
        // 1 669.16 and 2 034.89 through a rounded monthly rate.
        for (amount, rate, first_interest) in [
            ("100050.00", "18.52", "1544.11"),
            ("100200.00", "19.99", "1669.17"),
            ("100200.00", "24.37", "2034.90"),
        ] {
            let schedule = annuity(&terms(amount, rate, 12, "2026-03-15")).unwrap();
            assert_eq!(
                schedule.installments[0].interest.minor(),
                cents(first_interest),
                "{amount} at {rate} %"
            );
        }
        // A one-month loan pays its principal and that interest, to the cent.
        let once = annuity(&terms("100050.00", "18.52", 1, "2026-03-15")).unwrap();
        assert_eq!(once.payment.minor(), cents("101594.11"));
        assert_eq!(once.installments[0].total().unwrap(), once.payment);
    }

    #[test]
    fn a_one_month_loan_repays_everything_at_once() {
        let schedule = annuity(&terms("50000.00", "24", 1, "2026-03-15")).unwrap();
        assert_eq!(schedule.installments.len(), 1);
        assert_eq!(schedule.installments[0].principal.minor(), 5_000_000);
        assert_eq!(schedule.installments[0].interest.minor(), 100_000);
    }

    #[test]
    fn an_interest_free_loan_repays_equal_principal_with_the_residue_last() {
        let schedule = annuity(&terms("100.00", "0", 3, "2026-01-10")).unwrap();
        let principals: Vec<i64> = schedule
            .installments
            .iter()
            .map(|i| i.principal.minor())
            .collect();
        assert_eq!(principals, vec![3333, 3333, 3334]);
        assert!(schedule.installments.iter().all(|i| i.interest.is_zero()));
    }

    #[test]
    fn month_ends_clamp_without_drifting() {
        let schedule = annuity(&terms("1200.00", "12", 4, "2026-01-31")).unwrap();
        let dates: Vec<String> = schedule
            .installments
            .iter()
            .map(|i| i.due_date.to_string())
            .collect();
        assert_eq!(
            dates,
            ["2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]
        );
        let leap = annuity(&terms("1200.00", "12", 1, "2028-01-31")).unwrap();
        assert_eq!(leap.installments[0].due_date.to_string(), "2028-02-29");
    }

    #[test]
    fn the_largest_amount_schedules_exactly_or_is_refused_clearly() {
        let largest = Money::from_minor(MAX_MINOR, Currency::Rub).unwrap();
        let mut t = terms("1.00", "100", 360, "2026-01-31");
        t.principal = largest;
        let schedule = annuity(&t).unwrap();
        let principal: i64 = schedule
            .installments
            .iter()
            .map(|i| i.principal.minor())
            .sum();
        assert_eq!(principal, MAX_MINOR);
        assert_eq!(
            schedule.installments.last().unwrap().balance_after.minor(),
            0
        );
        // Thirty years at 100 % pay back far more than any amount can hold:
        // the total says so instead of wrapping round or showing zero.
        assert_eq!(schedule.total_interest(), Err(MoneyError::TooLarge));

        // Repaid in one month, the payment itself would be beyond the limit.
        t.term_months = 1;
        assert_eq!(annuity(&t), Err(ScheduleError::PaymentTooLarge));
    }

    #[test]
    fn bad_terms_are_refused() {
        let mut t = terms("1000.00", "10", 12, "2026-01-01");
        t.term_months = 0;
        assert_eq!(annuity(&t), Err(ScheduleError::TermOutOfRange));
        t.term_months = 361;
        assert_eq!(annuity(&t), Err(ScheduleError::TermOutOfRange));
        t.term_months = 12;
        t.principal = Money::zero(Currency::Rub);
        assert_eq!(annuity(&t), Err(ScheduleError::NonPositivePrincipal));
    }

    #[test]
    fn a_prepayment_keeps_the_term_and_lowers_the_payment() {
        let t = terms("120000.00", "18", 12, "2026-01-15");
        let original = annuity(&t).unwrap();
        // After four installments, 20 000 is prepaid.
        let after_four = original.installments[3].balance_after;
        let outstanding = after_four
            .checked_sub(Money::from_minor(2_000_000, Currency::Rub).unwrap())
            .unwrap();
        let revised = recompute_after_prepayment(&t, outstanding, 5).unwrap();
        assert_eq!(revised.installments.len(), 8);
        assert_eq!(revised.installments.first().unwrap().number, 5);
        assert_eq!(
            revised.installments.last().unwrap().due_date,
            original.installments[11].due_date
        );
        assert!(revised.payment.minor() < original.payment.minor());
        let repaid: i64 = revised
            .installments
            .iter()
            .map(|i| i.principal.minor())
            .sum();
        assert_eq!(repaid, outstanding.minor());
        assert!(revised.installments.last().unwrap().balance_after.is_zero());
    }

    proptest! {
        #[test]
        fn principals_always_sum_to_the_amount(
            minor in 1..=crate::domain::money::MAX_MINOR,
            bps in 0_u32..=10_000,
            months in 1_u32..=MAX_TERM_MONTHS,
            day in 0_i64..20_000,
        ) {
            let start = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + chrono::Days::new(day.unsigned_abs());
            let t = LoanTerms {
                principal: Money::from_minor(minor, Currency::Rub).unwrap(),
                rate: Rate::from_bps(bps).unwrap(),
                term_months: months,
                start,
            };
            // A huge amount repaid over a few months at a high rate has a
            // payment beyond what money holds: refused, as a test above pins.
            let schedule = match annuity(&t) {
                Err(ScheduleError::PaymentTooLarge) => return Ok(()),
                other => other.unwrap(),
            };
            let repaid: i64 = schedule.installments.iter().map(|i| i.principal.minor()).sum();
            prop_assert_eq!(repaid, minor);
            let mut balance = minor;
            for installment in &schedule.installments {
                prop_assert!(is_half_up_rounding(
                    installment.interest.minor(),
                    i128::from(balance) * i128::from(bps),
                    120_000,
                ), "installment {}", installment.number);
                balance -= installment.principal.minor();
            }
            prop_assert!(schedule.installments.iter().all(|i| i.principal.minor() >= 0 && i.interest.minor() >= 0));
            prop_assert!(schedule.installments.last().unwrap().balance_after.is_zero());
        }
    }
}
