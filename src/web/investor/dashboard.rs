//! `GET /investor`: the investor's home: account, wallet, and the portfolio
//! by status with the latest investments.

use actix_web::{HttpResponse, web::Data};
use askama::Template;

use crate::{
    db::queries::investments as queries,
    domain::{investing::InvestmentStatus, money::Currency},
    format,
    state::AppState,
    web::{
        account::summary::{self, AccountView},
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
    let stored = queries::totals_by_status(&state.db, user.id).await?;
    let totals = InvestmentStatus::ALL
        .iter()
        .filter_map(|status| {
            let (_, count, amount) = stored.iter().find(|(s, _, _)| s == status)?;
            Some(StatusTotal {
                label: status.label(),
                count: *count,
                amount: format::money(*amount, Currency::Rub),
            })
        })
        .collect();
    page(&DashboardPage {
        base,
        account: summary::load(&state, user.id).await?,
        totals,
    })
}
