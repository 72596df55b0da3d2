//! `GET /admin/loans` (listed loans by status, funded ones first by
//! default, with what each has raised; loans in arrears by days late),
//! `POST /admin/loans/{id}/disburse` (staff pay out a fully funded loan when
//! automatic disbursement is off, or retry one that failed), `GET
//! /admin/loans/{id}` (one loan's repayment) and `POST
//! /admin/loans/{id}/default` (`reason`: staff declare it defaulted).
//! Staff and admins.

use actix_session::Session;
use actix_web::{
    HttpResponse,
    web::{Data, Path, Query},
};
use askama::Template;
use serde::Deserialize;

use crate::{
    db::queries::{
        Page,
        applications::{self as queries, QueueFilter},
        investments as investment_queries,
        servicing::{self as servicing_queries, Arrears},
    },
    domain::{
        accrual::{ArrearsBucket, days_overdue},
        ids::LoanId,
        lifecycle::LoanStatus,
    },
    error::{AppError, FieldErrors},
    format,
    services::{
        defaults::{self, Cause},
        funding, repayment,
    },
    state::AppState,
    web::{
        error::{WebError, refusal},
        extractors::{ClientMeta, CurrentUser},
        forms::{Choice, Empty, StrictForm},
        layout::{BaseCtx, form_status, page, render, see_other},
        loan_facts::{LoanFacts, Servicing},
        repayment_view::RepaymentView,
        session::{self, FlashLevel},
    },
};

/// The statuses a loan has once it is listed; the page's filter.
const LISTED: [LoanStatus; 7] = [
    LoanStatus::Funded,
    LoanStatus::Funding,
    LoanStatus::Active,
    LoanStatus::Repaid,
    LoanStatus::Expired,
    LoanStatus::Withdrawn,
    LoanStatus::Defaulted,
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoansQuery {
    status: Option<String>,
    page: Option<u64>,
}

struct Line {
    loan: LoanFacts,
    borrower: String,
    funded: String,
    can_disburse: bool,
}

/// Loans in arrears within one band of days late.
struct BucketView {
    label: &'static str,
    word: &'static str,
    loans: usize,
    overdue: String,
}

struct ArrearsLine {
    loan_id: LoanId,
    borrower: String,
    oldest_due: String,
    days: u32,
    bucket: &'static str,
    overdue: String,
}

#[derive(Template)]
#[template(path = "admin/loans.html")]
struct LoansPage {
    base: BaseCtx,
    lines: Page<Line>,
    status: String,
    status_choices: Vec<Choice>,
    buckets: Vec<BucketView>,
    arrears: Vec<ArrearsLine>,
}

fn arrears_views(
    arrears: &[Arrears],
    today: chrono::NaiveDate,
) -> (Vec<BucketView>, Vec<ArrearsLine>) {
    let lines: Vec<(ArrearsBucket, ArrearsLine)> = arrears
        .iter()
        .map(|a| {
            let days = days_overdue(a.oldest_due, today).max(1);
            let bucket = ArrearsBucket::of(days);
            (
                bucket,
                ArrearsLine {
                    loan_id: a.loan_id,
                    borrower: a.borrower.clone(),
                    oldest_due: format::day(a.oldest_due),
                    days,
                    bucket: bucket.label(),
                    overdue: a.overdue.to_string(),
                },
            )
        })
        .collect();
    let buckets = ArrearsBucket::ALL
        .iter()
        .map(|bucket| {
            let mine: Vec<&Arrears> = arrears
                .iter()
                .zip(&lines)
                .filter(|(_, (b, _))| b == bucket)
                .map(|(a, _)| a)
                .collect();
            let overdue = mine
                .iter()
                .map(|a| a.overdue)
                .reduce(|sum, next| sum.checked_add(next).unwrap_or(sum));
            BucketView {
                label: bucket.label(),
                word: bucket.as_str(),
                loans: mine.len(),
                overdue: overdue.map_or_else(|| "nothing".to_owned(), |m| m.to_string()),
            }
        })
        .collect();
    (buckets, lines.into_iter().map(|(_, line)| line).collect())
}

impl LoansPage {
    fn page_link(&self, page: u64) -> String {
        format!("/admin/loans?status={}&page={page}", self.status)
    }
}

pub async fn index(
    base: BaseCtx,
    state: Data<AppState>,
    Query(query): Query<LoansQuery>,
) -> Result<HttpResponse, WebError> {
    let status = query
        .status
        .as_deref()
        .and_then(|s| LoanStatus::parse(s.trim()))
        .filter(|s| LISTED.contains(s))
        .unwrap_or(LoanStatus::Funded);
    let filter = QueueFilter {
        status: Some(status.as_str().to_owned()),
        grade: None,
    };
    let rows = queries::queue(&state.db, &filter, query.page).await?;
    let items = rows
        .items
        .iter()
        .map(|(loan, borrower)| Line {
            loan: LoanFacts::new(loan),
            borrower: borrower
                .as_ref()
                .map(|u| format!("{} <{}>", u.full_name, u.email))
                .unwrap_or_default(),
            funded: loan.funded.to_string(),
            can_disburse: status == LoanStatus::Funded,
        })
        .collect();
    let (buckets, arrears) = if status == LoanStatus::Active {
        arrears_views(
            &servicing_queries::arrears(&state.db).await?,
            state.clock.today(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    page(&LoansPage {
        base,
        buckets,
        arrears,
        lines: Page {
            items,
            page: rows.page,
            pages: rows.pages,
            total: rows.total,
        },
        status: status.as_str().to_owned(),
        status_choices: LISTED
            .iter()
            .map(|s| Choice {
                value: s.as_str().to_owned(),
                label: s.label().to_owned(),
                selected: *s == status,
            })
            .collect(),
    })
}

pub async fn disburse(
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<LoanId>,
    StrictForm(_): StrictForm<Empty>,
) -> Result<HttpResponse, WebError> {
    funding::disburse(
        &state.db,
        state.clock.as_ref(),
        path.into_inner(),
        Some(user.id),
        &state.settings.base_url,
    )
    .await?;
    session::flash(
        &session,
        FlashLevel::Success,
        "The loan is paid out: the borrower has the money, the schedule has started and the agreements are ready.",
    );
    Ok(see_other("/admin/loans?status=active"))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DefaultForm {
    reason: String,
}

#[derive(Template)]
#[template(path = "admin/loan.html")]
struct LoanPage {
    base: BaseCtx,
    loan: LoanFacts,
    borrower: String,
    default_reason: Option<String>,
    repayment: Option<RepaymentView>,
    servicing: Servicing,
    can_default: bool,
    reason: String,
    errors: FieldErrors,
}

async fn loan_page(
    state: &AppState,
    base: BaseCtx,
    loan_id: LoanId,
    reason: String,
    errors: FieldErrors,
) -> Result<LoanPage, WebError> {
    let (loan, borrower) = queries::with_borrower(&state.db, loan_id)
        .await?
        .ok_or(WebError::NotFound)?;
    let servicing = Servicing::new(&investment_queries::servicing(&state.db, &loan).await?);
    let facts = LoanFacts::new(&loan);
    let default_reason = loan.default_reason.clone();
    let repayment = repayment::overview(&state.db, state.clock.as_ref(), loan)
        .await?
        .map(|overview| RepaymentView::new(&overview).for_staff());
    Ok(LoanPage {
        can_default: facts.status == LoanStatus::Active,
        loan: facts,
        borrower: format!("{} <{}>", borrower.full_name, borrower.email.as_str()),
        default_reason,
        repayment,
        servicing,
        reason,
        errors,
        base,
    })
}

pub async fn show(
    base: BaseCtx,
    state: Data<AppState>,
    path: Path<LoanId>,
) -> Result<HttpResponse, WebError> {
    page(
        &loan_page(
            &state,
            base,
            path.into_inner(),
            String::new(),
            FieldErrors::new(),
        )
        .await?,
    )
}

pub async fn declare_default(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    path: Path<LoanId>,
    StrictForm(form): StrictForm<DefaultForm>,
) -> Result<HttpResponse, WebError> {
    let loan_id = path.into_inner();
    let cause = Cause::Staff {
        staff: user.id,
        reason: &form.reason,
        meta: &meta,
    };
    match defaults::declare(
        &state.db,
        state.clock.as_ref(),
        loan_id,
        cause,
        &state.settings.base_url,
    )
    .await
    {
        Ok(done) => {
            let message = done.map_or_else(
                || "The loan is in default.".to_owned(),
                |d| {
                    format!(
                        "The loan is in default. The reserve fund paid the investors {} of their {} outstanding principal.",
                        d.covered, d.outstanding
                    )
                },
            );
            session::flash(&session, FlashLevel::Success, message);
            Ok(see_other(&format!("/admin/loans/{loan_id}")))
        }
        Err(AppError::Validation(errors)) => {
            let page_data = loan_page(&state, base, loan_id, form.reason, errors).await?;
            render(form_status(&page_data.errors), &page_data)
        }
        Err(AppError::Domain(reason)) => Err(WebError::Unprocessable(refusal(&reason))),
        Err(other) => Err(other.into()),
    }
}
