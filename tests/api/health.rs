//! The landing page, liveness and metrics.

use crowdlend::domain::user::Role;
use reqwest::StatusCode;

use sea_orm::ConnectionTrait;

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

#[tokio::test]
async fn healthz_reports_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.clone().close().await.unwrap();
    let response = app.browser().get("/healthz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.text().await.unwrap(), "database unavailable\n");
}

#[tokio::test]
async fn a_server_error_shows_a_page_with_a_reference_and_no_internals() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in(Role::Investor).await;
    // Break the database under the running app.
    app.db
        .execute_unprepared("ALTER TABLE wallets RENAME TO wallets_gone")
        .await
        .unwrap();

    let response = browser.get("/wallet").await;

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let html = response.text().await.unwrap();
    assert!(html.contains("Something went wrong"));
    assert!(html.contains("Nothing was changed"));
    assert!(
        html.contains("quote reference <code>"),
        "a request id to quote"
    );
    assert!(html.contains("Sign out"), "the page keeps the navigation");
    for leak in [
        "wallets",
        "sqlx",
        "sea_orm",
        "no such table",
        "relation",
        "SELECT",
    ] {
        assert!(
            !html.to_lowercase().contains(&leak.to_lowercase()),
            "the page mentions {leak}"
        );
    }
}
