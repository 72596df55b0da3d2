//! `/admin/jobs`: the email outbox as staff watch it: how many emails are in
//! each state, and those that failed or wait to be tried again, with the
//! error; a failed email can be put back in the queue.

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

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage {
    base: BaseCtx,
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
    page(&JobsPage {
        base,
        counts,
        emails,
    })
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
