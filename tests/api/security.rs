//! CSRF, security headers, error pages and hostile input.

use crowdlend::domain::user::Role;
use reqwest::StatusCode;

use crate::helpers::{TestUser, captured_logs, spawn_app};

#[tokio::test]
async fn a_form_without_a_valid_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let browser = app.browser();
    let user = TestUser::new(Role::Investor);
    let _ = browser.csrf_token("/register").await;
    let fields = [
        ("email", user.email.as_str()),
        ("password", user.password.as_str()),
        ("password_confirm", user.password.as_str()),
        ("full_name", user.name.as_str()),
        ("role", "investor"),
        ("accept_terms", "on"),
    ];

    let missing = browser.post_raw("/register", &fields).await;
    let mut with_wrong = fields.to_vec();
    with_wrong.push(("csrf_token", "0000"));
    let wrong = browser.post_raw("/register", &with_wrong).await;

    for response in [missing, wrong] {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("did not come from this site")
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}

#[tokio::test]
async fn another_sessions_token_does_not_work_and_logout_needs_a_token() {
    let app = spawn_app().await;
    let (victim, _) = app.signed_in(Role::Investor).await;
    let (attacker, _) = app.signed_in(Role::Investor).await;
    let attackers_token = attacker.csrf_token("/investor").await;

    let response = victim
        .post_raw("/logout", &[("csrf_token", &attackers_token)])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = victim.post_raw("/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        victim.get("/investor").await.status(),
        StatusCode::OK,
        "still signed in"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in(Role::Borrower).await;
    for path in [
        "/",
        "/login",
        "/borrower",
        "/no-such-page",
        "/static/css/app.css",
        "/healthz",
        "/admin",
    ] {
        let response = browser.get(path).await;
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}"
        );
        assert_eq!(
            headers.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert!(headers.get("referrer-policy").is_some(), "{path}");
        assert!(
            headers.get("access-control-allow-origin").is_none(),
            "{path}"
        );
        if path != "/static/css/app.css" {
            assert_eq!(headers.get("cache-control").unwrap(), "no-store", "{path}");
        }
    }
}

#[tokio::test]
async fn an_unknown_page_gets_a_rendered_404_that_reveals_nothing() {
    let app = spawn_app().await;
    let response = app
        .browser()
        .get("/wp-admin/../../etc/passwd?x=<script>")
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("Page not found"));
    assert!(
        html.contains(r#"href="/static/css/app.css""#),
        "the full layout"
    );
    for leak in ["actix", "sea_orm", "panicked", "<script>", "stack"] {
        assert!(!html.contains(leak), "the page mentions {leak}");
    }
}

#[tokio::test]
async fn a_repeated_field_is_a_400_not_first_one_wins() {
    let app = spawn_app().await;
    let browser = app.browser();
    let token = browser.csrf_token("/login").await;
    let response = browser
        .post_raw(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "a@example.com"),
                ("email", "b@example.com"),
                ("password", "x"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("was sent more than once")
    );
}

#[tokio::test]
async fn fields_a_form_does_not_have_are_refused() {
    let app = spawn_app().await;
    let browser = app.browser();
    let user = TestUser::new(Role::Investor);
    let token = browser.csrf_token("/register").await;
    let response = browser
        .post_raw(
            "/register",
            &[
                ("csrf_token", &token),
                ("email", &user.email),
                ("password", &user.password),
                ("password_confirm", &user.password),
                ("full_name", &user.name),
                ("role", "investor"),
                ("accept_terms", "on"),
                ("kyc_status", "verified"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}

#[tokio::test]
async fn oversized_and_wrongly_typed_bodies_are_refused() {
    let app = spawn_app().await;
    let browser = app.browser();
    let token = browser.csrf_token("/login").await;
    let huge = "x".repeat(200 * 1024);
    let response = browser
        .post_raw("/login", &[("csrf_token", &token), ("email", &huge)])
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let response = browser
        .client
        .post(browser.url("/login"))
        .header("content-type", "application/json")
        .body(r#"{"email":"a@example.com"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn unused_methods_are_not_allowed() {
    let app = spawn_app().await;
    let browser = app.browser();
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let response = browser
            .client
            .request(method.clone(), browser.url("/login"))
            .send()
            .await
            .unwrap();
        assert!(
            [
                StatusCode::FORBIDDEN,
                StatusCode::METHOD_NOT_ALLOWED,
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            ]
            .contains(&response.status()),
            "{method}: {}",
            response.status()
        );
    }
    let response = browser
        .client
        .request(reqwest::Method::TRACE, browser.url("/"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
}

#[tokio::test]
async fn user_supplied_text_is_escaped_in_pages() {
    let app = spawn_app().await;
    let browser = app.browser();
    let token = browser.csrf_token("/register").await;
    let response = browser
        .post_raw(
            "/register",
            &[
                ("csrf_token", &token),
                ("email", "\"><script>alert(1)</script>"),
                ("role", "investor"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(
        html.contains("&lt;script&gt;")
            || html.contains("&#60;script&#62;")
            || html.contains("&lt;script")
    );
}

#[tokio::test]
async fn a_request_too_long_to_read_is_refused_and_logged_as_a_warning_not_an_error() {
    let app = spawn_app().await;
    // Longer than the 64 KiB a URI may have: the HTTP layer refuses it (sent
    // by hand, since an HTTP client refuses to build such a request).
    let path = format!("/marketplace?q={}", "a".repeat(70_000));
    let status_line = raw_get(&app.address, &path).await;
    assert!(status_line.starts_with("HTTP/1.1 4"), "{status_line}");

    let logs = captured_logs();
    let refusals: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("uri too long"))
        .collect();
    assert!(!refusals.is_empty(), "the refusal is logged");
    assert!(
        refusals
            .iter()
            .all(|line| line.contains("WARN") && !line.contains("ERROR")),
        "{refusals:?}"
    );
}

/// Sends `GET path` over a plain TCP connection and returns the status line.
async fn raw_get(address: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}
