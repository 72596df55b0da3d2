//! The `crowdlend` command line (DESIGN.md section 11).

use std::{io::IsTerminal, process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use crate::{
    clock::{Clock, FixedClock, SharedClock, SystemClock},
    config::{SecretKeySource, Settings},
    db::{
        self,
        session_store::{DbSessionStore, SessionCache},
    },
    domain::user::{Email, NewPassword, PersonName, Role},
    error::AppError,
    jobs::{self, JobName, runs},
    ledger,
    mail::Mailer,
    services::{
        RequestMeta,
        auth::{self, NewAccount},
        demo,
    },
    startup::Application,
};

#[derive(Debug, Parser)]
#[command(
    name = "crowdlend",
    version,
    about = "Crowdlend peer-to-peer lending platform"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve the web application.
    Serve {
        /// Fill an empty database with demo accounts first.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Create an administrator (password from ADMIN_PASSWORD, else a prompt).
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
    /// Fill an empty database with demo accounts and print them.
    Demo,
    /// Check every ledger invariant and the hash chain; exit 1 on any violation.
    Verify,
    /// Background jobs, one pass at a time (cron-friendly; `serve` also runs them).
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Run one pass of a job and print what it did.
    Run {
        /// Which job.
        #[arg(value_enum)]
        name: JobName,
        /// Run as of this day (YYYY-MM-DD) at the current time of day, instead of now.
        #[arg(long, value_name = "YYYY-MM-DD", conflicts_with_all = ["from", "to"])]
        date: Option<NaiveDate>,
        /// With `all`: the first day to run every job for.
        #[arg(long, value_name = "YYYY-MM-DD", requires = "to")]
        from: Option<NaiveDate>,
        /// With `all`: the last day to run every job for.
        #[arg(long, value_name = "YYYY-MM-DD", requires = "from")]
        to: Option<NaiveDate>,
    },
}

impl Command {
    /// Whether the command only reads: it then migrates nothing and writes no
    /// generated secret key.
    #[must_use]
    pub fn only_reads(&self) -> bool {
        matches!(self, Self::Verify)
    }
}

/// Runs a command with loaded settings.
pub async fn run(command: Command, settings: Settings, key_source: SecretKeySource) -> ExitCode {
    if key_source == SecretKeySource::Generated {
        tracing::warn!(
            "SECRET_KEY is not set: generated one and saved it in {}; set SECRET_KEY (the same on \
             every instance) in production",
            settings.data_dir.join("secret_key").display()
        );
    }
    match execute(command, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command, settings: Settings) -> anyhow::Result<()> {
    if command.only_reads() {
        return verify(&settings.database_url).await;
    }
    let clock: SharedClock = Arc::new(SystemClock);
    let db = db::connect(&settings.database_url).await?;
    let applied = db::migrate(&db, clock.as_ref()).await?;
    match command {
        Command::Migrate => {
            println!("{applied} migration(s) applied; the schema is up to date.");
            Ok(())
        }
        Command::CreateAdmin { email, name } => {
            create_admin(&db, clock.as_ref(), &email, &name).await
        }
        Command::Demo => seed_demo(&db, clock.as_ref(), &settings.base_url).await,
        Command::Verify => verify(&settings.database_url).await,
        Command::Serve { demo } => {
            if demo {
                seed_demo(&db, clock.as_ref(), &settings.base_url).await?;
            }
            serve(settings, db, clock).await
        }
        Command::Jobs {
            command:
                JobsCommand::Run {
                    name,
                    date,
                    from,
                    to,
                },
        } => {
            let days = match (date, from, to) {
                (_, Some(from), Some(to)) if from <= to => from
                    .iter_days()
                    .take_while(|day| *day <= to)
                    .map(Some)
                    .collect(),
                (_, Some(_), Some(_)) => anyhow::bail!("--from must not be after --to"),
                _ => vec![date],
            };
            let names: &[JobName] = if name == JobName::All {
                &JobName::DAILY
            } else {
                &[name]
            };
            for day in days {
                for name in names {
                    run_job(&settings, &db, clock.clone(), *name, day).await?;
                }
            }
            Ok(())
        }
    }
}

/// `verify`: reads the ledger through a connection that cannot write, and
/// refuses a database whose schema is behind this program (it would not
/// know what it reads) instead of migrating it.
async fn verify(database_url: &str) -> anyhow::Result<()> {
    let db = db::connect_read_only(database_url).await?;
    let pending = db::pending_migrations(&db).await?;
    if pending > 0 {
        anyhow::bail!(
            "the database is missing {pending} migration(s) this program expects; verify only \
             reads, so run `crowdlend migrate` first"
        );
    }
    let report = ledger::verify::verify(&db).await?;
    println!("{report}");
    if report.holds() {
        Ok(())
    } else {
        anyhow::bail!("the ledger does not verify")
    }
}

async fn run_job(
    settings: &Settings,
    db: &sea_orm::DatabaseConnection,
    clock: SharedClock,
    name: JobName,
    date: Option<NaiveDate>,
) -> anyhow::Result<()> {
    let clock: SharedClock = match date {
        Some(day) => Arc::new(FixedClock::at(day.and_time(clock.now().time()).and_utc())),
        None => clock,
    };
    let mailer = match name {
        JobName::Outbox => Some(Mailer::from_settings(settings)?),
        _ => None,
    };
    let pass = jobs::run_named(
        name,
        db,
        clock.as_ref(),
        &settings.base_url,
        mailer.as_ref(),
    );
    let summary = runs::recorded_with_summary(db, name.as_str(), clock.as_ref(), pass)
        .await
        .map_err(app_error)
        .with_context(|| format!("the {} job failed", name.as_str()))?;
    println!("{summary}");
    Ok(())
}

async fn seed_demo(
    db: &sea_orm::DatabaseConnection,
    clock: &dyn Clock,
    base_url: &url::Url,
) -> anyhow::Result<()> {
    if demo::seed(db, clock, base_url).await.map_err(app_error)? {
        println!("Demo accounts (password: {}):", demo::DEMO_PASSWORD);
        for (email, name, role) in demo::DEMO_ACCOUNTS {
            println!("  {:<10} {email:<24} {name}", role.as_str());
        }
    } else {
        println!("The database already has accounts; demo data was not added.");
    }
    Ok(())
}

async fn serve(
    settings: Settings,
    db: sea_orm::DatabaseConnection,
    clock: SharedClock,
) -> anyhow::Result<()> {
    // The first pass runs now, after `execute` migrated.
    jobs::spawn_optimize_worker(db.clone());
    let sessions = DbSessionStore::new(db.clone(), clock.clone(), SessionCache::default());
    let purge_db = db.clone();
    let purge_clock = clock.clone();
    jobs::every(Duration::from_secs(600), move || {
        let sessions = sessions.clone();
        let (db, clock) = (purge_db.clone(), purge_clock.clone());
        async move {
            match sessions.purge_expired().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "expired sessions removed"),
                Err(err) => tracing::warn!(error = %err, "could not remove expired sessions"),
            }
            match auth::forget_unused_devices(&db, clock.as_ref()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(devices = n, "unused sign-in devices forgotten"),
                Err(err) => tracing::warn!(error = ?err, "could not forget unused devices"),
            }
        }
    });
    let mailer = Mailer::from_settings(&settings)?;
    tracing::info!(to = %mailer.describe(), "emails go out through the outbox job");
    jobs::spawn_outbox_worker(db.clone(), mailer, clock.clone());
    jobs::spawn_funding_expiry_worker(db.clone(), clock.clone(), settings.base_url.clone());
    jobs::spawn_payouts_worker(db.clone(), clock.clone(), settings.base_url.clone());
    jobs::spawn_auto_invest_worker(db.clone(), clock.clone(), settings.base_url.clone());
    jobs::spawn_servicing_worker(db.clone(), clock.clone(), settings.base_url.clone());
    let base_url = settings.base_url.clone();
    let app = Application::build(settings, db, clock)?;
    tracing::info!(port = app.port(), "listening");
    println!("Crowdlend is running: open {base_url}");
    app.run_until_stopped()
        .await
        .context("the server stopped with an error")
}

async fn create_admin(
    db: &sea_orm::DatabaseConnection,
    clock: &dyn Clock,
    email: &str,
    name: &str,
) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let name = PersonName::parse(name).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
    let raw = match std::env::var("ADMIN_PASSWORD") {
        Ok(password) => password,
        Err(_) if std::io::stdin().is_terminal() => {
            let first = rpassword::prompt_password("Password for the new admin: ")?;
            let second = rpassword::prompt_password("Repeat the password: ")?;
            if first != second {
                anyhow::bail!("the two passwords do not match");
            }
            first
        }
        Err(_) => anyhow::bail!("set ADMIN_PASSWORD or run from a terminal to be prompted"),
    };
    let password =
        NewPassword::parse(&raw, Some(&email)).map_err(|e| anyhow::anyhow!("password: {e}"))?;
    let account = NewAccount {
        email: email.clone(),
        full_name: name,
        password,
        role: Role::Admin,
    };
    auth::create_account(db, clock, None, account, &RequestMeta::default())
        .await
        .map_err(app_error)?;
    println!("Admin {email} created. Sign in at /login.");
    Ok(())
}

fn app_error(err: AppError) -> anyhow::Error {
    match err {
        AppError::Validation(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|(field, msg)| format!("{field}: {msg}"))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        AppError::Unexpected(err) => err,
        other => anyhow::anyhow!("{other}"),
    }
}
