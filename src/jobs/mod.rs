//! Background jobs (DESIGN.md section 11). Each is a library function that
//! does one pass as of the clock's time and may be run any number of times:
//! by the worker loop that `crowdlend serve` starts, by `crowdlend jobs run
//! NAME`, and by the tests, which call it directly with their own clock.

pub mod defaults;
pub mod due_payments;
pub mod outbox;
pub mod penalties;
pub mod reminders;
pub mod runs;

use std::time::Duration;

use sea_orm::DatabaseConnection;
use url::Url;

use crate::{
    clock::SharedClock,
    db,
    error::AppError,
    mail::Mailer,
    services::{auto_invest, funding, secondary},
};

/// How often `serve` looks for emails to send.
pub const OUTBOX_INTERVAL: Duration = Duration::from_secs(5);

/// How often `serve` refreshes SQLite's query planner statistics.
pub const OPTIMIZE_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// How often `serve` looks for listings past their funding deadline (a
/// loan's page shows such a loan as closed, and commitments to it are
/// refused, until this job releases it).
pub const FUNDING_EXPIRY_INTERVAL: Duration = Duration::from_secs(60);

/// How often `serve` offers the loans open for investment to the
/// investors' auto-invest rules (a loan is also offered the moment it is
/// listed).
pub const AUTO_INVEST_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// How often `serve` looks for fully funded loans still to pay out.
pub const PAYOUTS_INTERVAL: Duration = Duration::from_secs(60);

/// How often `serve` runs the servicing jobs (`due-payments`, `penalties`,
/// `defaults`, `reminders`) for the current day (a pass finds nothing to do
/// once the day's work is done).
pub const SERVICING_INTERVAL: Duration = Duration::from_secs(60 * 60);

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

/// Starts the `auto-invest` worker beside the server: every
/// [`AUTO_INVEST_INTERVAL`], a recorded pass of the job.
pub fn spawn_auto_invest_worker(
    db: DatabaseConnection,
    clock: SharedClock,
    base_url: Url,
) -> tokio::task::JoinHandle<()> {
    every(AUTO_INVEST_INTERVAL, move || {
        let (db, clock, base_url) = (db.clone(), clock.clone(), base_url.clone());
        async move {
            let name = JobName::AutoInvest;
            let pass = run_named(name, &db, clock.as_ref(), &base_url, None);
            match runs::recorded_with_summary(&db, name.as_str(), clock.as_ref(), pass).await {
                Ok(summary) => tracing::info!(job = name.as_str(), %summary, "job pass"),
                Err(err) => {
                    tracing::warn!(job = name.as_str(), error = %err, "the job pass failed")
                }
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

/// Starts the servicing jobs beside the server: every
/// [`SERVICING_INTERVAL`], the first at start, one recorded pass of each of
/// [`JobName::SERVICING`] in order for the current day (a pass finds nothing
/// to do once the day's work is done).
pub fn spawn_servicing_worker(
    db: DatabaseConnection,
    clock: SharedClock,
    base_url: Url,
) -> tokio::task::JoinHandle<()> {
    every(SERVICING_INTERVAL, move || {
        let (db, clock, base_url) = (db.clone(), clock.clone(), base_url.clone());
        async move {
            for name in JobName::SERVICING {
                let pass = run_named(name, &db, clock.as_ref(), &base_url, None);
                match runs::recorded_with_summary(&db, name.as_str(), clock.as_ref(), pass).await {
                    Ok(summary) => tracing::info!(job = name.as_str(), %summary, "job pass"),
                    Err(err) => {
                        tracing::warn!(job = name.as_str(), error = %err, "the job pass failed");
                    }
                }
            }
        }
    })
}

/// The named jobs (DESIGN.md section 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JobName {
    /// Send the queued emails that are due.
    Outbox,
    /// Expire loans whose funding deadline passed unfunded, releasing every reservation.
    FundingExpiry,
    /// Offer the loans open for investment to investors' auto-invest rules.
    AutoInvest,
    /// Pay out fully funded loans still waiting (a failed payout), when payout is automatic.
    Payouts,
    /// Make installments due, collect them from borrowers' wallets, mark the unpaid overdue.
    DuePayments,
    /// Charge penalty interest and late fees on overdue installments.
    Penalties,
    /// Declare loans overdue too long defaulted; the reserve fund covers their investors.
    Defaults,
    /// Remind borrowers of installments due in the next few days.
    Reminders,
    /// Every job in order, for one day (`--date`) or each day of `--from`..`--to`.
    All,
}

impl JobName {
    /// Every job `all` runs, in the order it runs them each day.
    pub const DAILY: [Self; 8] = [
        Self::FundingExpiry,
        Self::AutoInvest,
        Self::Payouts,
        Self::DuePayments,
        Self::Penalties,
        Self::Defaults,
        Self::Reminders,
        Self::Outbox,
    ];

    /// The jobs of a loan's life after the payout, in the order they run.
    pub const SERVICING: [Self; 4] = [
        Self::DuePayments,
        Self::Penalties,
        Self::Defaults,
        Self::Reminders,
    ];

    /// The job's name as `jobs run` and `job_runs.name` spell it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outbox => "outbox",
            Self::FundingExpiry => "funding-expiry",
            Self::AutoInvest => "auto-invest",
            Self::Payouts => "payouts",
            Self::DuePayments => "due-payments",
            Self::Penalties => "penalties",
            Self::Defaults => "defaults",
            Self::Reminders => "reminders",
            Self::All => "all",
        }
    }

    /// What the job does, in a sentence for the admin area.
    #[must_use]
    pub fn about(self) -> &'static str {
        match self {
            Self::Outbox => "Sends the queued emails that are due (also every few seconds).",
            Self::FundingExpiry => {
                "Closes listings past their funding deadline and releases every reservation."
            }
            Self::AutoInvest => {
                "Offers the loans open for investment to investors' auto-invest rules (also every few minutes)."
            }
            Self::Payouts => "Pays out fully funded loans still waiting, when payout is automatic.",
            Self::DuePayments => {
                "Installments due today fall due, are taken from borrowers' wallets, and the unpaid become overdue (their loans' secondary-market listings are withdrawn)."
            }
            Self::Penalties => "Charges penalty interest and the late fee on overdue installments.",
            Self::Defaults => {
                "Declares loans overdue too long defaulted; the reserve fund covers their investors."
            }
            Self::Reminders => "Reminds borrowers of installments due in the next few days.",
            Self::All => "Every job in order.",
        }
    }

    /// The job named `name` (as [`JobName::as_str`] spells it), `all` excluded.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::DAILY.into_iter().find(|job| job.as_str() == name)
    }
}

/// One pass of job `name` as of the clock's time: how many items it
/// processed, and a line saying what it did. `outbox` needs the `mailer`.
///
/// # Errors
/// The pass's failure; `Unexpected` for `all` or a missing mailer.
pub async fn run_named(
    name: JobName,
    db: &DatabaseConnection,
    clock: &dyn crate::clock::Clock,
    base_url: &Url,
    mailer: Option<&Mailer>,
) -> Result<(u32, String), AppError> {
    let day = clock.today();
    let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(match name {
        JobName::All => {
            return Err(AppError::unexpected(anyhow::anyhow!(
                "`all` runs each job by its own name"
            )));
        }
        JobName::DuePayments => {
            let report = due_payments::run(db, clock, base_url).await?;
            let withdrawn = secondary::withdraw_unsellable(db, clock).await?;
            (
                report.loans,
                format!(
                    "due-payments {day}: {} loan(s), {} payment(s) collected, {} installment(s) overdue, {withdrawn} secondary listing(s) withdrawn",
                    report.loans, report.collected, report.overdue
                ),
            )
        }
        JobName::Penalties => {
            let report = penalties::run(db, clock, base_url).await?;
            (
                report.charged,
                format!(
                    "penalties {day}: {} overdue loan(s), {} installment(s) charged",
                    report.loans, report.charged
                ),
            )
        }
        JobName::Defaults => {
            let defaulted = defaults::run(db, clock, base_url).await?;
            let withdrawn = secondary::withdraw_unsellable(db, clock).await?;
            (
                defaulted,
                format!(
                    "defaults {day}: {defaulted} loan(s) defaulted, {withdrawn} secondary listing(s) withdrawn"
                ),
            )
        }
        JobName::Reminders => {
            let sent = reminders::run(db, clock, base_url).await?;
            (sent, format!("reminders {day}: {sent} reminder(s) queued"))
        }
        JobName::Outbox => {
            let mailer =
                mailer.ok_or_else(|| AppError::unexpected(anyhow::anyhow!("no mailer")))?;
            let report = outbox::run(db, mailer, clock).await?;
            (
                report.sent + report.retried + report.failed,
                format!("outbox: {report} (through {})", mailer.describe()),
            )
        }
        JobName::FundingExpiry => {
            let expired = funding::expire_due(db, clock, base_url).await?;
            (
                count(expired),
                format!("funding-expiry: {expired} loan(s) expired, their reservations released"),
            )
        }
        JobName::AutoInvest => {
            let report = auto_invest::run(db, clock, base_url).await?;
            (
                count(u64::try_from(report.investments).unwrap_or(u64::MAX)),
                format!(
                    "auto-invest: {} loan(s) offered, {} investment(s) made, {} filled",
                    report.loans, report.investments, report.filled
                ),
            )
        }
        JobName::Payouts => {
            let paid = funding::pay_out_due(db, clock, base_url).await?;
            (
                count(paid),
                format!("payouts: {paid} fully funded loan(s) paid out"),
            )
        }
    })
}
