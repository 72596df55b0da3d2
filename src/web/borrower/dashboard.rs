//! `GET /borrower`: the borrower's home: their applications and what to do next.

use actix_web::{HttpResponse, web::Data};
use askama::Template;

use crate::{
    db::queries::applications as queries,
    services::applications,
    state::AppState,
    web::{
        account::summary::{self, AccountView},
        error::{WebError, refusal},
        extractors::CurrentUser,
        layout::{BaseCtx, page},
        loan_facts::LoanFacts,
    },
};

#[derive(Template)]
#[template(path = "borrower/dashboard.html")]
struct DashboardPage {
    base: BaseCtx,
    account: AccountView,
    loans: Vec<LoanFacts>,
    has_profile: bool,
    cannot_apply: Option<String>,
}

pub async fn show(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, WebError> {
    let loans = queries::for_borrower(&state.db, user.id)
        .await?
        .iter()
        .map(LoanFacts::new)
        .collect::<Vec<_>>();
    let has_profile = queries::has_profile(&state.db, user.id).await?;
    let has_open = loans
        .iter()
        .any(|loan| applications::OPEN_STATUSES.contains(&loan.status));
    page(&DashboardPage {
        base,
        account: summary::load(&state, user.id).await?,
        loans,
        has_profile,
        cannot_apply: applications::apply_blocker(has_profile, has_open).map(|r| refusal(&r)),
    })
}
