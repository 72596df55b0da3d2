//! Paying a loan: `GET /borrower/loans/{id}/pay?amount=…` (the form, then
//! the confirmation showing how the amount is allocated), `POST
//! /borrower/loans/{id}/pay` (`amount`, `idempotency_key`) and `POST
//! /borrower/loans/{id}/payoff` (the same, for exactly the payoff).

use std::time::Instant;

use actix_session::Session;
use actix_web::{
    HttpResponse,
    http::StatusCode,
    web::{Data, Path, Query},
};
use askama::Template;
use serde::Deserialize;

use crate::{
    domain::{
        ids::{LoanId, UserId},
        money::TypedAmount,
        repayment::PaymentKind,
    },
    error::{AppError, FieldErrors},
    paths,
    services::{
        idempotency::IdempotencyKey,
        repayment::{self, Payment, Plan},
    },
    state::AppState,
    web::{
        error::{WebError, refusal},
        extractors::CurrentUser,
        forms::StrictForm,
        layout::{BaseCtx, form_status, render, see_other},
        repayment_view::{PlanLine, RepaymentView, input, plan_lines},
        session::{self, FlashLevel},
    },
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayQuery {
    amount: Option<String>,
    /// The amount is the payoff shown on the loan page.
    payoff: Option<String>,
    /// Back from the confirmation to the form, keeping the amount.
    change: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PayForm {
    amount: String,
    idempotency_key: String,
}

struct Confirmation {
    amount: String,
    amount_input: String,
    idempotency_key: String,
    lines: Vec<PlanLine>,
    /// `pay` or `payoff`: the route the form posts to.
    action: &'static str,
    what: &'static str,
}

#[derive(Template)]
#[template(path = "borrower/loans/pay.html")]
struct PayPage {
    base: BaseCtx,
    loan_id: LoanId,
    repayment: RepaymentView,
    amount: String,
    errors: FieldErrors,
    problem: Option<String>,
    confirmation: Option<Confirmation>,
}

/// The form (with the loan's figures now), or the refusal of a loan that
/// takes no payments.
async fn form_page(
    state: &AppState,
    base: BaseCtx,
    (borrower, loan_id): (UserId, LoanId),
    amount: String,
    errors: FieldErrors,
    problem: Option<String>,
) -> Result<HttpResponse, WebError> {
    let loan = repayment::payable_loan(&state.db, borrower, loan_id).await?;
    let overview = repayment::overview(&state.db, state.clock.as_ref(), loan)
        .await?
        .ok_or(WebError::NotFound)?;
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        form_status(&errors)
    };
    render(
        status,
        &PayPage {
            base,
            loan_id,
            repayment: RepaymentView::new(&overview),
            amount,
            errors,
            problem,
            confirmation: None,
        },
    )
}

pub async fn confirm(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<LoanId>,
    Query(query): Query<PayQuery>,
) -> Result<HttpResponse, WebError> {
    let loan_id = path.into_inner();
    let typed = query.amount.unwrap_or_default();
    if typed.trim().is_empty() || query.change.is_some() {
        return form_page(
            &state,
            base,
            (user.id, loan_id),
            typed,
            FieldErrors::new(),
            None,
        )
        .await;
    }
    let amount = match TypedAmount::parse(&typed) {
        Ok(amount) => amount,
        Err(err) => {
            let errors = FieldErrors::single("amount", err.to_string());
            return form_page(&state, base, (user.id, loan_id), typed, errors, None).await;
        }
    };
    match repayment::preview(&state.db, state.clock.as_ref(), user.id, loan_id, amount).await {
        Ok(preview) => {
            let payoff = match &preview.plan {
                Plan::Installments(allocation) => allocation.kind == PaymentKind::Payoff,
                Plan::Recovery { amount, claim, .. } => *amount == claim.remaining,
            } || query.payoff.is_some();
            let amount = preview.plan.amount();
            let confirmation = Confirmation {
                amount: amount.to_string(),
                amount_input: input(amount),
                idempotency_key: IdempotencyKey::generate(),
                lines: plan_lines(&preview.plan),
                action: if payoff { "payoff" } else { "pay" },
                what: match &preview.plan {
                    Plan::Recovery { .. } => "towards the debt of your defaulted loan",
                    Plan::Installments(allocation) if allocation.kind == PaymentKind::Payoff => {
                        "to pay off the whole loan today"
                    }
                    Plan::Installments(allocation) if allocation.parts.prepayment.is_positive() => {
                        "to your loan; the part paid ahead lowers your remaining installments (the term stays)"
                    }
                    Plan::Installments(_) => "to your loan",
                },
            };
            let available = preview.wallet.available();
            let overview = repayment::overview_of(&state.db, preview.account, available).await?;
            render(
                StatusCode::OK,
                &PayPage {
                    base,
                    loan_id,
                    repayment: RepaymentView::new(&overview),
                    amount: typed,
                    errors: FieldErrors::new(),
                    problem: None,
                    confirmation: Some(confirmation),
                },
            )
        }
        Err(AppError::Validation(errors)) => {
            form_page(&state, base, (user.id, loan_id), typed, errors, None).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn submit(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    user: UserId,
    loan_id: LoanId,
    form: PayForm,
    payoff: bool,
) -> Result<HttpResponse, WebError> {
    let key = IdempotencyKey::parse(&form.idempotency_key)?;
    let amount = match TypedAmount::parse(&form.amount) {
        Ok(amount) => amount,
        Err(err) => {
            let errors = FieldErrors::single("amount", err.to_string());
            return form_page(&state, base, (user, loan_id), form.amount, errors, None).await;
        }
    };
    state
        .money_limit
        .admit(user, Some(key.as_str()), Instant::now())?;
    let payment = Payment {
        loan_id,
        amount,
        key,
        payoff,
    };
    match repayment::pay(
        &state.db,
        state.clock.as_ref(),
        user,
        &payment,
        &state.settings.base_url,
    )
    .await
    {
        Ok(paid) => {
            let message = if paid.repaid {
                format!(
                    "{} is paid. Your loan is repaid in full: thank you.",
                    paid.amount
                )
            } else {
                format!(
                    "{} is paid. The investors have received their shares; your loan page shows what is left.",
                    paid.amount
                )
            };
            session::flash(&session, FlashLevel::Success, message);
            Ok(see_other(&paths::borrower_loan(loan_id)))
        }
        Err(AppError::Validation(errors)) => {
            form_page(&state, base, (user, loan_id), form.amount, errors, None).await
        }
        Err(AppError::Domain(reason)) => Err(WebError::Unprocessable(refusal(&reason))),
        Err(other) => Err(other.into()),
    }
}

pub async fn pay(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<LoanId>,
    StrictForm(form): StrictForm<PayForm>,
) -> Result<HttpResponse, WebError> {
    submit(
        base,
        session,
        state,
        user.id,
        path.into_inner(),
        form,
        false,
    )
    .await
}

pub async fn payoff(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<LoanId>,
    StrictForm(form): StrictForm<PayForm>,
) -> Result<HttpResponse, WebError> {
    submit(base, session, state, user.id, path.into_inner(), form, true).await
}
