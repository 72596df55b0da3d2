//! The `outbox` job: sends every email that is due, one at a time, and
//! records each outcome (sent; failed and scheduled again; failed for good).
//! Safe to run on several instances at once: each email is claimed by one
//! sender only (see `services::outbox`).

use std::fmt;

use sea_orm::{DatabaseConnection, DbErr};

use crate::{clock::Clock, domain::outbox::AfterFailure, mail::Mailer, services::outbox};

/// The most emails one pass sends; the next pass takes the rest.
pub const MAX_PER_RUN: u32 = 500;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxReport {
    pub sent: u32,
    /// Failed this time, scheduled to be tried again.
    pub retried: u32,
    /// Failed for the last allowed time: left for staff.
    pub failed: u32,
}

impl OutboxReport {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sent == 0 && self.retried == 0 && self.failed == 0
    }

    fn handled(&self) -> u32 {
        self.sent + self.retried + self.failed
    }
}

impl fmt::Display for OutboxReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} sent, {} to be tried again, {} failed",
            self.sent, self.retried, self.failed
        )
    }
}

/// One pass as of `clock`'s time.
///
/// # Errors
/// On database failure (an email that cannot be sent is not an error: it is
/// recorded and counted).
pub async fn run(
    db: &DatabaseConnection,
    mailer: &Mailer,
    clock: &dyn Clock,
) -> Result<OutboxReport, DbErr> {
    outbox::requeue_abandoned(db, clock.now()).await?;
    let mut report = OutboxReport::default();
    while report.handled() < MAX_PER_RUN {
        let Some(claimed) = outbox::claim_next(db, clock.now()).await? else {
            break;
        };
        match mailer.send(&claimed.email).await {
            Ok(()) => {
                outbox::record_sent(db, &claimed, clock.now()).await?;
                report.sent += 1;
            }
            Err(error) => {
                tracing::warn!(email_id = %claimed.email.id, kind = %claimed.kind, attempt = claimed.attempts + 1, %error, "an email could not be sent");
                let error = error.to_string();
                match outbox::record_failure(db, &claimed, &error, clock.now()).await? {
                    AfterFailure::RetryAt(_) => report.retried += 1,
                    AfterFailure::GaveUp => report.failed += 1,
                }
            }
        }
    }
    Ok(report)
}
