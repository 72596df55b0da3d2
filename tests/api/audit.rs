//! `/admin/audit`: admins read who did what, filter it and page through it;
//! nobody else can.

use crowdlend::domain::user::Role;
use reqwest::StatusCode;

use crate::helpers::{spawn_app, text_at};

fn rows(html: &str) -> Vec<String> {
    let document = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse("#audit tbody tr").unwrap();
    document
        .select(&selector)
        .map(|row| row.text().collect::<Vec<_>>().join(" "))
        .collect()
}

#[tokio::test]
async fn admins_read_and_filter_the_audit_log() {
    let app = spawn_app().await;
    let (investor, user) = app.signed_in(Role::Investor).await;
    investor.logout("/investor").await;
    investor.login(&user.email, "not-the-password").await;
    let (admin, admin_user) = app.signed_in(Role::Admin).await;
    let token = admin.csrf_token("/admin/settings").await;
    admin
        .post_raw(
            "/admin/settings",
            &[
                ("csrf_token", token.as_str()),
                ("funding_days", "10"),
                ("kyc_required", "true"),
                ("disbursement_automatic", "true"),
            ],
        )
        .await;

    let html = admin.get_html("/admin/audit").await;
    let all = rows(&html);
    assert!(
        all[0].contains("Settings changed"),
        "newest first: {}",
        all[0]
    );
    assert!(all[0].contains(&admin_user.email));
    assert!(
        all[0].contains(r#"{"funding_days":"14"}"#) && all[0].contains(r#"{"funding_days":"10"}"#),
        "{}",
        all[0]
    );
    assert!(
        all.iter()
            .any(|r| r.contains("Login failed") && r.contains(&user.email))
    );

    let failed = rows(&admin.get_html("/admin/audit?action=login_failed").await);
    assert_eq!(failed.len(), 1);
    assert!(failed[0].contains("wrong_password"), "{}", failed[0]);

    let local_part = user.email.split('@').next().unwrap().to_uppercase();
    let mine = rows(
        &admin
            .get_html(&format!("/admin/audit?actor={local_part}"))
            .await,
    );
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|r| r.contains(&user.email)), "{mine:?}");
    // The filter's text is matched literally: no email holds a % or an _,
    // so neither is a wildcard that matches every row.
    for wildcard in ["%25", "_", "%25%25", "investor_"] {
        let html = admin
            .get_html(&format!("/admin/audit?actor={wildcard}"))
            .await;
        assert_eq!(
            text_at(&html, ".empty").as_deref(),
            Some("No records match."),
            "actor={wildcard}"
        );
    }

    let none = admin.get_html("/admin/audit?action=no_such_action").await;
    assert_eq!(
        text_at(&none, ".empty").as_deref(),
        Some("No records match.")
    );
    assert_eq!(
        admin.get("/admin/audit?page=x").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        admin.get("/admin/audit?sort=evil").await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_audit_log_pages_fifty_at_a_time() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    for n in 0..55 {
        crowdlend::services::audit::record(
            &app.db,
            crowdlend::services::audit::AuditEvent {
                actor_id: None,
                action: "login_failed",
                entity: None,
                before: None,
                after: Some(serde_json::json!({ "attempt": n })),
                meta: &crowdlend::services::RequestMeta::default(),
                at: crate::helpers::start_time() + chrono::TimeDelta::seconds(n),
            },
        )
        .await
        .unwrap();
    }
    let first = admin.get_html("/admin/audit?action=login_failed").await;
    assert_eq!(rows(&first).len(), 50);
    assert!(first.contains("55 records"));
    let second = admin
        .get_html("/admin/audit?action=login_failed&page=2")
        .await;
    assert_eq!(rows(&second).len(), 5);
    assert!(
        rows(&second)[4].contains(r#"{"attempt":0}"#),
        "the oldest is last"
    );
    let document = scraper::Html::parse_document(&first);
    let next = scraper::Selector::parse(r#"a[rel="next"]"#).unwrap();
    assert_eq!(
        document
            .select(&next)
            .next()
            .and_then(|a| a.value().attr("href")),
        Some("/admin/audit?action=login_failed&page=2"),
        "the filter stays in the link"
    );
}

#[tokio::test]
async fn only_admins_read_the_audit_log() {
    let app = spawn_app().await;
    for role in [Role::Staff, Role::Investor, Role::Borrower] {
        let (browser, _) = app.signed_in(role).await;
        assert_eq!(
            browser.get("/admin/audit").await.status(),
            StatusCode::FORBIDDEN,
            "{role:?}"
        );
    }
}
