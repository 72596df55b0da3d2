//! The landing page, liveness and metrics.

use crowdlend::domain::user::Role;
use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_ok_when_the_database_does() {
    let app = spawn_app().await;
    let response = app.browser().get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok\n");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_time_them() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.get("/login").await;
    browser.get("/login").await;
    browser.get("/nothing-here").await;

    let body = browser.get("/metrics").await.text().await.unwrap();
    assert!(
        body.contains(r#"http_requests_total{method="GET",route="/login",status="200"} 2"#),
        "{body}"
    );
    assert!(body.contains(r#"route="unmatched",status="404""#));
    assert!(body.contains("http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn the_landing_page_shows_live_figures() {
    let app = spawn_app().await;
    app.signed_in(Role::Investor).await;
    app.signed_in(Role::Investor).await;
    app.signed_in(Role::Borrower).await;
    let html = app.browser().get_html("/").await;
    assert!(html.contains(
        r#"<span class="stat-value">2</span><span class="stat-label">investors registered</span>"#
    ));
    assert!(html.contains(
        r#"<span class="stat-value">1</span><span class="stat-label">borrowers registered</span>"#
    ));
    assert!(html.contains(r#"href="/register?role=investor""#));
}
