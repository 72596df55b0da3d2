//! Background jobs (DESIGN.md section 11). Each is a library function that
//! does one pass as of the clock's time and may be run any number of times:
//! by the worker loop that `crowdlend serve` starts, by `crowdlend jobs run
//! NAME`, and by the tests, which call it directly with their own clock.

pub mod due_payments;
pub mod outbox;
pub mod runs;

use std::time::Duration;

use sea_orm::DatabaseConnection;
use url::Url;

use crate::{clock::SharedClock, db, mail::Mailer, services::funding};

/// How often `serve` looks for emails to send.
pub const OUTBOX_INTERVAL: Duration = Duration::from_secs(5);

/// How often `serve` refreshes SQLite's query planner statistics.
pub const OPTIMIZE_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// How often `serve` looks for listings past their funding deadline (a
/// loan's page shows such a loan as closed, and commitments to it are
/// refused, until this job releases it).
pub const FUNDING_EXPIRY_INTERVAL: Duration = Duration::from_secs(60);

/// How often `serve` looks for fully funded loans still to pay out.
pub const PAYOUTS_INTERVAL: Duration = Duration::from_secs(60);

/// How often `serve` runs `due-payments` for the current day (a pass finds
/// nothing to do once the day's installments have moved).
pub const DUE_PAYMENTS_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Runs `pass` every `interval` for as long as the process runs (a pass
/// that overruns delays the next tick rather than bunching them). Each pass
/// logs its own outcome; a failed one is simply tried again at the next tick.
pub fn every<F, Fut>(interval: Duration, mut pass: F) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            pass().await;
        }
    })
}

/// Starts the outbox worker beside the server: one pass every
/// [`OUTBOX_INTERVAL`].
pub fn spawn_outbox_worker(
    db: DatabaseConnection,
    mailer: Mailer,
    clock: SharedClock,
) -> tokio::task::JoinHandle<()> {
    every(OUTBOX_INTERVAL, move || {
        let (db, mailer, clock) = (db.clone(), mailer.clone(), clock.clone());
        async move {
            match outbox::run(&db, &mailer, clock.as_ref()).await {
                Ok(report) if report.is_empty() => {}
                Ok(report) => tracing::info!(%report, "outbox pass"),
                Err(err) => tracing::warn!(error = %err, "the outbox pass failed"),
            }
        }
    })
}

/// Starts the `payouts` worker beside the server: every
/// [`PAYOUTS_INTERVAL`], with automatic payout on, fully funded loans not yet
/// paid out (a payout that failed, or one left to staff before payout was
/// made automatic) are paid out.
pub fn spawn_payouts_worker(
    db: DatabaseConnection,
    clock: SharedClock,
    base_url: Url,
) -> tokio::task::JoinHandle<()> {
    every(PAYOUTS_INTERVAL, move || {
        let (db, clock, base_url) = (db.clone(), clock.clone(), base_url.clone());
        async move {
            match funding::pay_out_due(&db, clock.as_ref(), &base_url).await {
                Ok(0) => {}
                Ok(paid) => tracing::info!(paid, "payouts pass"),
                Err(err) => tracing::warn!(error = ?err, "the payouts pass failed"),
            }
        }
    })
}

/// Starts the `funding-expiry` worker beside the server: every
/// [`FUNDING_EXPIRY_INTERVAL`], loans past their deadline unfunded are
/// expired and their reservations released.
pub fn spawn_funding_expiry_worker(
    db: DatabaseConnection,
    clock: SharedClock,
    base_url: Url,
) -> tokio::task::JoinHandle<()> {
    every(FUNDING_EXPIRY_INTERVAL, move || {
        let (db, clock, base_url) = (db.clone(), clock.clone(), base_url.clone());
        async move {
            match funding::expire_due(&db, clock.as_ref(), &base_url).await {
                Ok(0) => {}
                Ok(expired) => tracing::info!(expired, "funding-expiry pass"),
                Err(err) => tracing::warn!(error = ?err, "the funding-expiry pass failed"),
            }
        }
    })
}

/// Starts the planner-statistics worker beside the server: [`db::optimize`]
/// at once (`serve` has just migrated, and new indexes want statistics),
/// then every [`OPTIMIZE_INTERVAL`]. Nothing to do on PostgreSQL.
pub fn spawn_optimize_worker(db: DatabaseConnection) -> tokio::task::JoinHandle<()> {
    every(OPTIMIZE_INTERVAL, move || {
        let db = db.clone();
        async move {
            match db::optimize(&db).await {
                Ok(true) => tracing::info!("SQLite planner statistics refreshed (PRAGMA optimize)"),
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "PRAGMA optimize failed"),
            }
        }
    })
}

/// Starts the `due-payments` worker beside the server: one recorded pass
/// every [`DUE_PAYMENTS_INTERVAL`], the first at start.
pub fn spawn_due_payments_worker(
    db: DatabaseConnection,
    clock: SharedClock,
    base_url: Url,
) -> tokio::task::JoinHandle<()> {
    every(DUE_PAYMENTS_INTERVAL, move || {
        let (db, clock, base_url) = (db.clone(), clock.clone(), base_url.clone());
        async move {
            let pass = async {
                due_payments::run(&db, clock.as_ref(), &base_url)
                    .await
                    .map(|report| report.loans)
            };
            match runs::recorded(&db, "due-payments", clock.as_ref(), pass).await {
                Ok(0) => {}
                Ok(loans) => tracing::info!(loans, "due-payments pass"),
                Err(err) => tracing::warn!(error = %err, "the due-payments pass failed"),
            }
        }
    })
}
