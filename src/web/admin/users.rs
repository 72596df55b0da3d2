//! `GET,POST /admin/users`: every account, and creating staff (admins only).

use actix_session::Session;
use actix_web::{
    HttpResponse,
    web::{Data, Query},
};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::{
    db::queries::{
        Page,
        users::{self, UserRow},
    },
    domain::user::{Email, KycStatus, NewPassword, PersonName, Role},
    error::{AppError, FieldErrors},
    services::auth::{self, NewAccount},
    state::AppState,
    web::{
        error::WebError,
        extractors::{ClientMeta, CurrentUser},
        format,
        forms::StrictForm,
        layout::{BaseCtx, form_status, render, see_other},
        session::{self, FlashLevel},
    },
};

#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    role: Option<String>,
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

    fn is_locked(&self, row: &UserRow) -> bool {
        row.locked_until.is_some_and(|until| until > self.now)
    }

    fn joined(&self, row: &UserRow) -> String {
        format::date(&row.created_at)
    }

    fn page_link(&self, page: u64) -> String {
        if self.role_filter.is_empty() {
            format!("/admin/users?page={page}")
        } else {
            format!("/admin/users?role={}&page={page}", self.role_filter)
        }
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
    let users = users::list(&state.db, role.map(Role::as_str), query.page).await?;
    let status = form_status(&errors);
    render(
        status,
        &UsersPage {
            base,
            now: state.clock.now(),
            users,
            role_filter: role.map(|r| r.as_str().to_owned()).unwrap_or_default(),
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
                page: None,
            };
            render_page(base, &state, &query, form, errors).await
        }
        Err(other) => Err(other.into()),
    }
}
