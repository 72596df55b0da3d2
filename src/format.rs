//! Formatting for people: dates and times as the pages show them, and
//! stored amounts (a `Money` formats itself: it implements `Display`).

use chrono::{DateTime, NaiveDate, Utc};

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
    at.format("%-d %b %Y, %H:%M UTC").to_string()
}

/// The day of `at`: "22 Nov 2026".
#[must_use]
pub fn date(at: &DateTime<Utc>) -> String {
    day(at.date_naive())
}

/// A calendar day (a due date, a date of issue): "22 Nov 2026".
#[must_use]
pub fn day(date: NaiveDate) -> String {
    date.format("%-d %b %Y").to_string()
}

/// A stored rate in basis points as people read it ("15.50 %").
#[must_use]
pub fn rate(bps: i32) -> String {
    u32::try_from(bps)
        .ok()
        .and_then(|bps| crate::domain::money::Rate::from_bps(bps).ok())
        .map_or_else(|| format!("{bps} bp"), |rate| rate.to_string())
}
