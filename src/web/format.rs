//! Formatting for people: dates and times as the pages show them (amounts
//! format themselves: `domain::money::Money` implements `Display`).

use chrono::{DateTime, Utc};

/// "22 Nov 2026, 14:05 UTC".
#[must_use]
pub fn datetime(at: &DateTime<Utc>) -> String {
    at.format("%-d %b %Y, %H:%M UTC").to_string()
}

/// "22 Nov 2026".
#[must_use]
pub fn date(at: &DateTime<Utc>) -> String {
    at.format("%-d %b %Y").to_string()
}
