//! The identity check: borrowers and investors send their identity details
//! at `/account/identity`; staff review them at `/admin/users/{id}` and
//! verify or reject them. Bad input is refused next to the field; every step
//! is audited; nobody else gets in.

use chrono::TimeDelta;
use crowdlend::{clock::Clock, db::entities::identity_documents, domain::user::Role};
use reqwest::StatusCode;
use sea_orm::EntityTrait;

use crate::helpers::{
    Browser, TestApp, assert_redirects_to, field_error, input_value, spawn_app, text_at,
};

pub const VALID: [(&str, &str); 4] = [
    ("document_type", "passport"),
    ("document_number", "45 06 123456"),
    ("issued_on", "2019-05-14"),
    ("address", "12 Garden Street, flat 3, Springfield 123456"),
];

/// Submits the identity form with `VALID` values, some replaced by `changes`.
pub async fn send_identity(browser: &Browser, changes: &[(&str, &str)]) -> reqwest::Response {
    let fields: Vec<(&str, &str)> = VALID
        .iter()
        .map(|(name, value)| {
            changes
                .iter()
                .find(|(changed, _)| changed == name)
                .map_or((*name, *value), |(_, new)| (*name, *new))
        })
        .collect();
    browser
        .submit("/account/identity", "/account/identity", &fields)
        .await
}

/// Staff's decision on `user_id`'s identity check.
pub async fn decide(
    staff: &Browser,
    user_id: uuid::Uuid,
    decision: &str,
    reason: &str,
) -> reqwest::Response {
    staff
        .submit(
            &format!("/admin/users/{user_id}"),
            &format!("/admin/users/{user_id}/kyc"),
            &[("decision", decision), ("reason", reason)],
        )
        .await
}

/// A borrower or investor who has sent valid identity details: their
/// browser, email and id.
pub async fn pending_user(app: &TestApp, role: Role) -> (Browser, String, uuid::Uuid) {
    let (browser, user) = app.signed_in(role).await;
    let response = send_identity(&browser, &[]).await;
    assert_redirects_to(&response, "/account/identity");
    let id = app.user(&user.email).await.id;
    (browser, user.email, id)
}

#[tokio::test]
async fn a_borrower_sends_identity_details_and_sees_them_waiting_for_review() {
    // Arrange
    let app = spawn_app().await;
    let (borrower, user) = app.signed_in(Role::Borrower).await;
    let dashboard = borrower.get_html("/borrower").await;
    assert!(dashboard.contains(r#"href="/account/identity""#));
    let html = borrower.get_html("/account/identity").await;
    assert!(html.contains("Not submitted"));
    assert!(html.contains("You have not sent your identity details yet"));

    // Act
    let response = send_identity(&borrower, &[]).await;

    // Assert
    assert_redirects_to(&response, "/account/identity");
    let html = borrower.get_html("/account/identity").await;
    assert!(
        html.contains("Your details are waiting for review"),
        "{html}"
    );
    assert!(html.contains("Under review"));
    assert_eq!(
        input_value(&html, "document_number").as_deref(),
        Some("45 06 123456")
    );
    assert!(html.contains(r#"<option value="passport" selected>"#));
    let stored = app.user(&user.email).await;
    assert_eq!(stored.kyc_status, "pending");
    let document = identity_documents::Entity::find_by_id(stored.id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("the details are stored");
    assert_eq!(document.document_type, "passport");
    assert_eq!(document.document_number, "45 06 123456");
    assert_eq!(document.issued_on.to_string(), "2019-05-14");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'identity_submitted'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox_emails").await,
        0,
        "sending details emails nobody"
    );

    // The same details again change nothing.
    let response = send_identity(&borrower, &[]).await;
    assert_redirects_to(&response, "/account/identity");
    assert!(
        borrower
            .get_html("/account/identity")
            .await
            .contains("nothing changed")
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'identity_submitted'")
            .await,
        1
    );
}

#[tokio::test]
async fn each_bad_field_gets_its_message_and_what_was_typed_stays() {
    let app = spawn_app().await;
    let (investor, user) = app.signed_in(Role::Investor).await;
    let tomorrow = (app.clock.today() + TimeDelta::days(1)).to_string();
    let cases: [(&str, &str, &str); 8] = [
        ("document_type", "", "Choose the kind of document."),
        (
            "document_type",
            "library_card",
            "Choose the kind of document: passport, national identity card or driving licence.",
        ),
        (
            "document_number",
            "12",
            "Enter the document number as printed: 4 to 30 letters and digits (spaces and hyphens are fine).",
        ),
        (
            "issued_on",
            "31.12.2020",
            "Enter the date the document was issued, like 2020-03-31.",
        ),
        (
            "issued_on",
            &tomorrow,
            "The issue date cannot be in the future.",
        ),
        (
            "issued_on",
            "",
            "Enter the date the document was issued, like 2020-03-31.",
        ),
        (
            "address",
            "Moscow",
            "Enter your full home address: 10 to 300 characters.",
        ),
        ("address", "", "Enter your full home address."),
    ];
    for (field, value, message) in cases {
        let response = send_identity(&investor, &[(field, value)]).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}"
        );
        let html = response.text().await.unwrap();
        assert_eq!(
            field_error(&html, field).as_deref(),
            Some(message),
            "{field}={value}"
        );
        assert_eq!(
            input_value(&html, "document_number").as_deref(),
            Some(if field == "document_number" {
                value
            } else {
                "45 06 123456"
            }),
            "values are kept"
        );
    }
    // Everything wrong at once: one message per field.
    let response = investor
        .submit(
            "/account/identity",
            "/account/identity",
            &[
                ("document_type", ""),
                ("document_number", ""),
                ("issued_on", ""),
                ("address", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    for field in ["document_type", "document_number", "issued_on", "address"] {
        assert!(field_error(&html, field).is_some(), "{field}");
    }
    // Fields the form does not have, or sent twice, are refused outright.
    let token = investor.csrf_token("/account/identity").await;
    let mut fields = vec![("csrf_token", token.as_str()), ("kyc_status", "verified")];
    fields.extend_from_slice(&VALID);
    assert_eq!(
        investor
            .post_raw("/account/identity", &fields)
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(app.user(&user.email).await.kyc_status, "none");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM identity_documents").await,
        0
    );
    // Without the CSRF token nothing happens.
    assert_eq!(
        investor
            .post_raw("/account/identity", &VALID)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn staff_review_the_queue_oldest_first_and_see_one_users_details_and_history() {
    let app = spawn_app().await;
    let (_, first_email, first_id) = pending_user(&app, Role::Borrower).await;
    app.clock.advance(TimeDelta::hours(1));
    let (_, second_email, _) = pending_user(&app, Role::Investor).await;
    let (staff, staff_user) = app.signed_in(Role::Staff).await;

    let queue = staff.get_html("/admin/users?kyc=pending").await;
    let first_at = queue.find(&first_email).expect("first in the queue");
    let second_at = queue.find(&second_email).expect("second in the queue");
    assert!(first_at < second_at, "the longest-waiting first");
    assert!(
        !queue.contains("Create a staff account"),
        "only admins create staff"
    );
    let everyone = staff.get_html("/admin/users").await;
    let staff_row = everyone.find(&staff_user.email).unwrap();
    assert!(
        everyone.find(&second_email).unwrap() < staff_row,
        "pending reviews come before everyone else"
    );
    let verified = staff.get_html("/admin/users?kyc=verified").await;
    assert_eq!(
        text_at(&verified, ".empty").as_deref(),
        Some("No accounts match.")
    );

    let page = staff.get_html(&format!("/admin/users/{first_id}")).await;
    assert!(page.contains("45 06 123456"));
    assert!(page.contains("Passport"));
    assert!(page.contains("12 Garden Street, flat 3, Springfield 123456"));
    assert!(page.contains("14 May 2019"));
    assert_eq!(
        text_at(&page, "#kyc-status").as_deref(),
        Some("Under review")
    );
    assert!(
        page.contains("Identity submitted"),
        "history shows the submission"
    );
    assert!(
        page.contains(r#"action="/admin/users/"#),
        "the decision form"
    );

    assert_eq!(
        staff
            .get(&format!("/admin/users/{}", uuid::Uuid::new_v4()))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        staff.get("/admin/users/not-a-uuid").await.status(),
        StatusCode::NOT_FOUND
    );
    let (borrower, _) = app.signed_in(Role::Borrower).await;
    assert_eq!(
        borrower
            .get(&format!("/admin/users/{first_id}"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        staff.get("/account/identity").await.status(),
        StatusCode::FORBIDDEN,
        "staff have no identity check"
    );
}

#[tokio::test]
async fn staff_verify_a_pending_check_and_it_is_audited() {
    let app = spawn_app().await;
    let (borrower, email, id) = pending_user(&app, Role::Borrower).await;
    let (staff, staff_user) = app.signed_in(Role::Staff).await;

    let response = decide(&staff, id, "verify", "").await;

    assert_redirects_to(&response, &format!("/admin/users/{id}"));
    let page = staff.get_html(&format!("/admin/users/{id}")).await;
    assert!(page.contains("Identity verified. The person will be emailed."));
    assert_eq!(text_at(&page, "#kyc-status").as_deref(), Some("Verified"));
    assert!(
        !page.contains(r#"id="kyc-decision""#),
        "nothing left to decide"
    );
    assert!(page.contains("Kyc verified") && page.contains(&staff_user.email));
    assert_eq!(app.user(&email).await.kyc_status, "verified");
    let audit = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'kyc_verified' AND entity_id = '{id}'"
        ))
        .await;
    assert_eq!(audit, 1);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM outbox_emails WHERE kind = 'kyc_decision' AND state = 'pending'"
        )
        .await,
        1
    );
    assert!(
        borrower
            .get_html("/account/identity")
            .await
            .contains("Your identity is verified.")
    );

    // A verified person who changes their document is checked again.
    let response = send_identity(&borrower, &[("document_number", "45 07 654321")]).await;
    assert_redirects_to(&response, "/account/identity");
    assert_eq!(app.user(&email).await.kyc_status, "pending");
}

#[tokio::test]
async fn a_rejection_needs_a_reason_and_the_person_sees_it_and_can_send_again() {
    let app = spawn_app().await;
    let (borrower, email, id) = pending_user(&app, Role::Borrower).await;
    let (staff, _) = app.signed_in(Role::Staff).await;

    let response = decide(&staff, id, "reject", "   ").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert_eq!(
        field_error(&html, "reason").as_deref(),
        Some("Say why the details are rejected: the person reads this reason.")
    );
    let response = decide(&staff, id, "reject", &"x".repeat(501)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_error(&response.text().await.unwrap(), "reason").as_deref(),
        Some("Keep the reason to 500 characters.")
    );
    let response = decide(&staff, id, "approve", "").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_error(&response.text().await.unwrap(), "decision").as_deref(),
        Some("Choose whether to verify or reject.")
    );
    assert_eq!(app.user(&email).await.kyc_status, "pending");
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails").await, 0);

    let reason = "The document number does not match the scan <b>you sent</b>.";
    let response = decide(&staff, id, "reject", reason).await;
    assert_redirects_to(&response, &format!("/admin/users/{id}"));
    let stored = app.user(&email).await;
    assert_eq!(stored.kyc_status, "rejected");
    assert_eq!(stored.kyc_reason.as_deref(), Some(reason));
    let html = borrower.get_html("/account/identity").await;
    assert_eq!(text_at(&html, "#kyc-reason").as_deref(), Some(reason));
    assert!(!html.contains("<b>you sent</b>"), "the reason is escaped");

    let response = send_identity(&borrower, &[("document_number", "45 06 123457")]).await;
    assert_redirects_to(&response, "/account/identity");
    let stored = app.user(&email).await;
    assert_eq!(stored.kyc_status, "pending");
    assert_eq!(stored.kyc_reason, None);
}

#[tokio::test]
async fn a_decision_on_a_check_that_is_not_waiting_is_refused_and_queues_no_email() {
    let app = spawn_app().await;
    let (_, user) = app.signed_in(Role::Investor).await;
    let never_sent = app.user(&user.email).await.id;
    let (_, _, id) = pending_user(&app, Role::Borrower).await;
    let (staff, _) = app.signed_in(Role::Staff).await;

    let token = staff.csrf_token("/admin").await;
    let response = staff
        .post_raw(
            &format!("/admin/users/{never_sent}/kyc"),
            &[
                ("csrf_token", &token),
                ("decision", "verify"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("has not sent identity details")
    );

    assert_redirects_to(
        &decide(&staff, id, "verify", "").await,
        &format!("/admin/users/{id}"),
    );
    let response = staff
        .post_raw(
            &format!("/admin/users/{id}/kyc"),
            &[
                ("csrf_token", &token),
                ("decision", "reject"),
                ("reason", "Too late"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("already been decided: the person is verified")
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox_emails").await,
        1,
        "only the decision that happened queued an email"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'kyc_%'")
            .await,
        1
    );

    let response = staff
        .post_raw(
            &format!("/admin/users/{}/kyc", uuid::Uuid::new_v4()),
            &[
                ("csrf_token", &token),
                ("decision", "verify"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (investor, _) = app.signed_in(Role::Investor).await;
    let token = investor.csrf_token("/investor").await;
    let response = investor
        .post_raw(
            &format!("/admin/users/{id}/kyc"),
            &[
                ("csrf_token", &token),
                ("decision", "verify"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}
