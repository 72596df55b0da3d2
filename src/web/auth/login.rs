//! `GET,POST /login`.

use actix_session::SessionExt;
use actix_web::{
    HttpRequest, HttpResponse,
    http::StatusCode,
    web::{Data, Query},
};
use askama::Template;
use serde::Deserialize;

use crate::{
    error::FieldErrors,
    format,
    services::auth::{self, Authenticated, LOCKOUT_MINUTES, LoginError},
    state::AppState,
    web::{
        device_cookie::{DeviceCookies, KnownDevices},
        error::WebError,
        extractors::ClientMeta,
        forms::StrictForm,
        guards::safe_next,
        layout::{BaseCtx, render, see_other},
        session,
    },
};

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    base: BaseCtx,
    email: String,
    next: String,
    errors: FieldErrors,
    notice: Option<String>,
}

pub async fn form(
    base: BaseCtx,
    req: HttpRequest,
    query: Query<LoginQuery>,
) -> Result<HttpResponse, WebError> {
    let next = safe_next(query.next.as_deref());
    if let Some(user) = &base.user {
        return Ok(see_other(next.as_deref().unwrap_or(user.role.home_path())));
    }
    let page = LoginPage {
        base: base.with_form(&req),
        email: String::new(),
        next: next.unwrap_or_default(),
        errors: FieldErrors::new(),
        notice: None,
    };
    render(StatusCode::OK, &page)
}

pub async fn submit(
    base: BaseCtx,
    req: HttpRequest,
    state: Data<AppState>,
    device_cookies: Data<DeviceCookies>,
    KnownDevices(known_devices): KnownDevices,
    ClientMeta(meta): ClientMeta,
    StrictForm(form): StrictForm<LoginForm>,
) -> Result<HttpResponse, WebError> {
    let session = req.get_session();
    let next = safe_next(form.next.as_deref());
    let mut errors = FieldErrors::new();
    if form.email.trim().is_empty() {
        errors.add("email", "Enter your email address.");
    }
    if form.password.is_empty() {
        errors.add("password", "Enter your password.");
    }
    let (status, notice) = if errors.is_empty() {
        match auth::authenticate(
            &state.db,
            state.clock.as_ref(),
            &form.email,
            form.password,
            &known_devices,
            &meta,
        )
        .await
        {
            Ok(Authenticated { user, device_id }) => {
                session::sign_in(&session, &user, &meta, state.clock.now())?;
                let mut response = see_other(next.as_deref().unwrap_or(user.role.home_path()));
                device_cookies.remember(&mut response, user.user_id, device_id)?;
                return Ok(response);
            }
            Err(LoginError::InvalidCredentials) => {
                errors.add("password", LoginError::InvalidCredentials.to_string());
                (StatusCode::UNPROCESSABLE_ENTITY, None)
            }
            Err(LoginError::Locked { until }) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!(
                    "This account is locked for {LOCKOUT_MINUTES} minutes after too many failed \
                     sign-in attempts. Try again after {}, or from a browser you have signed \
                     in with before.",
                    format::datetime(&until)
                )),
            ),
            Err(LoginError::Throttled) => (
                StatusCode::TOO_MANY_REQUESTS,
                Some(format!(
                    "Too many failed sign-in attempts from your network. Try again in \
                     {LOCKOUT_MINUTES} minutes, or from a browser you have signed in with \
                     before."
                )),
            ),
            Err(LoginError::Unexpected(err)) => return Err(err.into()),
        }
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, None)
    };
    let page = LoginPage {
        base: base.with_form(&req),
        email: form.email,
        next: next.unwrap_or_default(),
        errors,
        notice,
    };
    render(status, &page)
}
