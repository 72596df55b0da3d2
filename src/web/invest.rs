//! `GET /marketplace/{loan_id}/invest?amount=…` (the form, then the
//! confirmation of a valid amount) and `POST /marketplace/{loan_id}/invest`
//! (`amount`, `idempotency_key`): the commitment itself. Investors only.

use std::time::Instant;

use actix_session::Session;
use actix_web::{
    HttpResponse,
    web::{Data, Path, Query},
};
use askama::Template;
use serde::Deserialize;

use crate::{
    domain::{
        ids::{LoanId, UserId},
        investing::check_commitment,
        money::{Currency, Money, TypedAmount},
    },
    error::{AppError, FieldErrors},
    paths,
    services::{
        funding,
        idempotency::IdempotencyKey,
        investing::{self, Commitment, Preview},
    },
    state::AppState,
    web::{
        error::{WebError, refusal},
        extractors::CurrentUser,
        forms::StrictForm,
        layout::{BaseCtx, form_status, render, see_other},
        loan_facts::LoanFacts,
        session::{self, FlashLevel},
    },
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvestQuery {
    amount: Option<String>,
    /// Back from the confirmation to the form, keeping the amount.
    change: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InvestForm {
    amount: String,
    idempotency_key: String,
}

/// The limits as the page states them.
struct LimitsView {
    min_ticket: String,
    remaining: String,
    available: String,
    /// For unqualified investors: what is left of the year's limit.
    yearly_room: Option<String>,
}

struct Confirmation {
    amount: String,
    amount_input: String,
    idempotency_key: String,
}

#[derive(Template)]
#[template(path = "marketplace/invest.html")]
struct InvestPage {
    base: BaseCtx,
    loan: LoanFacts,
    limits: LimitsView,
    /// Why investing is not possible yet, with what to do.
    blocker: Option<String>,
    /// A refusal that is not about the amount.
    problem: Option<String>,
    amount: String,
    errors: FieldErrors,
    confirmation: Option<Confirmation>,
}

fn limits_view(preview: &Preview) -> LimitsView {
    let l = &preview.limits;
    LimitsView {
        min_ticket: l.min_ticket.to_string(),
        remaining: l.remaining.to_string(),
        available: l.available.to_string(),
        yearly_room: l.yearly.map(|y| y.room().to_string()),
    }
}

fn invest_page(
    base: BaseCtx,
    preview: &Preview,
    amount: String,
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
        &InvestPage {
            base,
            loan: LoanFacts::new(&preview.loan),
            limits: limits_view(preview),
            blocker: preview.blocker.as_ref().map(refusal),
            problem,
            amount,
            errors,
            confirmation,
        },
    )
}

/// The amount as typed, in the loan's currency.
fn parse_amount(raw: &str, currency: Currency) -> Result<Money, FieldErrors> {
    Money::parse(raw, currency).map_err(|err| FieldErrors::single("amount", err.to_string()))
}

/// The amount as typed, before the loan (and so its currency) is read.
fn parse_typed(raw: &str) -> Result<TypedAmount, FieldErrors> {
    TypedAmount::parse(raw).map_err(|err| FieldErrors::single("amount", err.to_string()))
}

/// The form again after a refused commitment, with the figures as they are
/// now. A loan that closed meanwhile gets the refusal's own message.
async fn form_again(
    state: &AppState,
    base: BaseCtx,
    (investor_id, loan_id): (UserId, LoanId),
    amount: String,
    errors: FieldErrors,
    problem: Option<String>,
) -> Result<HttpResponse, WebError> {
    match investing::preview(&state.db, state.clock.as_ref(), investor_id, loan_id).await {
        Ok(preview) => invest_page(base, &preview, amount, errors, problem, None),
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
    Query(query): Query<InvestQuery>,
) -> Result<HttpResponse, WebError> {
    let loan_id = path.into_inner();
    let preview = investing::preview(&state.db, state.clock.as_ref(), user.id, loan_id).await?;
    let typed = query.amount.unwrap_or_default();
    if typed.trim().is_empty() || query.change.is_some() || preview.blocker.is_some() {
        return invest_page(base, &preview, typed, FieldErrors::new(), None, None);
    }
    let checked = parse_amount(&typed, preview.loan.currency()).and_then(|amount| {
        check_commitment(amount, &preview.limits)
            .map(|()| amount)
            .map_err(|problem| FieldErrors::single("amount", problem.to_string()))
    });
    match checked {
        Ok(amount) => {
            let confirmation = Confirmation {
                amount: amount.to_string(),
                amount_input: amount.amount().to_string(),
                idempotency_key: IdempotencyKey::generate(),
            };
            invest_page(
                base,
                &preview,
                typed,
                FieldErrors::new(),
                None,
                Some(confirmation),
            )
        }
        Err(errors) => invest_page(base, &preview, typed, errors, None, None),
    }
}

pub async fn submit(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<LoanId>,
    StrictForm(form): StrictForm<InvestForm>,
) -> Result<HttpResponse, WebError> {
    let loan_id = path.into_inner();
    let key = IdempotencyKey::parse(&form.idempotency_key)?;
    // The figures for the form are read only if it has to be shown again.
    let amount = match parse_typed(&form.amount) {
        Ok(amount) => amount,
        Err(errors) => {
            return form_again(&state, base, (user.id, loan_id), form.amount, errors, None).await;
        }
    };
    state
        .money_limit
        .admit(user.id, Some(key.as_str()), Instant::now())?;
    let commitment = Commitment {
        loan_id,
        amount,
        key,
    };
    match investing::invest(
        &state.db,
        state.clock.as_ref(),
        user.id,
        &commitment,
        &state.settings.base_url,
    )
    .await
    {
        Ok(invested) => {
            let message = if invested.filled {
                funding::pay_out_if_automatic(
                    &state.db,
                    state.clock.as_ref(),
                    loan_id,
                    &state.settings.base_url,
                )
                .await;
                format!(
                    "{} is invested. Your commitment completed the loan: it is fully funded.",
                    invested.amount
                )
            } else {
                format!(
                    "{} is reserved in your wallet for this loan.",
                    invested.amount
                )
            };
            session::flash(&session, FlashLevel::Success, message);
            Ok(see_other(&paths::investment(invested.investment_id)))
        }
        Err(AppError::Validation(errors)) => {
            form_again(&state, base, (user.id, loan_id), form.amount, errors, None).await
        }
        Err(AppError::Domain(reason)) => {
            form_again(
                &state,
                base,
                (user.id, loan_id),
                form.amount,
                FieldErrors::new(),
                Some(refusal(&reason)),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}
