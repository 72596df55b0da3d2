//! `GET /investor/investments/{id}/sell?amount=…&markup_percent=…` (the form,
//! then the confirmation: price, fee, what the seller receives) and `POST`
//! to it (`amount`, `markup_percent`, `idempotency_key`): the listing;
//! `POST /investor/listings/{id}/cancel`: withdraw it.

use actix_session::Session;
use actix_web::{
    HttpResponse,
    web::{Data, Path, Query},
};
use askama::Template;
use serde::Deserialize;

use crate::{
    domain::{
        ids::{InvestmentId, ListingId},
        money::{Money, TypedAmount},
        secondary::{Markup, check_listing, proceeds},
    },
    error::{AppError, FieldErrors},
    paths,
    services::{
        idempotency::IdempotencyKey,
        secondary::{self, SaleRequest, SellPreview},
    },
    state::AppState,
    web::{
        error::{WebError, refusal},
        extractors::CurrentUser,
        forms::{Empty, StrictForm},
        layout::{BaseCtx, form_status, render, see_other},
        session::{self, FlashLevel},
    },
};

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SellQuery {
    amount: String,
    markup_percent: String,
    change: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SellForm {
    amount: String,
    markup_percent: String,
    idempotency_key: String,
}

struct Confirmation {
    principal: String,
    price: String,
    fee: String,
    proceeds: String,
    amount_input: String,
    markup_input: String,
    idempotency_key: String,
}

#[derive(Template)]
#[template(path = "investor/sell.html")]
struct SellPage {
    base: BaseCtx,
    investment_id: String,
    loan_purpose: &'static str,
    outstanding: String,
    band: String,
    fee: String,
    min_ticket: String,
    /// Its open listing: id, principal, markup, place in the queue.
    open: Option<(String, String, String, usize)>,
    problem: Option<String>,
    amount: String,
    markup_percent: String,
    errors: FieldErrors,
    confirmation: Option<Confirmation>,
}

fn sell_page(
    base: BaseCtx,
    preview: &SellPreview,
    (amount, markup_percent): (String, String),
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
        &SellPage {
            base,
            investment_id: preview.investment.id.to_string(),
            loan_purpose: preview.loan.purpose.label(),
            outstanding: preview.stake.outstanding.to_string(),
            band: format!("{} to {}", preview.band.min, preview.band.max),
            fee: preview.fee.to_string(),
            min_ticket: preview.min_ticket.to_string(),
            open: preview.open.as_ref().map(|(l, place)| {
                (
                    l.id.to_string(),
                    l.principal.to_string(),
                    l.markup.to_string(),
                    *place,
                )
            }),
            problem,
            amount,
            markup_percent,
            errors,
            confirmation,
        },
    )
}

/// The sale as typed, checked as listing it would check it.
fn checked(preview: &SellPreview, amount: &str, markup: &str) -> Result<Confirmation, FieldErrors> {
    let mut errors = FieldErrors::new();
    let currency = preview.loan.currency();
    let principal = Money::parse(amount, currency)
        .map_err(|err| errors.add("amount", err.to_string()))
        .ok();
    let markup = Markup::parse_percent(markup)
        .and_then(|m| preview.band.check(m))
        .map_err(|err| errors.add("markup_percent", err.to_string()))
        .ok();
    let (Some(principal), Some(markup)) = (principal, markup) else {
        return Err(errors);
    };
    let terms = check_listing(preview.stake, principal, markup, preview.min_ticket)
        .map_err(|problem| FieldErrors::single("amount", problem.to_string()))?;
    let (to_seller, fee) = proceeds(terms.price, preview.fee)
        .map_err(|err| FieldErrors::single("amount", err.to_string()))?;
    Ok(Confirmation {
        principal: principal.to_string(),
        price: terms.price.to_string(),
        fee: fee.to_string(),
        proceeds: to_seller.to_string(),
        amount_input: principal.amount().to_string(),
        markup_input: rust_decimal::Decimal::new(i64::from(markup.bps()), 2)
            .normalize()
            .to_string(),
        idempotency_key: IdempotencyKey::generate(),
    })
}

pub async fn confirm(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<InvestmentId>,
    Query(query): Query<SellQuery>,
) -> Result<HttpResponse, WebError> {
    let preview = secondary::sell_preview(&state.db, user.id, path.into_inner()).await?;
    let typed = (query.amount.clone(), query.markup_percent.clone());
    if query.amount.trim().is_empty() || query.change.is_some() {
        return sell_page(base, &preview, typed, FieldErrors::new(), None, None);
    }
    match checked(&preview, &query.amount, &query.markup_percent) {
        Ok(confirmation) => sell_page(
            base,
            &preview,
            typed,
            FieldErrors::new(),
            None,
            Some(confirmation),
        ),
        Err(errors) => sell_page(base, &preview, typed, errors, None, None),
    }
}

pub async fn submit(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<InvestmentId>,
    StrictForm(form): StrictForm<SellForm>,
) -> Result<HttpResponse, WebError> {
    let investment_id = path.into_inner();
    let key = IdempotencyKey::parse(&form.idempotency_key)?;
    let typed = (form.amount.clone(), form.markup_percent.clone());
    let parsed = TypedAmount::parse(&form.amount)
        .map_err(|err| FieldErrors::single("amount", err.to_string()))
        .and_then(|amount| {
            Markup::parse_percent(&form.markup_percent)
                .map(|markup| (amount, markup))
                .map_err(|err| FieldErrors::single("markup_percent", err.to_string()))
        });
    let result = match parsed {
        Ok((principal, markup)) => {
            secondary::list(
                &state.db,
                state.clock.as_ref(),
                user.id,
                &SaleRequest {
                    investment_id,
                    principal,
                    markup,
                    key,
                },
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
                "Your listing is on the secondary market; the investment stays yours, and keeps being repaid to you, until a buyer takes it.",
            );
            Ok(see_other(&paths::investment(investment_id)))
        }
        Err(AppError::Validation(errors)) => {
            let preview = secondary::sell_preview(&state.db, user.id, investment_id).await?;
            sell_page(base, &preview, typed, errors, None, None)
        }
        Err(AppError::Domain(reason)) => {
            let preview = secondary::sell_preview(&state.db, user.id, investment_id).await?;
            sell_page(
                base,
                &preview,
                typed,
                FieldErrors::new(),
                Some(refusal(&reason)),
                None,
            )
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn cancel(
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<ListingId>,
    StrictForm(_): StrictForm<Empty>,
) -> Result<HttpResponse, WebError> {
    let investment =
        secondary::cancel(&state.db, state.clock.as_ref(), user.id, path.into_inner()).await?;
    session::flash(&session, FlashLevel::Success, "Your listing is withdrawn.");
    Ok(see_other(&paths::investment(investment)))
}
