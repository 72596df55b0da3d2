//! `GET /investor`: the investor's home: account, wallet, and the portfolio
//! by status with the latest investments.

use actix_web::{HttpResponse, web::Data};
use askama::Template;

use crate::{
    db::queries::investor as queries,
    domain::{investing::InvestmentStatus, money::Currency},
    format,
    state::AppState,
    web::{
        account::summary::AccountView,
        error::WebError,
        extractors::CurrentUser,
        layout::{BaseCtx, page},
    },
};

/// One status of the portfolio: how many investments and how much.
struct StatusTotal {
    label: &'static str,
    count: i64,
    amount: String,
}

#[derive(Template)]
#[template(path = "investor/dashboard.html")]
struct DashboardPage {
    base: BaseCtx,
    account: AccountView,
    totals: Vec<StatusTotal>,
}

pub async fn show(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, WebError> {
    let dashboard = queries::dashboard(&state.db, user.id)
        .await?
        .ok_or(WebError::NotFound)?;
    let totals = InvestmentStatus::ALL
        .iter()
        .filter_map(|status| {
            let (_, count, amount) = dashboard.totals.iter().find(|(s, _, _)| s == status)?;
            Some(StatusTotal {
                label: status.label(),
                count: *count,
                amount: format::money(*amount, Currency::Rub),
            })
        })
        .collect();
    page(&DashboardPage {
        base,
        account: AccountView::from(dashboard.account),
        totals,
    })
}
