//! `/admin/jobs`: every named job with a "Run now" button (`POST
//! /admin/jobs/run`, `name`) and the latest runs (business day, start, end,
//! items, outcome, error); and the email outbox as staff watch it: how many
//! emails are in each state, and those that failed or wait to be tried
//! again, with the error; a failed email can be put back in the queue.

use actix_session::Session;
use actix_web::{
    HttpResponse,
    web::{Data, Path, Query},
};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    db::queries::{Page, outbox as queries},
    domain::ids::EmailId,
    domain::outbox::EmailState,
    format,
    jobs::{JobName, run_named, runs},
    mail::Mailer,
    services::audit,
    services::outbox,
    state::AppState,
    web::{
        admin::audit::humanize,
        error::WebError,
        extractors::{ClientMeta, CurrentUser},
        forms::StrictForm,
        layout::{BaseCtx, page, see_other},
        session::{self, FlashLevel},
    },
};

pub const JOBS_PAGE: &str = "/admin/jobs";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsQuery {
    page: Option<u64>,
}

/// The retry button's form carries nothing but the CSRF token.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryForm {}

struct StateCount {
    state: &'static str,
    label: &'static str,
    count: u64,
}

struct EmailLine {
    id: Uuid,
    created: String,
    to: String,
    kind: String,
    state: &'static str,
    state_label: &'static str,
    attempts: i32,
    last_error: String,
    next_attempt: String,
    failed: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunForm {
    name: String,
}

struct JobView {
    name: &'static str,
    about: &'static str,
}

struct RunLine {
    name: String,
    business_date: String,
    started: String,
    finished: String,
    items: i32,
    outcome: String,
    error: String,
}

/// The job runs listed.
const RUNS_SHOWN: u64 = 50;

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage {
    base: BaseCtx,
    jobs: Vec<JobView>,
    runs: Vec<RunLine>,
    counts: Vec<StateCount>,
    emails: Page<EmailLine>,
}

impl JobsPage {
    fn page_link(&self, page: u64) -> String {
        format!("{JOBS_PAGE}?page={page}")
    }
}

pub async fn index(
    base: BaseCtx,
    state: Data<AppState>,
    Query(query): Query<JobsQuery>,
) -> Result<HttpResponse, WebError> {
    let counts = queries::count_by_state(&state.db)
        .await?
        .into_iter()
        .map(|(state, count)| StateCount {
            state: state.as_str(),
            label: state.label(),
            count,
        })
        .collect();
    let rows = queries::troubled(&state.db, query.page).await?;
    let emails = Page {
        items: rows
            .items
            .into_iter()
            .map(|row| {
                let email_state = EmailState::parse(&row.state);
                let failed = email_state == Some(EmailState::Failed);
                EmailLine {
                    id: row.id,
                    created: format::datetime(&row.created_at),
                    to: row.to_address,
                    kind: humanize(&row.kind),
                    state: email_state.map_or("unknown", EmailState::as_str),
                    state_label: email_state.map_or("Unknown", EmailState::label),
                    attempts: row.attempts,
                    last_error: row.last_error.unwrap_or_default(),
                    next_attempt: if failed {
                        "—".to_owned()
                    } else {
                        format::datetime(&row.next_attempt_at)
                    },
                    failed,
                }
            })
            .collect(),
        page: rows.page,
        pages: rows.pages,
        total: rows.total,
    };
    let runs = queries::job_runs(&state.db, RUNS_SHOWN)
        .await?
        .into_iter()
        .map(|run| RunLine {
            name: run.name,
            business_date: format::day(run.business_date),
            started: format::datetime(&run.started_at),
            finished: run
                .finished_at
                .as_ref()
                .map_or_else(|| "—".to_owned(), format::datetime),
            items: run.items,
            outcome: run.outcome,
            error: run.error.unwrap_or_default(),
        })
        .collect();
    page(&JobsPage {
        base,
        jobs: JobName::DAILY
            .iter()
            .map(|job| JobView {
                name: job.as_str(),
                about: job.about(),
            })
            .collect(),
        runs,
        counts,
        emails,
    })
}

/// `POST /admin/jobs/run`: one recorded pass of the job `name`, now.
pub async fn run_now(
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    StrictForm(form): StrictForm<RunForm>,
) -> Result<HttpResponse, WebError> {
    let Some(name) = JobName::parse(form.name.trim()) else {
        return Err(WebError::Unprocessable(
            "There is no job of that name.".to_owned(),
        ));
    };
    let mailer = match name {
        JobName::Outbox => Some(
            Mailer::from_settings(&state.settings).map_err(crate::error::AppError::unexpected)?,
        ),
        _ => None,
    };
    let clock = state.clock.as_ref();
    let pass = run_named(
        name,
        &state.db,
        clock,
        &state.settings.base_url,
        mailer.as_ref(),
    );
    let outcome = runs::recorded_with_summary(&state.db, name.as_str(), clock, pass).await;
    audit::record(
        &state.db,
        audit::AuditEvent {
            actor_id: Some(user.id),
            action: "job.run",
            entity: Some(("job", name.as_str().to_owned())),
            before: None,
            after: Some(serde_json::json!({ "succeeded": outcome.is_ok() })),
            meta: &meta,
            at: clock.now(),
        },
    )
    .await
    .map_err(crate::error::AppError::from)?;
    match outcome {
        Ok(summary) => session::flash(&session, FlashLevel::Success, format!("Done: {summary}.")),
        Err(err) => {
            tracing::warn!(job = name.as_str(), error = %err, "a job run from the admin area failed");
            session::flash(
                &session,
                FlashLevel::Error,
                format!(
                    "The {} job failed; the run below shows the error.",
                    name.as_str()
                ),
            );
        }
    }
    Ok(see_other(JOBS_PAGE))
}

/// `POST /admin/jobs/emails/{id}/retry`.
pub async fn retry(
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    id: Path<EmailId>,
    StrictForm(RetryForm {}): StrictForm<RetryForm>,
) -> Result<HttpResponse, WebError> {
    let to = outbox::retry_now(
        &state.db,
        state.clock.as_ref(),
        user.id,
        id.into_inner(),
        &meta,
    )
    .await?;
    session::flash(
        &session,
        FlashLevel::Success,
        format!("The email to {to} is back in the queue and will be sent on the next run."),
    );
    Ok(see_other(JOBS_PAGE))
}
