//! A per-user limit on money-moving requests (SECURITY.md 11.1.2): a person
//! confirms an investment, a deposit or a withdrawal every few seconds at
//! most, while a script firing ten a second is answered 429 and moves nothing.
//!
//! Each signed-in user has a sliding window of the submissions admitted in
//! the last `per` (`MONEY_RATE_LIMIT`, default 5 in 10 seconds). A repeat of
//! a submission already admitted (the same idempotency key: a double click, a
//! resent form) passes without counting, since it moves nothing new. The
//! window runs on the monotonic clock, not the injected business `Clock`
//! (which tests freeze): it measures how fast requests really arrive. It is
//! kept in memory per instance, so behind N instances a user may get N times
//! the limit, which still stops a burst; the money rules themselves never
//! depend on it.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::{config::RateLimit, domain::ids::UserId, web::error::WebError};

/// Users tracked before a sweep drops the windows that have emptied.
const SWEEP_ABOVE: usize = 10_000;

/// The limit and every user's recent submissions.
#[derive(Debug)]
pub struct MoneyLimit {
    limit: Option<RateLimit>,
    windows: Mutex<HashMap<UserId, VecDeque<Admitted>>>,
}

#[derive(Debug)]
struct Admitted {
    at: Instant,
    /// The submission's idempotency key, when it has one.
    key: Option<String>,
}

impl MoneyLimit {
    /// `None` admits everything (`MONEY_RATE_LIMIT=off`).
    #[must_use]
    pub fn new(limit: Option<RateLimit>) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one money-moving submission of `user`, identified by its
    /// idempotency `key` when it has one, as of `now`.
    ///
    /// # Errors
    /// `TooManyRequests` when the user already used the window's allowance;
    /// nothing is recorded then.
    pub fn admit(&self, user: UserId, key: Option<&str>, now: Instant) -> Result<(), WebError> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        // A poisoned lock only means another request panicked mid-update;
        // the windows are still consistent enough to limit with.
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, window| {
                forget_before(window, now, limit.per);
                !window.is_empty()
            });
        }
        let window = windows.entry(user).or_default();
        forget_before(window, now, limit.per);
        if key.is_some() && window.iter().any(|admitted| admitted.key.as_deref() == key) {
            return Ok(());
        }
        if window.len() >= limit.requests as usize {
            let wait = window.front().map_or(limit.per, |oldest| {
                limit.per.saturating_sub(now - oldest.at)
            });
            return Err(WebError::TooManyRequests(format!(
                "You sent {} money requests in {} seconds, faster than a person would. Nothing \
                 was moved by this one: wait {} seconds and try again.",
                limit.requests,
                limit.per.as_secs(),
                wait.as_secs().max(1)
            )));
        }
        window.push_back(Admitted {
            at: now,
            key: key.map(str::to_owned),
        });
        Ok(())
    }
}

/// Drops the submissions older than `per`.
fn forget_before(window: &mut VecDeque<Admitted>, now: Instant, per: Duration) {
    while window
        .front()
        .is_some_and(|admitted| now.duration_since(admitted.at) >= per)
    {
        window.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn five_in_ten_seconds() -> MoneyLimit {
        MoneyLimit::new(Some(RateLimit {
            requests: 5,
            per: Duration::from_secs(10),
        }))
    }

    #[test]
    fn the_sixth_submission_inside_the_window_is_refused_until_the_first_leaves_it() {
        let limit = five_in_ten_seconds();
        let (user, start) = (UserId::new(), Instant::now());
        for n in 0..5 {
            let key = format!("key-{n}");
            assert!(limit.admit(user, Some(&key), start).is_ok(), "{n}");
        }
        assert!(matches!(
            limit.admit(user, Some("key-5"), start + Duration::from_secs(9)),
            Err(WebError::TooManyRequests(_))
        ));
        assert!(
            limit.admit(UserId::new(), Some("key-5"), start).is_ok(),
            "another user has their own window"
        );
        assert!(
            limit
                .admit(user, Some("key-5"), start + Duration::from_secs(10))
                .is_ok()
        );
    }

    #[test]
    fn a_repeated_submission_passes_without_counting() {
        let limit = five_in_ten_seconds();
        let (user, now) = (UserId::new(), Instant::now());
        for _ in 0..20 {
            assert!(limit.admit(user, Some("same-key"), now).is_ok());
        }
        for n in 0..4 {
            assert!(limit.admit(user, Some(&format!("k{n}")), now).is_ok());
        }
        assert!(limit.admit(user, None, now).is_err());
    }

    #[test]
    fn switched_off_it_admits_everything() {
        let limit = MoneyLimit::new(None);
        let (user, now) = (UserId::new(), Instant::now());
        assert!((0..100).all(|_| limit.admit(user, None, now).is_ok()));
    }
}
