//! Formatting for people: dates and times as the pages show them, and
//! stored amounts (a `Money` formats itself: it implements `Display`).

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use crate::domain::money::{Currency, Money};

/// A stored amount in minor units as people read it ("1 000,50 ₽"). A sum
/// beyond what `Money` holds (totals across wallets can be) shows its raw
/// minor units rather than a wrong figure.
#[must_use]
pub fn money(minor: i64, currency: Currency) -> String {
    Money::from_minor(minor, currency).map_or_else(
        |_| format!("{minor} (minor units, {})", currency.code()),
        |m| m.to_string(),
    )
}

/// "22 Nov 2026, 14:05 UTC".
#[must_use]
pub fn datetime(at: &DateTime<Utc>) -> String {
    format!(
        "{}, {:02}:{:02} UTC",
        day(at.date_naive()),
        at.hour(),
        at.minute()
    )
}

/// The day of `at`: "22 Nov 2026".
#[must_use]
pub fn date(at: &DateTime<Utc>) -> String {
    day(at.date_naive())
}

/// A calendar day (a due date, a date of issue): "22 Nov 2026".
#[must_use]
pub fn day(date: NaiveDate) -> String {
    // What chrono's "%-d %b %Y" gives, without parsing that pattern per call.
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[usize::try_from(date.month0()).unwrap_or(0)];
    format!("{} {month} {:04}", date.day(), date.year())
}

/// A stored rate in basis points as people read it ("15.50 %").
#[must_use]
pub fn rate(bps: i32) -> String {
    u32::try_from(bps)
        .ok()
        .and_then(|bps| crate::domain::money::Rate::from_bps(bps).ok())
        .map_or_else(|| format!("{bps} bp"), |rate| rate.to_string())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn dates_and_times_read_as_chrono_would_write_them(
            // 1 Jan 1900 to 31 Dec 9999.
            seconds in -2_208_988_800_i64..253_402_300_799,
        ) {
            let at = DateTime::from_timestamp(seconds, 0).unwrap();
            prop_assert_eq!(datetime(&at), at.format("%-d %b %Y, %H:%M UTC").to_string());
            prop_assert_eq!(date(&at), at.format("%-d %b %Y").to_string());
        }
    }

    #[test]
    fn a_moment_reads_with_day_month_year_and_time() {
        let at = DateTime::from_timestamp(1_795_100_700, 0).unwrap();
        assert_eq!(datetime(&at), "19 Nov 2026, 15:05 UTC");
        assert_eq!(
            day(NaiveDate::from_ymd_opt(2027, 1, 5).unwrap()),
            "5 Jan 2027"
        );
    }
}
