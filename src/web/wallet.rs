//! `GET /wallet`: the balance a borrower or investor holds on the platform.

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
#[template(path = "wallet/index.html")]
struct WalletPage {
    base: BaseCtx,
    account: AccountView,
}

pub async fn show(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, WebError> {
    page(&WalletPage {
        base,
        account: summary::load(&state.db, user.id).await?,
    })
}
