//! `/healthz` (is the database answering?) and `/metrics` (Prometheus text).

use actix_web::{HttpResponse, web::Data};

use crate::{db, state::AppState, web::observe::Metrics};

pub async fn healthz(state: Data<AppState>) -> HttpResponse {
    match db::ping(&state.db).await {
        Ok(()) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("ok\n"),
        Err(err) => {
            tracing::error!(error = %err, "health check: database unavailable");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("database unavailable\n")
        }
    }
}

pub async fn metrics(metrics: Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}
