//! Rules of the email outbox: the states a queued email goes through and
//! how long to wait before trying a failed one again.

use chrono::{DateTime, TimeDelta, Utc};

/// After this many failed attempts an email is `failed` and waits for staff.
pub const MAX_ATTEMPTS: i32 = 5;

/// Where a queued email stands: `pending` -> `sending` (claimed by one
/// sender) -> `sent`; back to `pending` after a failed attempt, `failed`
/// once the attempts are used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailState {
    Pending,
    Sending,
    Sent,
    Failed,
}

impl EmailState {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Sending, Self::Sent, Self::Failed];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == raw)
    }

    /// For people: "Waiting to be sent", ...
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Waiting to be sent",
            Self::Sending => "Being sent",
            Self::Sent => "Sent",
            Self::Failed => "Failed",
        }
    }
}

/// How long to wait after the `attempts`-th failed attempt: 1 minute, 5
/// minutes, 30 minutes, then 2 hours.
#[must_use]
pub fn backoff(attempts: i32) -> TimeDelta {
    match attempts {
        ..=1 => TimeDelta::minutes(1),
        2 => TimeDelta::minutes(5),
        3 => TimeDelta::minutes(30),
        _ => TimeDelta::hours(2),
    }
}

/// What becomes of an email whose attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Back in the queue, due again at this time.
    RetryAt(DateTime<Utc>),
    /// Every attempt is used up: `failed` until staff retry it.
    GaveUp,
}

/// The outcome once `attempts` attempts (this one included) failed, at `now`.
#[must_use]
pub fn after_failure(attempts: i32, now: DateTime<Utc>) -> AfterFailure {
    if attempts >= MAX_ATTEMPTS {
        AfterFailure::GaveUp
    } else {
        AfterFailure::RetryAt(now + backoff(attempts))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn retries_wait_longer_each_time_and_stop_after_five_attempts() {
        let waits: Vec<i64> = (1..MAX_ATTEMPTS)
            .map(|n| backoff(n).num_minutes())
            .collect();
        assert_eq!(waits, [1, 5, 30, 120]);
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).unwrap();
        assert_eq!(
            after_failure(1, now),
            AfterFailure::RetryAt(now + TimeDelta::minutes(1))
        );
        assert_eq!(after_failure(MAX_ATTEMPTS, now), AfterFailure::GaveUp);
    }

    #[test]
    fn states_round_trip() {
        for state in EmailState::ALL {
            assert_eq!(EmailState::parse(state.as_str()), Some(state));
        }
        assert_eq!(EmailState::parse("queued"), None);
    }
}
