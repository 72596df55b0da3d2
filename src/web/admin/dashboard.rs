//! `GET /admin`: the back office's start page.

use actix_web::{HttpResponse, web::Data};
use askama::Template;

use crate::{
    db::queries::{applications, users},
    state::AppState,
    web::{
        error::WebError,
        layout::{BaseCtx, page},
    },
};

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    base: BaseCtx,
    counts: Vec<(String, u64)>,
    awaiting_review: u64,
}

pub async fn show(base: BaseCtx, state: Data<AppState>) -> Result<HttpResponse, WebError> {
    let counts = users::count_by_role(&state.db).await?;
    let awaiting_review = applications::awaiting_review(&state.db).await?;
    page(&DashboardPage {
        base,
        counts,
        awaiting_review,
    })
}
