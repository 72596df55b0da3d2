//! The client's address behind reverse proxies.
//!
//! Each proxy appends to `X-Forwarded-For` the address the request reached
//! it from. Whatever stands to the left of what the trusted proxies wrote
//! came with the request, so the client wrote it and it proves nothing: the
//! leftmost entry is the client's own claim. The client is the entry as many
//! places from the right as there are trusted proxies (1 behind one proxy).
//! When the header is missing, too short for that, or that entry is not an
//! IP address, the request did not come through the proxies as configured
//! and the caller uses the connection's peer address instead.
//!
//! Pure: no request types, so the rules are unit-tested as plain functions.

use std::{
    net::{IpAddr, SocketAddr},
    num::NonZeroUsize,
};

/// The client address that the `hops` trusted proxies in front of the app
/// recorded in `forwarded_for` (the values of every `X-Forwarded-For`
/// header, in the order received), or `None` when they did not record one.
#[must_use]
pub fn forwarded_client(forwarded_for: &[&str], hops: NonZeroUsize) -> Option<IpAddr> {
    let entries: Vec<&str> = forwarded_for
        .iter()
        .flat_map(|header| header.split(','))
        .collect();
    let index = entries.len().checked_sub(hops.get())?;
    parse_entry(entries[index])
}

/// The address of one `X-Forwarded-For` entry: `192.0.2.1`, `2001:db8::1`,
/// with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`) or in brackets
/// (`[2001:db8::1]`). IPv4-mapped IPv6 addresses come back as IPv4, as the
/// peer address does, so one client is counted under one address.
#[must_use]
pub fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse::<IpAddr>().ok())
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: NonZeroUsize = NonZeroUsize::MIN;

    fn hops(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).unwrap()
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn behind_one_proxy_the_client_is_the_rightmost_entry() {
        assert_eq!(forwarded_client(&["203.0.113.9"], ONE), ip("203.0.113.9"));
        assert_eq!(
            forwarded_client(&["10.9.9.9, 1.2.3.4, 203.0.113.9"], ONE),
            ip("203.0.113.9"),
            "what the client wrote on the left is ignored"
        );
    }

    #[test]
    fn behind_two_proxies_the_client_is_the_second_entry_from_the_right() {
        assert_eq!(
            forwarded_client(&["10.9.9.9, 203.0.113.9, 198.51.100.7"], hops(2)),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn several_headers_are_read_as_one_list_in_order() {
        assert_eq!(
            forwarded_client(&["10.9.9.9", "203.0.113.9, 198.51.100.7"], hops(2)),
            ip("203.0.113.9")
        );
        assert_eq!(
            forwarded_client(&["10.9.9.9, 203.0.113.9", "198.51.100.7"], hops(2)),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_missing_or_too_short_header_gives_no_address() {
        assert_eq!(forwarded_client(&[], ONE), None);
        assert_eq!(forwarded_client(&["203.0.113.9"], hops(2)), None);
    }

    #[test]
    fn an_entry_that_is_not_an_address_gives_no_address() {
        for header in [
            "",
            "unknown",
            "_hidden",
            "203.0.113.9, ",
            "example.com",
            "203.0.113.256",
            "[203.0.113.9",
            "1.2.3.4 5.6.7.8",
        ] {
            assert_eq!(forwarded_client(&[header], ONE), None, "{header:?}");
        }
    }

    #[test]
    fn ports_brackets_spaces_and_mapped_addresses_are_normalised() {
        for (entry, expected) in [
            (" 203.0.113.9 ", "203.0.113.9"),
            ("203.0.113.9:4711", "203.0.113.9"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:4711", "2001:db8::1"),
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            ("::ffff:203.0.113.9", "203.0.113.9"),
        ] {
            assert_eq!(parse_entry(entry), ip(expected), "{entry:?}");
        }
    }
}
