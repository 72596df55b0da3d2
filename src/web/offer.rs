//! Direct offers (listing mode `offers`), the lender's side:
//! `GET /marketplace/{loan_id}/offers?rate_annual=…` (the form, then the
//! confirmation of a valid rate), `POST /marketplace/{loan_id}/offers`
//! (`rate_annual`, `idempotency_key`): a new offer reserving the loan's
//! whole amount, or the lender's pending offer at a new rate;
//! `POST /investor/offers/{id}/cancel`: withdraw it. Investors only.

use actix_session::Session;
use actix_web::{
    HttpResponse,
    web::{Data, Path, Query},
};
use askama::Template;
use serde::Deserialize;

use crate::{
    domain::{
        ids::{LoanId, OfferId, UserId},
        money::Rate,
        offers::check_offer,
    },
    error::{AppError, FieldErrors},
    paths,
    services::{
        idempotency::IdempotencyKey,
        offers::{self, Made, OfferPreview, OfferRequest},
    },
    state::AppState,
    web::{
        error::{WebError, refusal},
        extractors::CurrentUser,
        forms::{Empty, StrictForm},
        layout::{BaseCtx, form_status, render, see_other},
        loan_facts::LoanFacts,
        session::{self, FlashLevel},
    },
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferQuery {
    rate_annual: Option<String>,
    /// Back from the confirmation to the form, keeping the rate.
    change: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OfferForm {
    rate_annual: String,
    idempotency_key: String,
}

struct Confirmation {
    rate: String,
    rate_input: String,
    idempotency_key: String,
}

#[derive(Template)]
#[template(path = "marketplace/offer.html")]
struct OfferPage {
    base: BaseCtx,
    loan: LoanFacts,
    min_rate: String,
    max_rate: String,
    available: String,
    /// The lender's pending offer: its id and rate.
    mine: Option<(String, String)>,
    pending: usize,
    blocker: Option<String>,
    problem: Option<String>,
    rate_annual: String,
    errors: FieldErrors,
    confirmation: Option<Confirmation>,
}

fn offer_page(
    base: BaseCtx,
    preview: &OfferPreview,
    rate_annual: String,
    errors: FieldErrors,
    problem: Option<String>,
    confirmation: Option<Confirmation>,
) -> Result<HttpResponse, WebError> {
    let status = if problem.is_some() {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        form_status(&errors)
    };
    render(
        status,
        &OfferPage {
            base,
            loan: LoanFacts::new(&preview.loan),
            min_rate: preview.band.0.to_string(),
            max_rate: preview.band.1.to_string(),
            available: preview.wallet.available().to_string(),
            mine: preview
                .mine
                .as_ref()
                .map(|o| (o.id.to_string(), o.rate.to_string())),
            pending: preview.pending,
            blocker: preview.blocker.as_ref().map(refusal),
            problem,
            rate_annual,
            errors,
            confirmation,
        },
    )
}

fn parse_rate(raw: &str) -> Result<Rate, FieldErrors> {
    Rate::parse_percent(raw).map_err(|_| {
        FieldErrors::single("rate_annual", "Enter a rate in percent a year, like 14.5.")
    })
}

/// The form again after a refused offer, with the figures as they are now.
async fn form_again(
    state: &AppState,
    base: BaseCtx,
    (lender, loan_id): (UserId, LoanId),
    rate_annual: String,
    errors: FieldErrors,
    problem: Option<String>,
) -> Result<HttpResponse, WebError> {
    match offers::preview(&state.db, state.clock.as_ref(), lender, loan_id).await {
        Ok(preview) => offer_page(base, &preview, rate_annual, errors, problem, None),
        Err(AppError::Domain(closed)) => Err(WebError::Unprocessable(
            problem.unwrap_or_else(|| refusal(&closed)),
        )),
        Err(other) => Err(other.into()),
    }
}

pub async fn confirm(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<LoanId>,
    Query(query): Query<OfferQuery>,
) -> Result<HttpResponse, WebError> {
    let loan_id = path.into_inner();
    let preview = offers::preview(&state.db, state.clock.as_ref(), user.id, loan_id).await?;
    let typed = query.rate_annual.unwrap_or_default();
    if typed.trim().is_empty() || query.change.is_some() || preview.blocker.is_some() {
        return offer_page(base, &preview, typed, FieldErrors::new(), None, None);
    }
    // A new offer needs the whole amount available; an edit has it reserved.
    let available = if preview.mine.is_some() {
        preview.loan.amount
    } else {
        preview.wallet.available()
    };
    let checked = parse_rate(&typed).and_then(|rate| {
        check_offer(rate, preview.band, preview.loan.amount, available)
            .map(|()| rate)
            .map_err(|problem| FieldErrors::single("rate_annual", problem.to_string()))
    });
    match checked {
        Ok(rate) => {
            let confirmation = Confirmation {
                rate: rate.to_string(),
                rate_input: rate.percent().normalize().to_string(),
                idempotency_key: IdempotencyKey::generate(),
            };
            offer_page(
                base,
                &preview,
                typed,
                FieldErrors::new(),
                None,
                Some(confirmation),
            )
        }
        Err(errors) => offer_page(base, &preview, typed, errors, None, None),
    }
}

pub async fn submit(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<LoanId>,
    StrictForm(form): StrictForm<OfferForm>,
) -> Result<HttpResponse, WebError> {
    let loan_id = path.into_inner();
    let key = IdempotencyKey::parse(&form.idempotency_key)?;
    let rate = match parse_rate(&form.rate_annual) {
        Ok(rate) => rate,
        Err(errors) => {
            return form_again(
                &state,
                base,
                (user.id, loan_id),
                form.rate_annual,
                errors,
                None,
            )
            .await;
        }
    };
    let request = OfferRequest { loan_id, rate, key };
    match offers::make(
        &state.db,
        state.clock.as_ref(),
        user.id,
        &request,
        &state.settings.base_url,
    )
    .await
    {
        Ok(made) => {
            let message = match made {
                Made::New => format!(
                    "Your offer of {rate} a year is made; the loan's whole amount is reserved in your wallet until the borrower decides."
                ),
                Made::Edited => format!("Your offer now stands at {rate} a year."),
                Made::Replayed => "Your offer was already made.".to_owned(),
            };
            session::flash(&session, FlashLevel::Success, message);
            Ok(see_other(&paths::listing(loan_id)))
        }
        Err(AppError::Validation(errors)) => {
            form_again(
                &state,
                base,
                (user.id, loan_id),
                form.rate_annual,
                errors,
                None,
            )
            .await
        }
        Err(AppError::Domain(reason)) => {
            form_again(
                &state,
                base,
                (user.id, loan_id),
                form.rate_annual,
                FieldErrors::new(),
                Some(refusal(&reason)),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn cancel(
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<OfferId>,
    StrictForm(_): StrictForm<Empty>,
) -> Result<HttpResponse, WebError> {
    let loan_id =
        offers::cancel(&state.db, state.clock.as_ref(), user.id, path.into_inner()).await?;
    session::flash(
        &session,
        FlashLevel::Success,
        "Your offer is withdrawn and the money reserved for it is available again.",
    );
    Ok(see_other(&paths::listing(loan_id)))
}
