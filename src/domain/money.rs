//! Money and rates. No float ever holds money.
//!
//! An amount is a whole number of minor units (kopecks, cents) in one
//! currency; arithmetic on it is exact and checked. Where a rule multiplies
//! or divides (interest, fees, shares) it computes the exact rational value
//! in integers and rounds once, ROUND_HALF_UP: a midpoint goes away from zero
//! (0.005 → 0.01, -0.005 → -0.01), see [`Money::mul_ratio`] and
//! [`div_round_half_up`]. Interest in particular is never computed through a
//! rounded monthly rate: 18.52 % / 12 has no finite decimal form, and a value
//! of exactly half a kopeck would round the wrong way.

use std::{fmt, str::FromStr};

use rust_decimal::{Decimal, prelude::ToPrimitive};

/// The largest amount anything on the platform may hold: 999 999 999 999.99.
/// Far beyond any loan, far below what a BIGINT column or a `Decimal`
/// computation could overflow on.
pub const MAX_MINOR: i64 = 99_999_999_999_999;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Currency {
    Rub,
    Usd,
}

impl Currency {
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Rub => "RUB",
            Self::Usd => "USD",
        }
    }

    #[must_use]
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "RUB" => Some(Self::Rub),
            "USD" => Some(Self::Usd),
            _ => None,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount of money: exact, with two decimal places and a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("Enter an amount.")]
    Empty,
    #[error("Enter an amount in digits, like 1 000,50 or 1000.50.")]
    Malformed,
    #[error("The amount cannot be negative.")]
    Negative,
    #[error("Use at most two digits after the decimal separator.")]
    TooPrecise,
    #[error("That amount is larger than the platform allows.")]
    TooLarge,
    #[error("Amounts in different currencies cannot be combined.")]
    CurrencyMismatch,
}

/// `numerator / denominator` rounded to a whole number, half away from zero:
/// the platform's rounding rule on an exact fraction.
///
/// # Panics
/// Never for a positive `denominator`; a zero one is a programming error
/// (division by zero).
#[must_use]
pub fn div_round_half_up(numerator: i128, denominator: i128) -> i128 {
    debug_assert!(denominator > 0, "a positive denominator");
    let quotient = numerator / denominator;
    let remainder = (numerator % denominator).abs();
    // remainder < denominator, so doubling it cannot overflow for the
    // denominators money uses (far below 2^126).
    if remainder * 2 >= denominator {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

/// Basis points in a whole (100 % = 10 000).
pub const BPS_PER_WHOLE: i128 = 10_000;

/// Months in a year: annual rates are divided by this for a month's interest.
const MONTHS_PER_YEAR: i128 = 12;

impl Money {
    /// # Errors
    /// `TooLarge` beyond [`MAX_MINOR`] either way.
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        if minor.unsigned_abs() > MAX_MINOR.unsigned_abs() {
            return Err(MoneyError::TooLarge);
        }
        Ok(Self { minor, currency })
    }

    #[must_use]
    pub fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    /// From a decimal that already has at most two places.
    ///
    /// # Errors
    /// `TooPrecise` with more than two places; `TooLarge` beyond the limit.
    pub fn from_decimal(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        if amount.normalize().scale() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        let minor = (amount * Decimal::ONE_HUNDRED)
            .to_i64()
            .ok_or(MoneyError::TooLarge)?;
        Self::from_minor(minor, currency)
    }

    #[must_use]
    pub fn minor(self) -> i64 {
        self.minor
    }

    #[must_use]
    pub fn currency(self) -> Currency {
        self.currency
    }

    /// `self × numerator / denominator`, computed exactly and rounded once to
    /// the cent, half away from zero (e.g. interest: balance × rate in basis
    /// points / 120 000).
    ///
    /// # Errors
    /// `TooLarge` when the result leaves the allowed range (or the product
    /// overflows 128 bits).
    ///
    /// # Panics
    /// Never for a positive `denominator` (see [`div_round_half_up`]).
    pub fn mul_ratio(self, numerator: i128, denominator: i128) -> Result<Self, MoneyError> {
        let product = i128::from(self.minor)
            .checked_mul(numerator)
            .ok_or(MoneyError::TooLarge)?;
        let minor = i64::try_from(div_round_half_up(product, denominator))
            .map_err(|_| MoneyError::TooLarge)?;
        Self::from_minor(minor, self.currency)
    }

    /// The amount as a decimal with exactly two places.
    #[must_use]
    pub fn amount(self) -> Decimal {
        Decimal::new(self.minor, 2)
    }

    #[must_use]
    pub fn is_zero(self) -> bool {
        self.minor == 0
    }

    #[must_use]
    pub fn is_positive(self) -> bool {
        self.minor > 0
    }

    /// # Errors
    /// `CurrencyMismatch`, or `TooLarge` when the sum leaves the allowed range.
    pub fn checked_add(self, other: Self) -> Result<Self, MoneyError> {
        self.same_currency(other)?;
        let sum = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::TooLarge)?;
        Self::from_minor(sum, self.currency)
    }

    /// # Errors
    /// `CurrencyMismatch`, or `TooLarge` when the difference leaves the allowed range.
    pub fn checked_sub(self, other: Self) -> Result<Self, MoneyError> {
        self.same_currency(other)?;
        let difference = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::TooLarge)?;
        Self::from_minor(difference, self.currency)
    }

    fn same_currency(self, other: Self) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch)
        }
    }

    /// Parses what people type: "1000", "1 000,50", "1000.5", "1,000.50",
    /// "1 000 ₽". Spaces (also non-breaking and thin ones) group digits;
    /// the last `.` or `,` followed by one or two digits is the decimal
    /// separator. Refused: negatives (also "-0"), exponents, "NaN", digits
    /// that are not ASCII, more than two decimals, amounts beyond the limit.
    ///
    /// # Errors
    /// A [`MoneyError`] saying what is wrong, for the form to show.
    pub fn parse(input: &str, currency: Currency) -> Result<Self, MoneyError> {
        let trimmed = input
            .trim()
            .trim_end_matches(['₽', '$'])
            .trim_start_matches('$')
            .trim();
        let trimmed = trimmed
            .strip_suffix(currency.code())
            .or_else(|| trimmed.strip_suffix("руб."))
            .unwrap_or(trimmed)
            .trim();
        if trimmed.is_empty() {
            return Err(MoneyError::Empty);
        }
        if trimmed.starts_with('-') || trimmed.starts_with('\u{2212}') {
            return Err(MoneyError::Negative);
        }
        let compact: String = trimmed
            .chars()
            .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\''))
            .collect();
        if compact.is_empty()
            || !compact
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        {
            return Err(MoneyError::Malformed);
        }
        // The last separator is the decimal one; it may be followed by one or
        // two digits. Three digits ("1,000", "1.234") are refused rather than
        // guessed at: a thousand to one reader, one with decimals to another.
        let (whole, fraction, decimal_separator) = match compact.rfind(['.', ',']) {
            None => (compact.as_str(), "", None),
            Some(at) => {
                let fraction = &compact[at + 1..];
                if fraction.len() > 2 {
                    return Err(MoneyError::TooPrecise);
                }
                if fraction.is_empty() {
                    return Err(MoneyError::Malformed);
                }
                (&compact[..at], fraction, compact[at..].chars().next())
            }
        };
        // Any separator left in the whole part groups thousands: it must be
        // the other kind, and every group after the first has three digits.
        let whole_digits: String = match whole.find(['.', ',']) {
            None => whole.to_owned(),
            Some(at) => {
                let grouping = whole[at..].chars().next();
                let groups: Vec<&str> = whole.split(['.', ',']).collect();
                let well_grouped = grouping != decimal_separator
                    && whole
                        .chars()
                        .filter(|c| matches!(c, '.' | ','))
                        .all(|c| Some(c) == grouping)
                    && groups.first().is_some_and(|g| (1..=3).contains(&g.len()))
                    && groups[1..].iter().all(|g| g.len() == 3);
                if !well_grouped {
                    return Err(MoneyError::Malformed);
                }
                groups.concat()
            }
        };
        let significant = whole_digits.trim_start_matches('0');
        if significant.len() > 12 {
            return Err(MoneyError::TooLarge);
        }
        let whole_digits = if significant.is_empty() {
            "0"
        } else {
            significant
        };
        let text = if fraction.is_empty() {
            whole_digits.to_owned()
        } else {
            format!("{whole_digits}.{fraction}")
        };
        let amount = Decimal::from_str(&text).map_err(|_| MoneyError::Malformed)?;
        Self::from_decimal(amount, currency)
    }
}

/// An amount as typed, before it is known which currency it is in (a
/// commitment to a loan is read in the loan's currency, which the use case
/// learns under the loan's lock): whole minor units, checked as strictly as
/// [`Money::parse`], with any currency mark the platform uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypedAmount(i64);

impl TypedAmount {
    /// # Errors
    /// As [`Money::parse`].
    pub fn parse(input: &str) -> Result<Self, MoneyError> {
        let unmarked = [Currency::Rub, Currency::Usd]
            .iter()
            .fold(input.trim(), |text, currency| {
                text.strip_suffix(currency.code()).unwrap_or(text).trim()
            });
        Money::parse(unmarked, Currency::Rub).map(|money| Self(money.minor()))
    }

    /// The amount in `currency`.
    #[must_use]
    pub fn in_currency(self, currency: Currency) -> Money {
        Money {
            minor: self.0,
            currency,
        }
    }

    /// Minor units, for a request's fingerprint.
    #[must_use]
    pub fn minor(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Money {
    /// "1 000,50 ₽" for roubles, "$1,000.50" for dollars: the grouping each
    /// currency's readers expect.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        let (units, cents) = (abs / 100, abs % 100);
        match self.currency {
            Currency::Rub => write!(f, "{sign}{},{cents:02}\u{a0}₽", group(units, "\u{a0}")),
            Currency::Usd => write!(f, "{sign}${}.{cents:02}", group(units, ",")),
        }
    }
}

/// `units` with `separator` between each group of three digits.
fn group(units: u64, separator: &str) -> String {
    let digits = units.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 * separator.len());
    for (i, digit) in digits.char_indices() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push_str(separator);
        }
        grouped.push(digit);
    }
    grouped
}

/// An annual interest rate in basis points (1 550 = 15.50 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rate {
    bps: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("Enter a rate such as 15 or 15.5.")]
    Malformed,
    #[error("Use at most two digits after the decimal separator.")]
    TooPrecise,
    #[error("The rate must be between 0 % and 100 %.")]
    OutOfRange,
}

impl Rate {
    /// The highest annual rate anything on the platform may carry.
    pub const MAX_BPS: u32 = 10_000;

    pub const ZERO: Self = Self { bps: 0 };

    /// # Errors
    /// `OutOfRange` above 100 %.
    pub fn from_bps(bps: u32) -> Result<Self, RateError> {
        if bps > Self::MAX_BPS {
            return Err(RateError::OutOfRange);
        }
        Ok(Self { bps })
    }

    #[must_use]
    pub fn bps(self) -> u32 {
        self.bps
    }

    /// The annual rate in percent (15.50).
    #[must_use]
    pub fn percent(self) -> Decimal {
        Decimal::new(i64::from(self.bps), 2)
    }

    /// One month's interest on `balance`: balance × annual rate / 12, exact
    /// (minor units × basis points / 120 000) and rounded once, half-up.
    ///
    /// # Errors
    /// `TooLarge` when the interest leaves the allowed range.
    pub fn monthly_interest(self, balance: Money) -> Result<Money, MoneyError> {
        balance.mul_ratio(i128::from(self.bps), BPS_PER_WHOLE * MONTHS_PER_YEAR)
    }

    /// The part `elapsed / period` of one month's interest on `balance`
    /// (interest accrued to a day within an installment period), exact and
    /// rounded once, half-up.
    ///
    /// # Errors
    /// `TooLarge` when the interest leaves the allowed range.
    ///
    /// # Panics
    /// Never for a positive `period`.
    pub fn monthly_interest_part(
        self,
        balance: Money,
        elapsed: u32,
        period: u32,
    ) -> Result<Money, MoneyError> {
        balance.mul_ratio(
            i128::from(self.bps) * i128::from(elapsed),
            BPS_PER_WHOLE * MONTHS_PER_YEAR * i128::from(period),
        )
    }

    /// Parses "15", "15.5", "15,50", "15 %".
    ///
    /// # Errors
    /// A [`RateError`] for the form to show.
    pub fn parse_percent(input: &str) -> Result<Self, RateError> {
        let text = input.trim().trim_end_matches('%').trim().replace(',', ".");
        if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(RateError::Malformed);
        }
        let percent = Decimal::from_str(&text).map_err(|_| RateError::Malformed)?;
        if percent.normalize().scale() > 2 {
            return Err(RateError::TooPrecise);
        }
        let bps = (percent * Decimal::ONE_HUNDRED)
            .to_u32()
            .ok_or(RateError::OutOfRange)?;
        Self::from_bps(bps)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}\u{a0}%", self.bps / 100, self.bps % 100)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn rub(input: &str) -> Result<i64, MoneyError> {
        Money::parse(input, Currency::Rub).map(Money::minor)
    }

    #[test]
    fn what_people_type_is_read_as_they_mean_it() {
        for (input, minor) in [
            ("1000", 100_000),
            ("1 000,50", 100_050),
            ("1000.5", 100_050),
            ("1,000.50", 100_050),
            ("1.000,50", 100_050),
            ("1\u{a0}000\u{a0}₽", 100_000),
            (" 12 345 678,9 ", 1_234_567_890),
            ("0.01", 1),
            (",5", 50),
            ("0001000", 100_000),
            ("999 999 999 999,99", MAX_MINOR),
        ] {
            assert_eq!(rub(input), Ok(minor), "{input:?}");
        }
        assert_eq!(
            Money::parse("$1,000.50", Currency::Usd).map(Money::minor),
            Ok(100_050)
        );
    }

    #[test]
    fn nonsense_negatives_and_extra_precision_are_refused_with_a_reason() {
        for (input, error) in [
            ("", MoneyError::Empty),
            ("  ₽ ", MoneyError::Empty),
            ("-1", MoneyError::Negative),
            ("-0", MoneyError::Negative),
            ("1e3", MoneyError::Malformed),
            ("NaN", MoneyError::Malformed),
            ("inf", MoneyError::Malformed),
            ("12abc", MoneyError::Malformed),
            ("\u{661}\u{660}\u{660}", MoneyError::Malformed),
            ("１００", MoneyError::Malformed),
            ("10.", MoneyError::Malformed),
            ("1.000.50", MoneyError::Malformed),
            ("1,00,000.00", MoneyError::Malformed),
            ("1,000,5", MoneyError::Malformed),
            ("0.001", MoneyError::TooPrecise),
            ("1,000", MoneyError::TooPrecise),
            ("1.2345", MoneyError::TooPrecise),
            ("1000000000000", MoneyError::TooLarge),
            ("99999999999999999999999999999999", MoneyError::TooLarge),
        ] {
            assert_eq!(rub(input), Err(error), "{input:?}");
        }
    }

    #[test]
    fn an_amount_typed_without_knowing_its_currency_reads_any_mark() {
        for input in [
            "1 000,50",
            "1 000,50 ₽",
            "$1,000.50",
            "1000.50 USD",
            "1000,50 RUB",
        ] {
            let amount = TypedAmount::parse(input).unwrap();
            assert_eq!(amount.minor(), 100_050, "{input:?}");
            assert_eq!(amount.in_currency(Currency::Usd).minor(), 100_050);
        }
        assert_eq!(TypedAmount::parse("1e3"), Err(MoneyError::Malformed));
        assert_eq!(TypedAmount::parse("-5"), Err(MoneyError::Negative));
    }

    #[test]
    fn amounts_are_formatted_the_way_each_currency_reads() {
        let rub = |minor| Money::from_minor(minor, Currency::Rub).unwrap().to_string();
        let usd = |minor| Money::from_minor(minor, Currency::Usd).unwrap().to_string();
        assert_eq!(rub(100_050), "1\u{a0}000,50\u{a0}₽");
        assert_eq!(rub(0), "0,00\u{a0}₽");
        assert_eq!(rub(MAX_MINOR), "999\u{a0}999\u{a0}999\u{a0}999,99\u{a0}₽");
        assert_eq!(usd(123_456_789), "$1,234,567.89");
        assert_eq!(usd(-5), "-$0.05");
        assert_eq!(rub(99_999), "999,99\u{a0}₽");
        assert_eq!(usd(10_000_000), "$100,000.00");
    }

    #[test]
    fn arithmetic_is_checked_and_keeps_currencies_apart() {
        let a = Money::from_minor(MAX_MINOR, Currency::Rub).unwrap();
        let one = Money::from_minor(1, Currency::Rub).unwrap();
        assert_eq!(a.checked_add(one), Err(MoneyError::TooLarge));
        assert_eq!(a.checked_sub(one).map(Money::minor), Ok(MAX_MINOR - 1));
        let dollar = Money::from_minor(100, Currency::Usd).unwrap();
        assert_eq!(one.checked_add(dollar), Err(MoneyError::CurrencyMismatch));
        assert_eq!(
            Money::from_minor(MAX_MINOR + 1, Currency::Rub),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn rates_are_read_in_percent_and_kept_in_basis_points() {
        assert_eq!(Rate::parse_percent("15").map(Rate::bps), Ok(1500));
        assert_eq!(Rate::parse_percent("15.5").map(Rate::bps), Ok(1550));
        assert_eq!(Rate::parse_percent(" 15,50 % ").map(Rate::bps), Ok(1550));
        assert_eq!(Rate::parse_percent("0").map(Rate::bps), Ok(0));
        assert_eq!(Rate::parse_percent("100.01"), Err(RateError::OutOfRange));
        assert_eq!(Rate::parse_percent("15.555"), Err(RateError::TooPrecise));
        assert_eq!(Rate::parse_percent("-1"), Err(RateError::Malformed));
        assert_eq!(Rate::parse_percent("1e2"), Err(RateError::Malformed));
        assert_eq!(Rate::from_bps(1550).unwrap().to_string(), "15.50\u{a0}%");
    }

    /// Whether `k` is `numerator / denominator` rounded half away from zero,
    /// checked on the exact fraction (no division): for a non-negative
    /// value, k − ½ ≤ n/d < k + ½, i.e. (2k − 1)·d ≤ 2n < (2k + 1)·d.
    fn is_half_up_rounding(k: i128, numerator: i128, denominator: i128) -> bool {
        (2 * k - 1) * denominator <= 2 * numerator && 2 * numerator < (2 * k + 1) * denominator
    }

    #[test]
    fn a_months_interest_of_exactly_half_a_kopeck_rounds_up() {
        // The three cases an outside check found rounded down through a
        // rounded monthly rate (100 050.00 × 18.52 % / 12 = 1 544.105 exactly).
        for (balance, percent, interest) in [
            ("100050", "18.52", "1 544,11"),
            ("100200", "19.99", "1 669,17"),
            ("100200", "24.37", "2 034,90"),
            ("10000", "12", "100"),
        ] {
            let rate = Rate::parse_percent(percent).unwrap();
            assert_eq!(
                rate.monthly_interest(Money::parse(balance, Currency::Rub).unwrap()),
                Money::parse(interest, Currency::Rub),
                "{balance} at {percent} %"
            );
        }
    }

    #[test]
    fn division_rounds_half_away_from_zero() {
        assert_eq!(div_round_half_up(5, 10), 1);
        assert_eq!(div_round_half_up(4, 10), 0);
        assert_eq!(div_round_half_up(15, 10), 2);
        assert_eq!(div_round_half_up(-5, 10), -1);
        assert_eq!(div_round_half_up(-4, 10), 0);
        assert_eq!(div_round_half_up(0, 7), 0);
        assert_eq!(
            Money::from_minor(MAX_MINOR, Currency::Rub)
                .unwrap()
                .mul_ratio(2, 1),
            Err(MoneyError::TooLarge)
        );
    }

    proptest! {
        #[test]
        fn a_months_interest_is_the_exact_value_rounded_once(
            minor in 0..=MAX_MINOR,
            bps in 0_u32..=Rate::MAX_BPS,
        ) {
            let balance = Money::from_minor(minor, Currency::Rub).unwrap();
            let interest = Rate::from_bps(bps).unwrap().monthly_interest(balance).unwrap();
            prop_assert!(is_half_up_rounding(
                i128::from(interest.minor()),
                i128::from(minor) * i128::from(bps),
                120_000,
            ));
        }

        #[test]
        fn a_part_of_a_months_interest_is_the_exact_value_rounded_once(
            minor in 0..=MAX_MINOR,
            bps in 0_u32..=Rate::MAX_BPS,
            (elapsed, period) in (1_u32..=31).prop_flat_map(|period| (0..=period, Just(period))),
        ) {
            let balance = Money::from_minor(minor, Currency::Rub).unwrap();
            let rate = Rate::from_bps(bps).unwrap();
            let part = rate.monthly_interest_part(balance, elapsed, period).unwrap();
            prop_assert!(is_half_up_rounding(
                i128::from(part.minor()),
                i128::from(minor) * i128::from(bps) * i128::from(elapsed),
                120_000 * i128::from(period),
            ));
            if elapsed == period {
                prop_assert_eq!(part, rate.monthly_interest(balance).unwrap());
            }
        }

        #[test]
        fn formatting_then_parsing_gives_back_the_amount(minor in 0..=MAX_MINOR, usd in any::<bool>()) {
            let currency = if usd { Currency::Usd } else { Currency::Rub };
            let money = Money::from_minor(minor, currency).unwrap();
            prop_assert_eq!(Money::parse(&money.to_string(), currency), Ok(money));
        }

        #[test]
        fn a_decimal_with_two_places_round_trips(minor in -MAX_MINOR..=MAX_MINOR) {
            let money = Money::from_minor(minor, Currency::Rub).unwrap();
            prop_assert_eq!(Money::from_decimal(money.amount(), Currency::Rub), Ok(money));
        }
    }
}
