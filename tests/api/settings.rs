//! `/admin/settings`: admins read and change the platform's limits, grade
//! bands and fees; bad values are refused next to the field; every change is
//! audited; nobody else gets in.

use crowdlend::{db::entities::audit_log, domain::user::Role, services::settings};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::helpers::{assert_redirects_to, csrf_token_in, field_error, input_value, spawn_app};

#[tokio::test]
async fn an_admin_changes_settings_and_the_change_is_audited() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let html = admin.get_html("/admin/settings").await;
    assert_eq!(
        input_value(&html, "loan_max_amount").as_deref(),
        Some("3000000.00")
    );
    assert_eq!(
        input_value(&html, "grade_B_max_rate").as_deref(),
        Some("20")
    );
    assert_eq!(
        input_value(&html, "loan_terms").as_deref(),
        Some("3,6,9,12,18,24,36,48,60")
    );
    assert!(html.contains(r#"name="kyc_required" value="true" checked"#));

    let token = csrf_token_in(&html);
    let response = admin
        .post_raw(
            "/admin/settings",
            &[
                ("csrf_token", token.as_str()),
                ("grade_B_max_rate", "21,5"),
                ("funding_days", "21"),
                ("loan_terms", "12, 6, 24"),
                ("kyc_required", "true"),
                ("disbursement_automatic", "true"),
            ],
        )
        .await;
    assert_redirects_to(&response, "/admin/settings");
    let html = admin.get_html("/admin/settings").await;
    assert!(html.contains("Settings saved."));
    assert_eq!(
        input_value(&html, "grade_B_max_rate").as_deref(),
        Some("21.5")
    );
    assert_eq!(input_value(&html, "funding_days").as_deref(), Some("21"));
    assert_eq!(input_value(&html, "loan_terms").as_deref(), Some("6,12,24"));

    let current = settings::load(&app.db).await.unwrap();
    assert_eq!(current.funding_days, 21);
    assert_eq!(current.loan_terms, [6, 12, 24]);
    assert!(current.kyc_required);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM platform_settings").await,
        3,
        "only what changed is stored"
    );
    let audit = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("settings_changed"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(audit.before.unwrap()["funding_days"], "14");
    let after = audit.after.unwrap();
    assert_eq!(after["funding_days"], "21");
    assert_eq!(after["grade_B_max_rate"], "21.5");
    assert_eq!(after.as_object().unwrap().len(), 3);

    // Leaving the checkbox unticked turns the identity check off.
    let token = admin.csrf_token("/admin/settings").await;
    let response = admin
        .post_raw("/admin/settings", &[("csrf_token", token.as_str())])
        .await;
    assert_redirects_to(&response, "/admin/settings");
    assert!(!settings::load(&app.db).await.unwrap().kyc_required);
}

#[tokio::test]
async fn bad_values_are_refused_next_to_the_field_and_nothing_is_saved() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let token = admin.csrf_token("/admin/settings").await;
    let response = admin
        .post_raw(
            "/admin/settings",
            &[
                ("csrf_token", token.as_str()),
                ("funding_days", "ten"),
                ("grade_C_min_rate", "abc"),
                ("kyc_required", "true"),
                ("disbursement_automatic", "true"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert_eq!(
        field_error(&html, "funding_days").as_deref(),
        Some("Enter a whole number from 0 to 365.")
    );
    assert!(field_error(&html, "grade_C_min_rate").is_some());
    assert_eq!(
        input_value(&html, "funding_days").as_deref(),
        Some("ten"),
        "what was typed stays"
    );

    // Each value parses, but together they break a rule.
    let response = admin
        .post_raw(
            "/admin/settings",
            &[
                ("csrf_token", token.as_str()),
                ("grade_C_min_rate", "30"),
                ("kyc_required", "true"),
                ("disbursement_automatic", "true"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert_eq!(
        field_error(&html, "grade_C_min_rate").as_deref(),
        Some("Grade C's lowest rate is above its highest.")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM platform_settings").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'settings_changed'")
            .await,
        0
    );

    let response = admin
        .post_raw(
            "/admin/settings",
            &[("csrf_token", token.as_str()), ("is_admin", "true")],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "a field the form does not have"
    );
    let response = admin
        .post_raw(
            "/admin/settings",
            &[
                ("csrf_token", token.as_str()),
                ("funding_days", "3"),
                ("funding_days", "30"),
            ],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "a field sent twice"
    );
}

#[tokio::test]
async fn only_admins_reach_the_settings() {
    let app = spawn_app().await;
    for role in [Role::Staff, Role::Investor, Role::Borrower] {
        let (browser, _) = app.signed_in(role).await;
        assert_eq!(
            browser.get("/admin/settings").await.status(),
            StatusCode::FORBIDDEN,
            "{role:?}"
        );
    }
    let anonymous = app.browser().get("/admin/settings").await;
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
}
