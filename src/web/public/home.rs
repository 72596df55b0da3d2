//! The landing page, with live figures from the database.

use actix_web::{HttpResponse, web::Data};
use askama::Template;

use crate::{
    db::queries::users,
    state::AppState,
    web::{
        error::WebError,
        layout::{BaseCtx, page},
    },
};

#[derive(Template)]
#[template(path = "public/home.html")]
struct HomePage {
    base: BaseCtx,
    investors: u64,
    borrowers: u64,
}

pub async fn show(base: BaseCtx, state: Data<AppState>) -> Result<HttpResponse, WebError> {
    let counts = users::count_by_role(&state.db).await?;
    let count_of = |role: &str| {
        counts
            .iter()
            .find(|(r, _)| r == role)
            .map_or(0, |(_, n)| *n)
    };
    page(&HomePage {
        investors: count_of("investor"),
        borrowers: count_of("borrower"),
        base,
    })
}
