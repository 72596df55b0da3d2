//! `GET /borrower`: the borrower's home.

use actix_web::{HttpResponse, web::Data};
use askama::Template;

use crate::{
    state::AppState,
    web::{
        account::summary::{self, AccountView},
        error::WebError,
        extractors::CurrentUser,
        layout::{BaseCtx, page},
    },
};

#[derive(Template)]
#[template(path = "borrower/dashboard.html")]
struct DashboardPage {
    base: BaseCtx,
    account: AccountView,
}

pub async fn show(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, WebError> {
    page(&DashboardPage {
        base,
        account: summary::load(&state.db, user.id).await?,
    })
}
