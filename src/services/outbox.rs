//! The transactional outbox (DESIGN.md section 9). A use case that announces
//! something by email calls [`enqueue`] with its own transaction: the email
//! is rendered and stored as a `pending` row that commits, or rolls back,
//! with the change it announces. The `outbox` job then claims due rows one at
//! a time ([`claim_next`], which hands over a [`ClaimedEmail`]: the plain
//! [`OutgoingEmail`] the mailer sends, never the row), sends them, and
//! records the outcome ([`record_sent`], [`record_failure`]); staff may put a
//! failed email back in the queue ([`retry_now`]).
//!
//! Claiming is a conditional update (`... SET state = 'sending' WHERE id = ?
//! AND state = 'pending' ...`, checking the rows affected), so two senders,
//! on one instance or several, never send the same email. A claim is a lease:
//! one still `sending` after [`CLAIM_TIMEOUT`] belongs to a sender that
//! stopped mid-send (a crash, a kill), and [`requeue_abandoned`] puts it back
//! in the queue as a failed attempt, so nothing stays `sending`.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use serde_json::json;
use url::Url;

use crate::{
    clock::Clock,
    db::{self, entities::outbox_emails},
    domain::ids::UserId,
    domain::{
        error::DomainError,
        ids::EmailId,
        outbox::{AfterFailure, EmailState, after_failure},
        user::Email as EmailAddress,
    },
    error::AppError,
    mail::{
        OutgoingEmail,
        messages::{Email, Rendered},
    },
    services::{
        RequestMeta,
        audit::{self, AuditEvent},
    },
};

/// A `sending` row claimed longer ago than this belongs to a sender that
/// died mid-send: it goes back to the queue. Twice the longest send
/// (`SMTP_TIMEOUT` is at most a minute), so a live sender never loses its claim.
pub const CLAIM_TIMEOUT: TimeDelta = TimeDelta::minutes(2);

/// The error recorded for an attempt whose sender never reported back.
pub const ABANDONED_ERROR: &str =
    "the sender stopped before it finished (the process ended mid-send); tried again";

/// The longest error text kept with a row.
const MAX_ERROR_CHARS: usize = 500;

/// An absolute link into the site for an email, e.g. `link(base, "/account/identity")`.
#[must_use]
pub fn link(base_url: &Url, path: &str) -> String {
    base_url
        .join(path)
        .map_or_else(|_| format!("{base_url}{path}"), String::from)
}

/// An email rendered for its recipient, ready to be queued.
#[derive(Debug, Clone)]
pub struct RenderedEmail {
    kind: &'static str,
    to: EmailAddress,
    rendered: Rendered,
}

/// Renders `email` for `to` (before a transaction, when there are many).
///
/// # Errors
/// `Unexpected` when the address is not an email address or a template fails
/// to render.
pub fn render(to: &str, email: &impl Email) -> Result<RenderedEmail, AppError> {
    let to = EmailAddress::parse(to).map_err(|err| {
        anyhow::anyhow!(
            "cannot queue a {} email to an invalid address: {err}",
            email.kind()
        )
    })?;
    let rendered = email.render().map_err(|err| {
        anyhow::Error::new(err).context(format!("cannot render the {} email", email.kind()))
    })?;
    Ok(RenderedEmail {
        kind: email.kind(),
        to,
        rendered,
    })
}

/// Queues rendered emails, a thousand per statement, through `conn`: pass the use
/// case's transaction, so they exist only if the change they announce commits.
///
/// # Errors
/// When the insert fails.
pub async fn queue(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    emails: Vec<RenderedEmail>,
) -> Result<(), AppError> {
    if emails.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = emails
        .into_iter()
        .map(|email| outbox_emails::ActiveModel {
            id: Set(EmailId::new().into()),
            kind: Set(email.kind.to_owned()),
            to_address: Set(email.to.as_str().to_owned()),
            subject: Set(email.rendered.subject),
            text_body: Set(email.rendered.text),
            html_body: Set(email.rendered.html),
            state: Set(EmailState::Pending.as_str().to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            last_error: Set(None),
            claimed_at: Set(None),
            sent_at: Set(None),
            created_at: Set(now),
        })
        .collect();
    db::insert_all(conn, rows).await?;
    Ok(())
}

/// Renders `email` and queues it for `to`, through `db`: pass the use case's
/// transaction, so the email exists only if the change it announces commits.
///
/// # Errors
/// `Unexpected` when the address is not an email address, a template fails
/// to render, or the insert fails.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    to: &str,
    email: &impl Email,
) -> Result<(), AppError> {
    queue(db, now, vec![render(to, email)?]).await
}

/// What may be claimed at `now`: pending and due.
fn claimable(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(outbox_emails::Column::State.eq(EmailState::Pending.as_str()))
        .add(outbox_emails::Column::NextAttemptAt.lte(now))
}

/// Puts every claim older than [`CLAIM_TIMEOUT`] back in the queue: one more
/// attempt counted with [`ABANDONED_ERROR`], due again at once (or `failed`
/// once the attempts are used up, so a message that kills its sender cannot
/// loop forever). Returns how many were put back.
///
/// # Errors
/// On database failure.
pub async fn requeue_abandoned(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u32, DbErr> {
    let abandoned = outbox_emails::Entity::find()
        .filter(outbox_emails::Column::State.eq(EmailState::Sending.as_str()))
        .filter(outbox_emails::Column::ClaimedAt.lt(now - CLAIM_TIMEOUT))
        .all(db)
        .await?;
    let mut requeued = 0;
    for email in &abandoned {
        let outcome = match after_failure(email.attempts.saturating_add(1), now) {
            AfterFailure::RetryAt(_) => AfterFailure::RetryAt(now),
            gave_up @ AfterFailure::GaveUp => gave_up,
        };
        if finish_attempt(db, email, ABANDONED_ERROR, outcome).await? {
            tracing::warn!(email_id = %email.id, kind = %email.kind, "an email abandoned mid-send went back to the queue");
            requeued += 1;
        }
    }
    Ok(requeued)
}

/// An email this sender has claimed: what the mailer sends, and what
/// recording the outcome needs (the claim itself stays private to this
/// module).
#[derive(Debug, Clone)]
pub struct ClaimedEmail {
    /// What to send, built from the claimed row.
    pub email: OutgoingEmail,
    /// Which message it is (`kyc_decision`, ...), for the logs.
    pub kind: String,
    /// Failed attempts before this one.
    pub attempts: i32,
    row: outbox_emails::Model,
}

impl ClaimedEmail {
    fn new(row: outbox_emails::Model) -> Self {
        Self {
            email: OutgoingEmail {
                id: EmailId::from_uuid(row.id),
                to: row.to_address.clone(),
                subject: row.subject.clone(),
                text_body: row.text_body.clone(),
                html_body: row.html_body.clone(),
            },
            kind: row.kind.clone(),
            attempts: row.attempts,
            row,
        }
    }
}

/// Claims the next email due at `now` (oldest due first) for this sender,
/// or `None` when nothing is due. The claim is a conditional update: when
/// another sender claimed the same row first, this one moves on to the next.
///
/// # Errors
/// On database failure.
pub async fn claim_next(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Option<ClaimedEmail>, DbErr> {
    // Stored to the microsecond (PostgreSQL's precision), so that recording
    // the outcome finds the claim by its exact time on either database.
    let claimed_at = now.trunc_subsecs(6);
    loop {
        let Some(candidate) = outbox_emails::Entity::find()
            .filter(claimable(now))
            .order_by_asc(outbox_emails::Column::NextAttemptAt)
            .order_by_asc(outbox_emails::Column::Id)
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        let claimed = outbox_emails::Entity::update_many()
            .col_expr(
                outbox_emails::Column::State,
                Expr::value(EmailState::Sending.as_str()),
            )
            .col_expr(outbox_emails::Column::ClaimedAt, Expr::value(claimed_at))
            .filter(outbox_emails::Column::Id.eq(candidate.id))
            .filter(claimable(now))
            .exec(db)
            .await?;
        if claimed.rows_affected == 1 {
            return Ok(Some(ClaimedEmail::new(outbox_emails::Model {
                state: EmailState::Sending.as_str().to_owned(),
                claimed_at: Some(claimed_at),
                ..candidate
            })));
        }
    }
}

/// Marks a claimed email sent.
///
/// # Errors
/// On database failure.
pub async fn record_sent(
    db: &DatabaseConnection,
    claimed: &ClaimedEmail,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    outbox_emails::Entity::update_many()
        .col_expr(
            outbox_emails::Column::State,
            Expr::value(EmailState::Sent.as_str()),
        )
        .col_expr(outbox_emails::Column::SentAt, Expr::value(now))
        .filter(own_claim(&claimed.row))
        .exec(db)
        .await
        .map(|_| ())
}

/// The row as this sender claimed it: still `sending`, under the same claim
/// (a sender whose claim expired and was taken over records nothing).
fn own_claim(email: &outbox_emails::Model) -> Condition {
    Condition::all()
        .add(outbox_emails::Column::Id.eq(email.id))
        .add(outbox_emails::Column::State.eq(EmailState::Sending.as_str()))
        .add(outbox_emails::Column::ClaimedAt.eq(email.claimed_at))
}

/// Records a failed attempt on a claimed email: one more attempt, the error,
/// and either the next attempt's time (after [`backoff`](crate::domain::outbox::backoff)) or, after
/// `MAX_ATTEMPTS`, `failed`.
///
/// # Errors
/// On database failure.
pub async fn record_failure(
    db: &DatabaseConnection,
    claimed: &ClaimedEmail,
    error: &str,
    now: DateTime<Utc>,
) -> Result<AfterFailure, DbErr> {
    let outcome = after_failure(claimed.row.attempts.saturating_add(1), now);
    finish_attempt(db, &claimed.row, error, outcome).await?;
    Ok(outcome)
}

/// Ends a claimed attempt as failed: one more attempt, the error, and the
/// state `outcome` says. Whether the claim was still this sender's.
async fn finish_attempt(
    db: &DatabaseConnection,
    email: &outbox_emails::Model,
    error: &str,
    outcome: AfterFailure,
) -> Result<bool, DbErr> {
    let (state, next_attempt_at) = match outcome {
        AfterFailure::RetryAt(at) => (EmailState::Pending, at),
        AfterFailure::GaveUp => (EmailState::Failed, email.next_attempt_at),
    };
    let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
    let updated = outbox_emails::Entity::update_many()
        .col_expr(outbox_emails::Column::State, Expr::value(state.as_str()))
        .col_expr(
            outbox_emails::Column::Attempts,
            Expr::value(email.attempts.saturating_add(1)),
        )
        .col_expr(outbox_emails::Column::LastError, Expr::value(error))
        .col_expr(
            outbox_emails::Column::NextAttemptAt,
            Expr::value(next_attempt_at),
        )
        .filter(own_claim(email))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Puts a failed email back in the queue, due at once, for one more attempt
/// (its attempts and last error are kept). Audited. Returns the address it
/// goes to.
///
/// # Errors
/// `NotFound` for an unknown id; `Domain(EmailNotFailed)` when the email has not failed;
/// database failures.
pub async fn retry_now(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    actor_id: UserId,
    email_id: EmailId,
    meta: &RequestMeta,
) -> Result<String, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let email = outbox_emails::Entity::find_by_id(email_id.as_uuid())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let requeued = outbox_emails::Entity::update_many()
        .col_expr(
            outbox_emails::Column::State,
            Expr::value(EmailState::Pending.as_str()),
        )
        .col_expr(outbox_emails::Column::NextAttemptAt, Expr::value(now))
        .filter(outbox_emails::Column::Id.eq(email_id))
        .filter(outbox_emails::Column::State.eq(EmailState::Failed.as_str()))
        .exec(&txn)
        .await?;
    if requeued.rows_affected != 1 {
        let state = EmailState::parse(&email.state).ok_or_else(|| {
            anyhow::anyhow!("email {email_id} has the unknown state {:?}", email.state)
        })?;
        return Err(DomainError::EmailNotFailed { state }.into());
    }
    audit::record(
        &txn,
        AuditEvent {
            actor_id: Some(actor_id),
            action: "email_retry_requested",
            entity: Some(("outbox_email", email_id.to_string())),
            before: Some(json!({
                "state": email.state,
                "attempts": email.attempts,
                "last_error": email.last_error,
            })),
            after: Some(json!({
                "state": EmailState::Pending.as_str(),
                "next_attempt_at": now,
            })),
            meta,
            at: now,
        },
    )
    .await?;
    db::commit(txn).await?;
    Ok(email.to_address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_absolute() {
        let base = Url::parse("https://lend.example/").unwrap();
        assert_eq!(
            link(&base, "/account/identity"),
            "https://lend.example/account/identity"
        );
    }
}
