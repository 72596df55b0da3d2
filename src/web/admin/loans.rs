//! `GET /admin/loans` (listed loans by status, funded ones first by
//! default, with what each has raised) and `POST /admin/loans/{id}/disburse`
//! (staff pay out a fully funded loan when automatic disbursement is off, or
//! retry one that failed). Staff and admins.

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
    },
    domain::ids::LoanId,
    domain::lifecycle::LoanStatus,
    services::funding,
    state::AppState,
    web::{
        error::WebError,
        extractors::CurrentUser,
        forms::{Choice, Empty, StrictForm},
        layout::{BaseCtx, page, see_other},
        loan_facts::LoanFacts,
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

#[derive(Template)]
#[template(path = "admin/loans.html")]
struct LoansPage {
    base: BaseCtx,
    lines: Page<Line>,
    status: String,
    status_choices: Vec<Choice>,
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
    page(&LoansPage {
        base,
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
