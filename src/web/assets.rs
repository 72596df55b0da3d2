//! Static files, compiled into the binary so it runs from any folder and the
//! image needs nothing beside it.

use actix_web::{HttpResponse, web::Path};

use crate::web::error::WebError;

const ASSETS: &[(&str, &str, &str)] = &[(
    "css/app.css",
    "text/css; charset=utf-8",
    include_str!("../../static/css/app.css"),
)];

pub async fn serve(path: Path<String>) -> Result<HttpResponse, WebError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == path.as_str())
        .ok_or(WebError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(*content_type)
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(*body))
}
