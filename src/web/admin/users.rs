//! `/admin/users`: every account, filtered by role or identity-check status
//! with the review queue first (staff and admins); creating staff (admins
//! only); one account's page with its identity details and history, where
//! staff verify or reject the identity check.

use actix_session::Session;
use actix_web::{
    HttpResponse,
    web::{Data, Path, Query},
};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::{
    db::queries::{
        Page, audit,
        users::{self, UserFilter, UserRow},
    },
    domain::ids::UserId,
    domain::{
        identity::{KycReview, KycReviewError, MAX_REASON_CHARS},
        user::{Email, KycStatus, NewPassword, PersonName, Role},
    },
    error::{AppError, FieldErrors},
    format,
    services::{
        auth::{self, NewAccount},
        kyc,
    },
    state::AppState,
    web::{
        admin::audit::{humanize, json},
        error::WebError,
        extractors::{ClientMeta, CurrentUser},
        forms::StrictForm,
        layout::{BaseCtx, form_status, render, see_other},
        session::{self, FlashLevel},
    },
};

#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    role: Option<String>,
    kyc: Option<String>,
    page: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewStaffForm {
    email: String,
    full_name: String,
    password: String,
}

#[derive(Template)]
#[template(path = "admin/users/index.html")]
struct UsersPage {
    base: BaseCtx,
    now: DateTime<Utc>,
    users: Page<UserRow>,
    role_filter: String,
    kyc_filter: String,
    email: String,
    full_name: String,
    errors: FieldErrors,
}

impl UsersPage {
    fn role_label(&self, role: &str) -> &'static str {
        Role::parse(role).map_or("Unknown", Role::label)
    }

    fn kyc_label(&self, status: &str) -> &'static str {
        KycStatus::parse(status).map_or("Unknown", KycStatus::label)
    }

    fn is_filter(&self, role: &str) -> bool {
        self.role_filter == role
    }

    fn is_kyc_filter(&self, status: &str) -> bool {
        self.kyc_filter == status
    }

    fn identity_sent(&self, row: &UserRow) -> String {
        row.identity_sent_at
            .as_ref()
            .map_or_else(String::new, format::datetime)
    }

    /// This list's address with one filter changed (`None` removes it).
    fn filter_link(&self, role: Option<&str>, kyc: Option<&str>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(role) = role.filter(|r| !r.is_empty()) {
            query.append_pair("role", role);
        }
        if let Some(kyc) = kyc.filter(|k| !k.is_empty()) {
            query.append_pair("kyc", kyc);
        }
        let query = query.finish();
        if query.is_empty() {
            "/admin/users".to_owned()
        } else {
            format!("/admin/users?{query}")
        }
    }

    fn role_link(&self, role: Option<&str>) -> String {
        self.filter_link(role, Some(&self.kyc_filter))
    }

    fn kyc_link(&self, kyc: Option<&str>) -> String {
        self.filter_link(Some(&self.role_filter), kyc)
    }

    fn is_locked(&self, row: &UserRow) -> bool {
        row.locked_until.is_some_and(|until| until > self.now)
    }

    fn joined(&self, row: &UserRow) -> String {
        format::date(&row.created_at)
    }

    fn page_link(&self, page: u64) -> String {
        let base = self.filter_link(Some(&self.role_filter), Some(&self.kyc_filter));
        let separator = if base.contains('?') { '&' } else { '?' };
        format!("{base}{separator}page={page}")
    }
}

async fn render_page(
    base: BaseCtx,
    state: &AppState,
    query: &UsersQuery,
    form: NewStaffForm,
    errors: FieldErrors,
) -> Result<HttpResponse, WebError> {
    let role = query.role.as_deref().and_then(Role::parse);
    let kyc = query.kyc.as_deref().and_then(KycStatus::parse);
    let filter = UserFilter {
        role: role.map(Role::as_str),
        kyc_status: kyc.map(KycStatus::as_str),
    };
    let users = users::list(&state.db, filter, query.page).await?;
    let status = form_status(&errors);
    render(
        status,
        &UsersPage {
            base,
            now: state.clock.now(),
            users,
            role_filter: role.map(|r| r.as_str().to_owned()).unwrap_or_default(),
            kyc_filter: kyc.map(|k| k.as_str().to_owned()).unwrap_or_default(),
            email: form.email,
            full_name: form.full_name,
            errors,
        },
    )
}

pub async fn index(
    base: BaseCtx,
    state: Data<AppState>,
    query: Query<UsersQuery>,
) -> Result<HttpResponse, WebError> {
    render_page(
        base,
        &state,
        &query,
        NewStaffForm::default(),
        FieldErrors::new(),
    )
    .await
}

fn validate(form: &NewStaffForm) -> Result<NewAccount, FieldErrors> {
    let mut errors = FieldErrors::new();
    let email = Email::parse(&form.email)
        .map_err(|e| errors.add("email", e.to_string()))
        .ok();
    let full_name = PersonName::parse(&form.full_name)
        .map_err(|e| errors.add("full_name", e.to_string()))
        .ok();
    let password = NewPassword::parse(&form.password, email.as_ref())
        .map_err(|e| errors.add("password", e.to_string()))
        .ok();
    match (email, full_name, password) {
        (Some(email), Some(full_name), Some(password)) => Ok(NewAccount {
            email,
            full_name,
            password,
            role: Role::Staff,
        }),
        _ => Err(errors),
    }
}

pub async fn create(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(admin): CurrentUser,
    ClientMeta(meta): ClientMeta,
    StrictForm(form): StrictForm<NewStaffForm>,
) -> Result<HttpResponse, WebError> {
    let result = match validate(&form) {
        Ok(account) => {
            auth::create_account(
                &state.db,
                state.clock.as_ref(),
                Some(admin.id),
                account,
                &meta,
            )
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(_) => {
            session::flash(
                &session,
                FlashLevel::Success,
                format!(
                    "Staff account created for {}.",
                    form.email.trim().to_lowercase()
                ),
            );
            Ok(see_other("/admin/users?role=staff"))
        }
        Err(AppError::Validation(errors)) => {
            let query = UsersQuery {
                role: None,
                kyc: None,
                page: None,
            };
            render_page(base, &state, &query, form, errors).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KycDecisionForm {
    decision: String,
    reason: String,
}

struct IdentityView {
    document: &'static str,
    number: String,
    issued_on: String,
    address: String,
    submitted: String,
    updated: String,
}

struct HistoryLine {
    at: String,
    actor: String,
    action: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "admin/users/show.html")]
struct UserPage {
    base: BaseCtx,
    id: UserId,
    full_name: String,
    email: String,
    role: Role,
    kyc: KycStatus,
    kyc_reason: Option<String>,
    joined: String,
    locked: bool,
    identity: Option<IdentityView>,
    history: Vec<HistoryLine>,
    form: KycDecisionForm,
    errors: FieldErrors,
    max_reason_chars: usize,
}

/// How many audit records the user page shows.
const HISTORY_LINES: u64 = 50;

async fn render_user(
    base: BaseCtx,
    state: &AppState,
    user_id: UserId,
    form: KycDecisionForm,
    errors: FieldErrors,
) -> Result<HttpResponse, WebError> {
    let detail = users::detail(&state.db, user_id)
        .await?
        .ok_or(WebError::NotFound)?;
    let history = audit::about_user(&state.db, user_id, HISTORY_LINES)
        .await?
        .into_iter()
        .map(|row| HistoryLine {
            at: format::datetime(&row.created_at),
            actor: row.actor_email.unwrap_or_else(|| "—".to_owned()),
            action: humanize(&row.action),
            before: json(row.before),
            after: json(row.after),
        })
        .collect();
    let user = detail.user;
    render(
        form_status(&errors),
        &UserPage {
            base,
            id: user.id,
            role: user.role,
            kyc: user.kyc_status,
            kyc_reason: detail.kyc_reason,
            joined: format::date(&detail.created_at),
            locked: detail
                .locked_until
                .is_some_and(|until| until > state.clock.now()),
            full_name: user.full_name,
            email: user.email.as_str().to_owned(),
            identity: detail.identity.map(|document| IdentityView {
                document: document.document_type.label(),
                number: document.document_number,
                issued_on: format::day(document.issued_on),
                address: document.address,
                submitted: format::datetime(&document.submitted_at),
                updated: format::datetime(&document.updated_at),
            }),
            history,
            form,
            errors,
            max_reason_chars: MAX_REASON_CHARS,
        },
    )
}

pub async fn show(
    base: BaseCtx,
    state: Data<AppState>,
    id: Path<UserId>,
) -> Result<HttpResponse, WebError> {
    render_user(
        base,
        &state,
        id.into_inner(),
        KycDecisionForm::default(),
        FieldErrors::new(),
    )
    .await
}

/// `POST /admin/users/{id}/kyc`: verify or reject a pending identity check.
pub async fn decide_kyc(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(reviewer): CurrentUser,
    ClientMeta(meta): ClientMeta,
    id: Path<UserId>,
    StrictForm(form): StrictForm<KycDecisionForm>,
) -> Result<HttpResponse, WebError> {
    let user_id = id.into_inner();
    let result = match KycReview::parse(&form.decision, &form.reason) {
        Ok(review) => {
            kyc::decide(
                &state.db,
                state.clock.as_ref(),
                reviewer.id,
                user_id,
                &review,
                &state.settings.base_url,
                &meta,
            )
            .await
        }
        Err(err @ KycReviewError::Decision) => Err(AppError::Validation(FieldErrors::single(
            "decision",
            err.to_string(),
        ))),
        Err(err) => Err(AppError::Validation(FieldErrors::single(
            "reason",
            err.to_string(),
        ))),
    };
    match result {
        Ok(status) => {
            let message = if status == KycStatus::Verified {
                "Identity verified. The person will be emailed."
            } else {
                "Identity check rejected. The person will be emailed the reason."
            };
            session::flash(&session, FlashLevel::Success, message);
            Ok(see_other(&format!("/admin/users/{user_id}")))
        }
        Err(AppError::Validation(errors)) => render_user(base, &state, user_id, form, errors).await,
        Err(other) => Err(other.into()),
    }
}
