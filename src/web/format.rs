//! Formatting for people: dates, times and amounts as the pages show them.

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

/// Minor units as a person reads them: "1 000,50 ₽" for roubles, "$1,000.50"
/// for dollars (the grouping each currency's readers expect).
#[must_use]
pub fn money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let (units, cents) = (abs / 100, abs % 100);
    match currency {
        "USD" => format!("{sign}${}.{cents:02}", group(units, ",")),
        "RUB" => format!("{sign}{},{cents:02}\u{a0}₽", group(units, "\u{a0}")),
        other => format!("{sign}{}.{cents:02} {other}", group(units, ",")),
    }
}

fn group(mut units: u64, separator: &str) -> String {
    let mut groups = Vec::new();
    loop {
        if units < 1000 {
            groups.push(units.to_string());
            break;
        }
        groups.push(format!("{:03}", units % 1000));
        units /= 1000;
    }
    groups.reverse();
    groups.join(separator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_the_way_each_currency_reads() {
        assert_eq!(money(100_050, "RUB"), "1\u{a0}000,50\u{a0}₽");
        assert_eq!(money(0, "RUB"), "0,00\u{a0}₽");
        assert_eq!(money(123_456_789, "USD"), "$1,234,567.89");
        assert_eq!(money(-5, "USD"), "-$0.05");
        assert_eq!(money(99, "EUR"), "0.99 EUR");
    }
}
