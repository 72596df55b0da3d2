//! `GET,POST /account/identity`: a borrower or investor sends their identity
//! details for the identity check (KYC) and sees where the check stands.

use actix_session::Session;
use actix_web::{HttpResponse, web::Data};
use askama::Template;
use serde::Deserialize;
use validator::Validate;

use crate::{
    db::queries::users,
    domain::ids::UserId,
    domain::{
        identity::{
            DocumentType, IdentityDocument, MAX_ADDRESS_CHARS, parse_address,
            parse_document_number, parse_issued_on,
        },
        user::KycStatus,
    },
    error::{AppError, FieldErrors},
    services::identity::{self, Submission},
    state::AppState,
    web::{
        error::WebError,
        extractors::{ClientMeta, CurrentUser},
        forms::{Choice, StrictForm, choices, field_errors},
        layout::{BaseCtx, form_status, render, see_other},
        session::{self, FlashLevel},
    },
};

pub const IDENTITY_PAGE: &str = "/account/identity";

#[derive(Debug, Default, Deserialize, Validate)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityForm {
    #[validate(length(min = 1, message = "Choose the kind of document."))]
    document_type: String,
    #[validate(length(
        min = 1,
        max = 60,
        message = "Enter the document number as printed: 4 to 30 letters and digits."
    ))]
    document_number: String,
    #[validate(length(
        min = 1,
        max = 20,
        message = "Enter the date the document was issued, like 2020-03-31."
    ))]
    issued_on: String,
    #[validate(length(min = 1, max = 600, message = "Enter your full home address."))]
    address: String,
}

#[derive(Template)]
#[template(path = "account/identity.html")]
struct IdentityPage {
    base: BaseCtx,
    status: KycStatus,
    reason: Option<String>,
    form: IdentityForm,
    errors: FieldErrors,
    document_types: Vec<Choice>,
    today: String,
    max_address_chars: usize,
}

async fn render_page(
    base: BaseCtx,
    state: &AppState,
    user_id: UserId,
    form: Option<IdentityForm>,
    errors: FieldErrors,
) -> Result<HttpResponse, WebError> {
    let detail = users::detail(&state.db, user_id)
        .await?
        .ok_or(WebError::NotFound)?;
    let form = form.unwrap_or_else(|| {
        detail
            .identity
            .map(|document| IdentityForm {
                document_type: document.document_type.as_str().to_owned(),
                document_number: document.document_number,
                issued_on: document.issued_on.to_string(),
                address: document.address,
            })
            .unwrap_or_default()
    });
    let document_types = choices(
        "Choose…",
        DocumentType::ALL
            .iter()
            .map(|kind| (kind.as_str(), kind.label())),
        &form.document_type,
    );
    render(
        form_status(&errors),
        &IdentityPage {
            base,
            status: detail.user.kyc_status,
            reason: detail.kyc_reason,
            form,
            errors,
            document_types,
            today: state.clock.today().to_string(),
            max_address_chars: MAX_ADDRESS_CHARS,
        },
    )
}

pub async fn form(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, WebError> {
    render_page(base, &state, user.id, None, FieldErrors::new()).await
}

/// The form's shape (`validator`), then each field's rules (the domain's).
fn validate(
    form: &IdentityForm,
    today: chrono::NaiveDate,
) -> Result<IdentityDocument, FieldErrors> {
    let mut errors = form
        .validate()
        .map_or_else(|e| field_errors(&e), |()| FieldErrors::new());
    let document_type = DocumentType::parse(&form.document_type)
        .map_err(|e| errors.add("document_type", e.to_string()))
        .ok();
    let document_number = parse_document_number(&form.document_number)
        .map_err(|e| errors.add("document_number", e.to_string()))
        .ok();
    let issued_on = parse_issued_on(&form.issued_on, today)
        .map_err(|e| errors.add("issued_on", e.to_string()))
        .ok();
    let address = parse_address(&form.address)
        .map_err(|e| errors.add("address", e.to_string()))
        .ok();
    match (document_type, document_number, issued_on, address) {
        (Some(document_type), Some(document_number), Some(issued_on), Some(address))
            if errors.is_empty() =>
        {
            Ok(IdentityDocument {
                document_type,
                document_number,
                issued_on,
                address,
            })
        }
        _ => Err(errors),
    }
}

pub async fn submit(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    StrictForm(form): StrictForm<IdentityForm>,
) -> Result<HttpResponse, WebError> {
    let result = match validate(&form, state.clock.today()) {
        Ok(document) => {
            identity::submit(&state.db, state.clock.as_ref(), user.id, document, &meta).await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(Submission::SentForReview) => {
            session::flash(
                &session,
                FlashLevel::Success,
                "Thank you. Your details are waiting for review; we will email you the result.",
            );
            Ok(see_other(IDENTITY_PAGE))
        }
        Ok(Submission::Unchanged) => {
            session::flash(
                &session,
                FlashLevel::Info,
                "These are the details we already have, so nothing changed.",
            );
            Ok(see_other(IDENTITY_PAGE))
        }
        Err(AppError::Validation(errors)) => {
            render_page(base, &state, user.id, Some(form), errors).await
        }
        Err(other) => Err(other.into()),
    }
}
