//! `GET,POST /account/password`: change the password; every other session of
//! the account ends.

use actix_session::Session;
use actix_web::{HttpResponse, http::StatusCode, web::Data};
use askama::Template;
use serde::Deserialize;

use crate::{
    domain::user::NewPassword,
    error::{AppError, FieldErrors},
    services::auth::{self, SignedIn},
    state::AppState,
    web::{
        error::WebError,
        extractors::{ClientMeta, CurrentUser},
        forms::StrictForm,
        layout::{BaseCtx, render, see_other},
        session::{self, FlashLevel},
    },
};

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    new_password_confirm: String,
}

#[derive(Template)]
#[template(path = "account/password.html")]
struct PasswordPage {
    base: BaseCtx,
    errors: FieldErrors,
}

pub async fn form(base: BaseCtx) -> Result<HttpResponse, WebError> {
    render(
        StatusCode::OK,
        &PasswordPage {
            base,
            errors: FieldErrors::new(),
        },
    )
}

pub async fn submit(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    StrictForm(form): StrictForm<PasswordForm>,
) -> Result<HttpResponse, WebError> {
    let mut errors = FieldErrors::new();
    if form.current_password.is_empty() {
        errors.add("current_password", "Enter your current password.");
    }
    let new = NewPassword::parse(&form.new_password, None)
        .map_err(|e| errors.add("new_password", e.to_string()))
        .ok();
    if form.new_password_confirm != form.new_password {
        errors.add("new_password_confirm", "The two passwords do not match.");
    }
    let result = match new {
        Some(new) if errors.is_empty() => {
            auth::change_password(
                &state.db,
                state.clock.as_ref(),
                &state.sessions,
                user.id,
                form.current_password,
                new,
                &meta,
            )
            .await
        }
        _ => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(()) => {
            let signed_in = SignedIn {
                user_id: user.id,
                role: user.role,
                full_name: user.name.clone(),
            };
            session::sign_in(&session, &signed_in, &meta, state.clock.now())?;
            session::flash(
                &session,
                FlashLevel::Success,
                "Your password has been changed. Every other session has been signed out.",
            );
            Ok(see_other(user.role.home_path()))
        }
        Err(AppError::Validation(errors)) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &PasswordPage { base, errors },
        ),
        Err(other) => Err(other.into()),
    }
}
