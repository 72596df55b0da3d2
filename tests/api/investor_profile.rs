//! The investor profile: tax id, qualified declaration, nominees and the
//! risk declaration.

use crowdlend::domain::user::Role;
use reqwest::StatusCode;

use crate::helpers::{Browser, assert_redirects_to, field_error, input_value, spawn_app, text_at};

const VALID_INN: &str = "500100732259";

async fn save(browser: &Browser, fields: &[(&str, &str)]) -> reqwest::Response {
    browser
        .submit("/investor/profile", "/investor/profile", fields)
        .await
}

#[tokio::test]
async fn an_investor_saves_the_profile_with_nominees_and_accepts_the_risks_once() {
    let app = spawn_app().await;
    let (investor, _) = app.signed_in(Role::Investor).await;
    let page = investor.get_html("/investor/profile").await;
    assert!(
        page.contains("600\u{a0}000,00\u{a0}₽"),
        "the yearly limit is shown"
    );
    assert!(text_at(&page, "#risk-accepted").is_none());

    let response = save(
        &investor,
        &[
            ("tax_id", "5001 0073 2259"),
            ("qualified", "on"),
            ("accept_risk_declaration", "on"),
            ("nominee_name_0", "Анна Петрова"),
            ("nominee_relation_0", "spouse"),
            ("nominee_share_pct_0", "60"),
            ("nominee_name_1", "Pavel Petrov"),
            ("nominee_relation_1", "child"),
            ("nominee_share_pct_1", "40"),
            ("action", "save"),
        ],
    )
    .await;
    assert_redirects_to(&response, "/investor/profile");
    let page = investor.get_html("/investor/profile").await;
    assert_eq!(input_value(&page, "tax_id").as_deref(), Some(VALID_INN));
    assert_eq!(
        input_value(&page, "nominee_name_0").as_deref(),
        Some("Анна Петрова")
    );
    assert_eq!(
        input_value(&page, "nominee_share_pct_1").as_deref(),
        Some("40")
    );
    let accepted = text_at(&page, "#risk-accepted").unwrap();
    assert!(accepted.contains("23 Nov 2026, 09:30 UTC"), "{accepted}");
    assert_eq!(app.count("SELECT COUNT(*) FROM nominees").await, 2);

    // Saving again later, without the box (it is no longer shown), keeps the
    // first acceptance; removing every nominee is allowed.
    app.clock.advance(chrono::TimeDelta::minutes(10));
    let response = save(&investor, &[("tax_id", VALID_INN), ("action", "save")]).await;
    assert_redirects_to(&response, "/investor/profile");
    let page = investor.get_html("/investor/profile").await;
    assert!(
        text_at(&page, "#risk-accepted")
            .unwrap()
            .contains("23 Nov 2026")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM nominees").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'investor_profile_saved'")
            .await,
        2
    );
}

#[tokio::test]
async fn each_invalid_field_gets_its_message_and_nothing_is_saved() {
    let app = spawn_app().await;
    let (investor, _) = app.signed_in(Role::Investor).await;
    let base = [
        ("tax_id", VALID_INN),
        ("nominee_name_0", "Анна Петрова"),
        ("nominee_relation_0", "spouse"),
        ("nominee_share_pct_0", "100"),
        ("action", "save"),
    ];
    let cases: &[(&str, &str, &str, &str)] = &[
        ("tax_id", "", "tax_id", "Enter your taxpayer number"),
        ("tax_id", "7707083893", "tax_id", "12 digits"),
        ("tax_id", "500100732258", "tax_id", "check digits"),
        ("nominee_name_0", " ", "nominee_name_0", "full name"),
        (
            "nominee_relation_0",
            "friend",
            "nominee_relation_0",
            "related",
        ),
        (
            "nominee_share_pct_0",
            "0",
            "nominee_share_pct_0",
            "1 to 100",
        ),
        (
            "nominee_share_pct_0",
            "abc",
            "nominee_share_pct_0",
            "1 to 100",
        ),
        ("nominee_share_pct_0", "90", "nominees", "add up to 90 %"),
    ];
    for (field, value, error_field, message) in cases {
        let mut fields = base.to_vec();
        fields.iter_mut().find(|(k, _)| k == field).unwrap().1 = value;
        let response = save(&investor, &fields).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}"
        );
        let html = response.text().await.unwrap();
        let shown = field_error(&html, error_field).unwrap_or_default();
        assert!(
            shown.contains(message),
            "{field}={value}: expected {message:?}, got {shown:?}"
        );
        assert_eq!(
            input_value(&html, "nominee_name_0").as_deref(),
            Some(if *field == "nominee_name_0" {
                *value
            } else {
                "Анна Петрова"
            })
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM investor_profiles").await, 0);
    let unknown = save(&investor, &[("tax_id", VALID_INN), ("nominee_age_0", "5")]).await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn nominee_rows_are_added_and_removed_and_the_page_is_for_investors_only() {
    let app = spawn_app().await;
    let (investor, _) = app.signed_in(Role::Investor).await;
    let html = save(&investor, &[("tax_id", "123"), ("action", "add_nominee")])
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        input_value(&html, "tax_id").as_deref(),
        Some("123"),
        "typed values kept"
    );
    assert_eq!(input_value(&html, "nominee_name_0").as_deref(), Some(""));
    assert!(
        field_error(&html, "tax_id").is_none(),
        "adding a row does not validate"
    );
    let html = save(
        &investor,
        &[
            ("tax_id", "123"),
            ("nominee_name_0", "A"),
            ("nominee_name_1", "B"),
            ("action", "remove_nominee_0"),
        ],
    )
    .await
    .text()
    .await
    .unwrap();
    assert_eq!(input_value(&html, "nominee_name_0").as_deref(), Some("B"));
    assert!(input_value(&html, "nominee_name_1").is_none());

    let (borrower, _) = app.signed_in(Role::Borrower).await;
    assert_eq!(
        borrower.get("/investor/profile").await.status(),
        StatusCode::FORBIDDEN
    );
}
