//! `GET,POST /register`: borrowers and investors open their own accounts.

use actix_session::Session;
use actix_web::{
    HttpRequest, HttpResponse,
    http::StatusCode,
    web::{Data, Query},
};
use askama::Template;
use serde::Deserialize;

use crate::{
    domain::user::{Email, NewPassword, PersonName, Role},
    error::{AppError, FieldErrors},
    services::auth::{self, Authenticated, NewAccount},
    state::AppState,
    web::{
        device_cookie::DeviceCookies,
        error::WebError,
        extractors::ClientMeta,
        forms::{StrictForm, checked},
        layout::{BaseCtx, render, see_other},
        session::{self, FlashLevel},
    },
};

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterForm {
    email: String,
    password: String,
    password_confirm: String,
    full_name: String,
    role: String,
    accept_terms: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/register.html")]
struct RegisterPage {
    base: BaseCtx,
    email: String,
    full_name: String,
    role: String,
    accept_terms: bool,
    errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct RegisterQuery {
    role: Option<String>,
}

pub async fn form(
    base: BaseCtx,
    req: HttpRequest,
    query: Query<RegisterQuery>,
) -> Result<HttpResponse, WebError> {
    if let Some(user) = &base.user {
        return Ok(see_other(user.role.home_path()));
    }
    let role = query
        .role
        .as_deref()
        .and_then(Role::parse)
        .filter(|role| role.is_self_registrable())
        .map(|role| role.as_str().to_owned())
        .unwrap_or_default();
    let page = RegisterPage {
        base: base.with_form(&req),
        email: String::new(),
        full_name: String::new(),
        role,
        accept_terms: false,
        errors: FieldErrors::new(),
    };
    render(StatusCode::OK, &page)
}

fn validate(form: &RegisterForm) -> Result<NewAccount, FieldErrors> {
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
    if form.password_confirm != form.password {
        errors.add("password_confirm", "The two passwords do not match.");
    }
    let role = Role::parse(&form.role).filter(|role| role.is_self_registrable());
    if role.is_none() {
        errors.add("role", "Choose whether you want to borrow or to invest.");
    }
    if !checked(form.accept_terms.as_ref()) {
        errors.add(
            "accept_terms",
            "You need to accept the terms of use to open an account.",
        );
    }
    match (email, full_name, password, role) {
        (Some(email), Some(full_name), Some(password), Some(role)) if errors.is_empty() => {
            Ok(NewAccount {
                email,
                full_name,
                password,
                role,
            })
        }
        _ => Err(errors),
    }
}

pub async fn submit(
    base: BaseCtx,
    req: HttpRequest,
    session: Session,
    state: Data<AppState>,
    device_cookies: Data<DeviceCookies>,
    ClientMeta(meta): ClientMeta,
    StrictForm(form): StrictForm<RegisterForm>,
) -> Result<HttpResponse, WebError> {
    let result = match validate(&form) {
        Ok(account) => auth::register(&state.db, state.clock.as_ref(), account, &meta).await,
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(Authenticated { user, device_id }) => {
            session::sign_in(&session, &user, &meta, state.clock.now())?;
            session::flash(
                &session,
                FlashLevel::Success,
                format!(
                    "Welcome to Crowdlend, {}. Your account is ready.",
                    user.full_name
                ),
            );
            let mut response = see_other(user.role.home_path());
            device_cookies.remember(&mut response, user.user_id, device_id)?;
            Ok(response)
        }
        Err(AppError::Validation(errors)) => {
            // Everything the person typed comes back, except the passwords.
            let page = RegisterPage {
                base: base.with_form(&req),
                email: form.email,
                full_name: form.full_name,
                role: form.role,
                accept_terms: checked(form.accept_terms.as_ref()),
                errors,
            };
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(other) => Err(other.into()),
    }
}
