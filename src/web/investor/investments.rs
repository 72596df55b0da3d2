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
use uuid::Uuid;

use crate::{
    db::{
        entities::{investments, loan_requests, repayment_schedule},
        queries::{Page, investments as queries},
    },
    domain::ids::UserId,
    domain::{
        investing::{InvestmentStatus, schedule_shares},
        lifecycle::LoanStatus,
        money::{Currency, Money},
        schedule::Installment,
        split::Holding,
    },
    error::{AppError, FieldErrors},
    services::{
        documents::{self, Viewer},
        funding,
        investing::{self, Change},
    },
    state::AppState,
    web::{
        error::WebError,
        extractors::{ClientMeta, CurrentUser},
        format,
        forms::{Empty, StrictForm},
        layout::{BaseCtx, form_status, page, render, see_other},
        loan_facts::LoanFacts,
        session::{self, FlashLevel},
    },
};

/// One investment as lists show it.
struct Line {
    id: Uuid,
    purpose: String,
    grade: String,
    rate: String,
    amount: String,
    status: &'static str,
    status_word: &'static str,
    made: String,
}

fn line(investment: &investments::Model, loan: Option<&loan_requests::Model>) -> Line {
    let status = InvestmentStatus::parse(&investment.status);
    let facts = loan.and_then(|l| LoanFacts::new(l).ok());
    Line {
        id: investment.id,
        purpose: facts
            .as_ref()
            .map(|f| f.purpose.clone())
            .unwrap_or_default(),
        grade: facts
            .as_ref()
            .and_then(|f| f.grade.clone())
            .unwrap_or_default(),
        rate: facts
            .as_ref()
            .and_then(|f| f.rate.clone())
            .unwrap_or_default(),
        amount: format::money(investment.amount, currency(loan)),
        status: status.map_or("", InvestmentStatus::label),
        status_word: status.map_or("none", badge),
        made: format::datetime(&investment.accepted_at),
    }
}

fn currency(loan: Option<&loan_requests::Model>) -> Currency {
    loan.and_then(|l| Currency::parse(&l.currency))
        .unwrap_or(Currency::Rub)
}

/// The badge class of a status.
fn badge(status: InvestmentStatus) -> &'static str {
    match status {
        InvestmentStatus::Pending => "pending",
        InvestmentStatus::Active | InvestmentStatus::Repaid => "verified",
        InvestmentStatus::Defaulted => "rejected",
        InvestmentStatus::Cancelled | InvestmentStatus::Expired | InvestmentStatus::Sold => "none",
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    page: Option<u64>,
}

#[derive(Template)]
#[template(path = "investor/investments.html")]
struct ListPage {
    base: BaseCtx,
    lines: Page<Line>,
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
            .map(|(investment, loan)| line(investment, loan.as_ref()))
            .collect(),
        page: rows.page,
        pages: rows.pages,
        total: rows.total,
    };
    page(&ListPage { base, lines })
}

struct ShareLine {
    number: u32,
    due_date: String,
    principal: String,
    interest: String,
    total: String,
    status: String,
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
    has_agreement: bool,
    agreement_hash: String,
    schedule: Vec<ShareLine>,
    amount: String,
    errors: FieldErrors,
}

/// The investor's share of the loan's installments, from the stored
/// schedule and the loan's live investments (the same split as the agreement).
fn share_of(
    investment: &investments::Model,
    rows: &[repayment_schedule::Model],
    stakes: &[investments::Model],
    currency: Currency,
) -> Result<Vec<ShareLine>, AppError> {
    let fail = |err: crate::domain::money::MoneyError| AppError::Unexpected(err.into());
    let mut outstanding: i64 = stakes.iter().map(|s| s.amount).sum();
    let mut installments = Vec::with_capacity(rows.len());
    for row in rows {
        outstanding -= row.principal;
        installments.push(Installment {
            number: u32::try_from(row.payment_num).unwrap_or(0),
            due_date: row.due_date,
            principal: Money::from_minor(row.principal, currency).map_err(fail)?,
            interest: Money::from_minor(row.interest, currency).map_err(fail)?,
            balance_after: Money::from_minor(outstanding.max(0), currency).map_err(fail)?,
        });
    }
    let holdings: Vec<Holding<Uuid>> = stakes
        .iter()
        .map(|s| Holding {
            key: s.id,
            weight: s.amount,
        })
        .collect();
    let shares = schedule_shares(&installments, &holdings)
        .map_err(|err| AppError::Unexpected(err.into()))?;
    let Some((_, mine)) = shares.into_iter().find(|(key, _)| *key == investment.id) else {
        return Ok(Vec::new());
    };
    mine.iter()
        .zip(rows)
        .map(|(share, row)| {
            Ok(ShareLine {
                number: share.number,
                due_date: format::day(share.due_date),
                principal: share.principal.to_string(),
                interest: share.interest.to_string(),
                total: share.total().map_err(fail)?.to_string(),
                status: row.status.replace('_', " "),
            })
        })
        .collect()
}

async fn detail_page(
    base: BaseCtx,
    state: &AppState,
    investor_id: UserId,
    investment_id: Uuid,
    amount: String,
    errors: FieldErrors,
) -> Result<HttpResponse, WebError> {
    let (mut investment, mut loan) = queries::owned_by(&state.db, investor_id, investment_id)
        .await?
        .ok_or(WebError::NotFound)?;
    // A deadline that passed is acted on when anyone looks.
    if investment.status == InvestmentStatus::Pending.as_str()
        && funding::expire_if_due(
            &state.db,
            state.clock.as_ref(),
            loan.id,
            &state.settings.base_url,
        )
        .await?
    {
        (investment, loan) = queries::owned_by(&state.db, investor_id, investment_id)
            .await?
            .ok_or(WebError::NotFound)?;
    }
    let currency = currency(Some(&loan));
    let changeable = investment.status == InvestmentStatus::Pending.as_str()
        && loan.status == LoanStatus::Funding.as_str();
    let schedule = if investment.status == InvestmentStatus::Pending.as_str() {
        Vec::new()
    } else {
        let rows = queries::schedule(&state.db, loan.id).await?;
        let stakes = queries::for_loan(&state.db, loan.id, &InvestmentStatus::LIVE).await?;
        share_of(&investment, &rows, &stakes, currency)?
    };
    let status = form_status(&errors);
    render(
        status,
        &DetailPage {
            investment: line(&investment, Some(&loan)),
            loan: LoanFacts::new(&loan)?,
            accepted_at: format::datetime(&investment.accepted_at),
            changeable,
            has_agreement: investment.agreement_hash.is_some(),
            agreement_hash: investment.agreement_hash.clone().unwrap_or_default(),
            schedule,
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
    path: Path<Uuid>,
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
    path: Path<Uuid>,
    StrictForm(form): StrictForm<ReduceForm>,
) -> Result<HttpResponse, WebError> {
    let id = path.into_inner();
    let (_, loan) = queries::owned_by(&state.db, user.id, id)
        .await?
        .ok_or(WebError::NotFound)?;
    let result = match Money::parse(&form.amount, currency(Some(&loan))) {
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
            .map(|released| (amount, released))
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
            Ok(see_other(&investing::investment_path(id)))
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
    path: Path<Uuid>,
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
    Ok(see_other(&investing::investment_path(id)))
}

pub async fn agreement(
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    path: Path<Uuid>,
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
