//! Direct offers, the borrower's side: `GET
//! /borrower/loans/{id}/offers/{offer_id}/accept` (what accepting that
//! offer means: the rate, the monthly payment, the total to repay) and
//! `POST` to it (`idempotency_key`): the offer accepted, the others
//! released, the loan funded and paid out.

use actix_session::Session;
use actix_web::{
    HttpResponse,
    web::{Data, Path},
};
use askama::Template;
use serde::Deserialize;

use crate::{
    domain::{
        ids::{LoanId, OfferId},
        schedule::{self, LoanTerms},
    },
    paths,
    services::{funding, idempotency::IdempotencyKey, offers},
    state::AppState,
    web::{
        error::WebError,
        extractors::CurrentUser,
        forms::StrictForm,
        layout::{BaseCtx, page, see_other},
        loan_facts::LoanFacts,
        session::{self, FlashLevel},
    },
};

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcceptForm {
    idempotency_key: String,
}

#[derive(Template)]
#[template(path = "borrower/loans/accept_offer.html")]
struct AcceptPage {
    base: BaseCtx,
    loan: LoanFacts,
    offer_id: String,
    rate: String,
    monthly_payment: String,
    total_interest: String,
    best: bool,
    others: usize,
    idempotency_key: String,
}

pub async fn confirm(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<(LoanId, OfferId)>,
) -> Result<HttpResponse, WebError> {
    let (loan_id, offer_id) = path.into_inner();
    let (loan, ranked) = offers::for_borrower(&state.db, user.id, loan_id).await?;
    offers::open_for_offers(&loan, state.clock.now())?;
    let position = ranked
        .iter()
        .position(|o| o.id == offer_id)
        .ok_or(WebError::NotFound)?;
    let offer = &ranked[position];
    let plan = schedule::annuity(&LoanTerms {
        principal: loan.amount,
        rate: offer.rate,
        term_months: loan.term_months,
        start: state.clock.today(),
    })
    .map_err(|err| WebError::Unprocessable(err.to_string()))?;
    let total_interest = plan
        .installments
        .iter()
        .map(|row| row.interest.minor())
        .sum::<i64>();
    page(&AcceptPage {
        base,
        offer_id: offer_id.to_string(),
        rate: offer.rate.to_string(),
        monthly_payment: plan.payment.to_string(),
        total_interest: crate::format::money(total_interest, loan.currency()),
        best: position == 0,
        others: ranked.len() - 1,
        idempotency_key: IdempotencyKey::generate(),
        loan: LoanFacts::new(&loan),
    })
}

pub async fn accept(
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<(LoanId, OfferId)>,
    StrictForm(form): StrictForm<AcceptForm>,
) -> Result<HttpResponse, WebError> {
    let (loan_id, offer_id) = path.into_inner();
    let key = IdempotencyKey::parse(&form.idempotency_key)?;
    offers::accept(
        &state.db,
        state.clock.as_ref(),
        user.id,
        (loan_id, offer_id),
        &key,
        &state.settings.base_url,
    )
    .await?;
    funding::pay_out_if_automatic(
        &state.db,
        state.clock.as_ref(),
        loan_id,
        &state.settings.base_url,
    )
    .await;
    session::flash(
        &session,
        FlashLevel::Success,
        "You accepted the offer: your loan is funded at its rate, and the other offers are released.",
    );
    Ok(see_other(&paths::borrower_loan(loan_id)))
}
