//! The investor's portfolio: `GET /investor/investments` (a page at a time),
//! `GET /investor/investments/{id}` (one investment, its share of the
//! schedule, reduce and cancel while the loan is funding),
//! `POST /investor/investments/{id}/reduce` (`amount`), `POST
//! /investor/investments/{id}/cancel`, and the agreement
//! `GET /investor/investments/{id}/agreement.pdf` (for the investor, the
//! borrower and staff).

use std::time::Instant;

use actix_session::Session;
use actix_web::{
    HttpResponse,
    http::header::{
        CacheControl, CacheDirective, ContentDisposition, DispositionParam, DispositionType,
    },
    web::{Data, Path, Query},
};
use askama::Template;
use serde::Deserialize;

use crate::{
    db::queries::{Page, investments as queries, servicing::CashFlow},
    domain::{
        ids::{InvestmentId, UserId},
        installment::InstallmentStatus,
        investment::{Investment, InvestmentStatus},
        loan::Loan,
        money::TypedAmount,
        offers::OfferStatus,
        recovery::ReserveEventKind,
        repayment::LoanPaymentKind,
        schedule::Installment,
    },
    error::{AppError, FieldErrors},
    format, paths,
    services::{
        documents::{self, Viewer},
        investing::{self, Change},
        offers, portfolio,
    },
    state::AppState,
    web::{
        error::WebError,
        extractors::{ClientMeta, CurrentUser},
        forms::{Empty, StrictForm},
        layout::{BaseCtx, form_status, page, render, see_other},
        loan_facts::LoanFacts,
        session::{self, FlashLevel},
    },
};

/// One investment as lists show it.
struct Line {
    id: InvestmentId,
    purpose: String,
    grade: String,
    rate: String,
    amount: String,
    status: &'static str,
    status_word: &'static str,
    made: String,
}

fn line(investment: &Investment, loan: &Loan) -> Line {
    Line {
        id: investment.id,
        purpose: loan.purpose.label().to_owned(),
        grade: loan
            .grade
            .map(|g| g.as_str().to_owned())
            .unwrap_or_default(),
        rate: loan.rate.map(|r| r.to_string()).unwrap_or_default(),
        amount: investment.amount.to_string(),
        status: investment.status.label(),
        status_word: badge(investment.status),
        made: format::datetime(&investment.accepted_at),
    }
}

/// The badge class of a status.
fn badge(status: InvestmentStatus) -> &'static str {
    match status {
        InvestmentStatus::Pending => "warn",
        InvestmentStatus::Active | InvestmentStatus::Repaid => "ok",
        InvestmentStatus::Defaulted => "error",
        InvestmentStatus::Cancelled | InvestmentStatus::Expired | InvestmentStatus::Sold => {
            "neutral"
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    page: Option<u64>,
}

/// One of the investor's offers (listing mode `offers`).
struct OfferLine {
    id: String,
    loan_id: String,
    purpose: String,
    amount: String,
    rate: String,
    status: &'static str,
    pending: bool,
    made: String,
}

#[derive(Template)]
#[template(path = "investor/investments.html")]
struct ListPage {
    base: BaseCtx,
    lines: Page<Line>,
    offers: Vec<OfferLine>,
}

pub async fn index(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let rows = queries::portfolio(&state.db, user.id, query.page).await?;
    let lines = Page {
        items: rows
            .items
            .iter()
            .map(|(investment, loan)| line(investment, loan))
            .collect(),
        page: rows.page,
        pages: rows.pages,
        total: rows.total,
    };
    let offers = offers::of_lender(&state.db, user.id)
        .await?
        .iter()
        .map(|(offer, loan)| OfferLine {
            id: offer.id.to_string(),
            loan_id: loan.id.to_string(),
            purpose: loan.purpose.label().to_owned(),
            amount: offer.amount.to_string(),
            rate: offer.rate.to_string(),
            status: offer.status.label(),
            pending: offer.status == OfferStatus::Pending,
            made: format::datetime(&offer.made_at),
        })
        .collect();
    page(&ListPage {
        base,
        lines,
        offers,
    })
}

struct ShareLine {
    number: u32,
    due_date: String,
    principal: String,
    interest: String,
    total: String,
    status: &'static str,
}

fn share_line((share, status): &(Installment, InstallmentStatus)) -> ShareLine {
    ShareLine {
        number: share.number,
        due_date: format::day(share.due_date),
        principal: share.principal.to_string(),
        interest: share.interest.to_string(),
        total: share
            .total()
            .map_or_else(|_| String::new(), |total| total.to_string()),
        status: status.label(),
    }
}

struct FlowLine {
    on: String,
    kind: &'static str,
    principal: String,
    interest: String,
    penalty: String,
    fee: String,
    net: String,
}

/// What the stake brought so far, added up from its distributions.
struct Received {
    principal: String,
    interest: String,
    penalties: String,
    fees: String,
    reserve: String,
    net: String,
    outstanding: String,
    /// For a defaulted stake: the principal neither repaid nor covered.
    loss: Option<String>,
}

fn received(overview: &portfolio::InvestmentOverview) -> Received {
    let currency = overview.loan.currency();
    let sum = |pick: fn(&CashFlow) -> i64, reserve: bool| -> i64 {
        overview
            .flows
            .iter()
            .filter(|f| f.kind.is_none() == reserve)
            .map(pick)
            .sum()
    };
    let money = |minor: i64| format::money(minor, currency);
    let principal = sum(|f| f.principal.minor(), false);
    let reserve = sum(|f| f.principal.minor(), true);
    let interest = sum(|f| f.interest.minor(), false);
    let penalties = sum(|f| f.penalty.minor(), false);
    let fees = sum(|f| f.fee.minor(), false);
    let outstanding = overview.investment.amount.minor() - principal;
    let defaulted = overview.investment.status == InvestmentStatus::Defaulted;
    Received {
        principal: money(principal),
        interest: money(interest),
        penalties: money(penalties),
        fees: money(fees),
        reserve: money(reserve),
        net: money(principal + interest + penalties - fees + reserve),
        outstanding: money(if defaulted { 0 } else { outstanding }),
        loss: defaulted.then(|| money((outstanding - reserve).max(0))),
    }
}

fn flow_line(flow: &CashFlow) -> FlowLine {
    let shown = |m: crate::domain::money::Money| {
        if m.is_zero() {
            String::new()
        } else {
            m.to_string()
        }
    };
    FlowLine {
        on: format::day(flow.on),
        kind: flow
            .kind
            .map_or(ReserveEventKind::Covered.label(), LoanPaymentKind::label),
        principal: shown(flow.principal),
        interest: shown(flow.interest),
        penalty: shown(flow.penalty),
        fee: shown(flow.fee),
        net: flow.net().to_string(),
    }
}

#[derive(Template)]
#[template(path = "investor/investment.html")]
struct DetailPage {
    base: BaseCtx,
    investment: Line,
    loan: LoanFacts,
    accepted_at: String,
    /// While the loan is funding and the commitment open.
    changeable: bool,
    /// Being repaid: it may be offered on the secondary market.
    sellable: bool,
    has_agreement: bool,
    agreement_hash: String,
    schedule: Vec<ShareLine>,
    /// Once paid out: what came back so far.
    received: Option<Received>,
    flows: Vec<FlowLine>,
    amount: String,
    errors: FieldErrors,
}

async fn detail_page(
    base: BaseCtx,
    state: &AppState,
    investor_id: UserId,
    investment_id: InvestmentId,
    amount: String,
    errors: FieldErrors,
) -> Result<HttpResponse, WebError> {
    let overview = portfolio::investment(&state.db, investor_id, investment_id).await?;
    let (investment, loan) = (&overview.investment, &overview.loan);
    // A loan past its deadline takes no changes; the funding-expiry job
    // releases it within a minute.
    let changeable = investment.status == InvestmentStatus::Pending
        && loan.open_for_investment(state.clock.now()).is_ok();
    render(
        form_status(&errors),
        &DetailPage {
            investment: line(investment, loan),
            loan: LoanFacts::new(loan),
            accepted_at: format::datetime(&investment.accepted_at),
            changeable,
            sellable: investment.status == InvestmentStatus::Active,
            has_agreement: investment.agreement_hash.is_some(),
            agreement_hash: investment.agreement_hash.clone().unwrap_or_default(),
            schedule: overview
                .share
                .iter()
                .filter(|(_, status)| !matches!(status, InstallmentStatus::Paid))
                .map(share_line)
                .collect(),
            received: (!overview.share.is_empty()).then(|| received(&overview)),
            flows: overview.flows.iter().map(flow_line).collect(),
            amount,
            errors,
            base,
        },
    )
}

pub async fn show(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<InvestmentId>,
) -> Result<HttpResponse, WebError> {
    detail_page(
        base,
        &state,
        user.id,
        path.into_inner(),
        String::new(),
        FieldErrors::new(),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReduceForm {
    amount: String,
}

pub async fn reduce(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<InvestmentId>,
    StrictForm(form): StrictForm<ReduceForm>,
) -> Result<HttpResponse, WebError> {
    let id = path.into_inner();
    let result = match TypedAmount::parse(&form.amount) {
        Ok(amount) => {
            state.money_limit.admit(user.id, None, Instant::now())?;
            investing::change(
                &state.db,
                state.clock.as_ref(),
                user.id,
                id,
                Change::ReduceTo(amount),
            )
            .await
            .map(|released| (amount.in_currency(released.currency()), released))
        }
        Err(err) => Err(AppError::Validation(FieldErrors::single(
            "amount",
            err.to_string(),
        ))),
    };
    match result {
        Ok((amount, released)) => {
            session::flash(
                &session,
                FlashLevel::Success,
                format!(
                    "Your investment is now {amount}; {released} is available in your wallet again."
                ),
            );
            Ok(see_other(&paths::investment(id)))
        }
        Err(AppError::Validation(errors)) => {
            detail_page(base, &state, user.id, id, form.amount, errors).await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn cancel(
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<InvestmentId>,
    StrictForm(_): StrictForm<Empty>,
) -> Result<HttpResponse, WebError> {
    let id = path.into_inner();
    state.money_limit.admit(user.id, None, Instant::now())?;
    let released =
        investing::change(&state.db, state.clock.as_ref(), user.id, id, Change::Cancel).await?;
    session::flash(
        &session,
        FlashLevel::Success,
        format!("Your investment is cancelled; {released} is available in your wallet again."),
    );
    Ok(see_other(&paths::investment(id)))
}

pub async fn agreement(
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    path: Path<InvestmentId>,
) -> Result<HttpResponse, WebError> {
    let viewer = Viewer {
        id: user.id,
        role: user.role,
    };
    let document = documents::agreement(
        &state.db,
        state.clock.as_ref(),
        viewer,
        path.into_inner(),
        &meta,
    )
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(document.content_type.as_str())
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(document.file_name.clone())],
        })
        .insert_header(CacheControl(vec![
            CacheDirective::Private,
            CacheDirective::NoStore,
        ]))
        .insert_header(("X-Content-SHA256", document.sha256.clone()))
        .body(document.content))
}
