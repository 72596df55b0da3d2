//! Borrower profile and applications, the scorecard, staff review and the
//! lifecycle's refusals, through HTTP.

use crowdlend::domain::{scoring::Grade, settings::Settings, user::Role};
use reqwest::StatusCode;

use crate::helpers::{
    Browser, TestApp, assert_redirects_to, field_error, input_value, spawn_app, text_at,
};

/// A complete, ordinary profile: employed for years, one car loan, half a flat.
pub const PROFILE: &[(&str, &str)] = &[
    ("birth_date", "1988-04-12"),
    ("employment_status", "employed"),
    ("employer", "Северсталь"),
    ("position", "Engineer"),
    ("employed_since", "2019-02-01"),
    ("monthly_income", "150000"),
    ("monthly_expenses", "60000"),
    ("education", "master"),
    ("university", "СПбГУ"),
    ("graduation_year", "2010"),
    ("credit_score", "780"),
    ("avg_bank_balance", "80000"),
    ("defaults_12m", "0"),
    ("inquiries_12m", "1"),
    ("liability_kind_0", "car_loan"),
    ("liability_outstanding_0", "300000"),
    ("liability_monthly_payment_0", "12000"),
    ("liability_start_date_0", "2024-01-10"),
    ("liability_end_date_0", "2027-01-10"),
    ("asset_kind_0", "real_estate"),
    ("asset_value_0", "4000000"),
    ("asset_ownership_pct_0", "50"),
    ("asset_held_since_0", "2015-06-01"),
    ("action", "save"),
];

pub const DESCRIPTION: &str = "A used car to drive to the plant; I repay from my salary.";

/// `PROFILE` with some fields replaced.
fn profile_with(changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut fields: Vec<(&str, &str)> = PROFILE.to_vec();
    for (key, value) in changes {
        match fields.iter_mut().find(|(k, _)| k == key) {
            Some(field) => field.1 = value,
            None => fields.push((key, value)),
        }
    }
    fields
}

pub async fn save_profile(browser: &Browser, fields: &[(&str, &str)]) -> reqwest::Response {
    browser
        .submit("/borrower/profile", "/borrower/profile", fields)
        .await
}

/// Applies and returns the new application's id.
pub async fn apply(browser: &Browser, amount: &str, term: &str) -> String {
    let response = browser
        .submit(
            "/borrower/loans/new",
            "/borrower/loans",
            &[
                ("amount", amount),
                ("term_months", term),
                ("purpose", "car"),
                ("description", DESCRIPTION),
                ("listing_mode", "fixed"),
            ],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "application refused"
    );
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    location
        .strip_prefix("/borrower/loans/")
        .expect("redirect to the application")
        .to_owned()
}

/// A borrower with a saved profile, signed in.
pub async fn borrower_with_profile(app: &TestApp) -> (Browser, crate::helpers::TestUser) {
    let (browser, user) = app.signed_in(Role::Borrower).await;
    let response = save_profile(&browser, PROFILE).await;
    assert_redirects_to(&response, "/borrower/loans/new");
    (browser, user)
}

/// Sets a user's identity-check status directly (the review itself is
/// tested with the KYC pages).
pub async fn set_kyc(app: &TestApp, email: &str, status: &str) {
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared(&format!(
            "UPDATE users SET kyc_status = '{status}' WHERE email = '{email}'"
        ))
        .await
        .unwrap();
}

async fn loan_value(app: &TestApp, id: &str, column: &str) -> String {
    use sea_orm::ConnectionTrait;
    let backend = app.db.get_database_backend();
    // SQLite keeps UUIDs as 16-byte blobs, PostgreSQL as uuid.
    let sql = if backend == sea_orm::DbBackend::Postgres {
        format!("SELECT CAST({column} AS TEXT) FROM loan_requests WHERE id = '{id}'")
    } else {
        format!(
            "SELECT CAST({column} AS TEXT) FROM loan_requests WHERE hex(id) = upper(replace('{id}', '-', ''))"
        )
    };
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(backend, sql))
        .await
        .unwrap()
        .expect("the loan exists");
    row.try_get_by_index::<Option<String>>(0)
        .unwrap()
        .unwrap_or_default()
}

async fn audit_actions(app: &TestApp, id: &str) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    let rows = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT action FROM audit_log WHERE entity_type = 'loan_request' AND entity_id = '{id}' ORDER BY created_at, id"
            ),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect()
}

fn band(grade: &str) -> crowdlend::domain::scoring::GradeBand {
    *Settings::default()
        .band(Grade::parse(grade).unwrap())
        .unwrap()
}

#[tokio::test]
async fn a_borrower_applies_and_sees_the_scorecard_in_plain_words() {
    let app = spawn_app().await;
    let (borrower, _) = app.signed_in(Role::Borrower).await;
    let dashboard = borrower.get_html("/borrower").await;
    assert!(dashboard.contains("Fill in your profile"));
    let blocked = borrower.get_html("/borrower/loans/new").await;
    assert!(
        text_at(&blocked, "#cannot-apply")
            .unwrap()
            .contains("profile first")
    );

    assert_redirects_to(
        &save_profile(&borrower, PROFILE).await,
        "/borrower/loans/new",
    );
    let form = borrower.get_html("/borrower/loans/new").await;
    assert!(
        text_at(&form, "#limits")
            .unwrap()
            .contains("10\u{a0}000,00\u{a0}₽"),
        "the platform's limits are on the form"
    );
    let id = apply(&borrower, "300000", "24").await;

    assert_eq!(loan_value(&app, &id, "status").await, "scoring");
    let grade = loan_value(&app, &id, "risk_grade").await;
    let rate: u32 = loan_value(&app, &id, "rate_annual").await.parse().unwrap();
    let b = band(&grade);
    assert!((b.min_rate.bps()..=b.max_rate.bps()).contains(&rate));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM scoring_results").await,
        1,
        "the scorecard is kept"
    );

    let page = borrower.get_html(&format!("/borrower/loans/{id}")).await;
    assert_eq!(text_at(&page, "#loan-status").unwrap(), "In review");
    assert!(
        text_at(&page, "#identity-needed").is_some(),
        "the borrower is told the identity check comes first"
    );
    let summary = text_at(&page, ".score-summary").unwrap();
    assert!(summary.contains("of 1000 points"), "{summary}");
    assert!(summary.contains(&format!("grade {grade}")), "{summary}");
    let factors = scraper::Html::parse_document(&page);
    let rows = factors
        .select(&scraper::Selector::parse("#factors tbody tr").unwrap())
        .count();
    assert_eq!(rows, 8, "every factor is shown with its points");
    assert!(page.contains("Debt-to-income, with this loan"));
    assert!(text_at(&page, "#improvements").is_some());

    let dashboard = borrower.get_html("/borrower").await;
    assert!(
        text_at(&dashboard, "#applications")
            .unwrap()
            .contains("In review")
    );
    assert_eq!(
        audit_actions(&app, &id).await,
        ["loan_submitted", "loan_scored"]
    );
}

#[tokio::test]
async fn each_invalid_profile_field_gets_its_message_and_nothing_typed_is_lost() {
    let app = spawn_app().await;
    let (borrower, _) = app.signed_in(Role::Borrower).await;
    let cases: &[(&str, &str, &str)] = &[
        ("birth_date", "12.04.1988", "year-month-day"),
        ("birth_date", "2015-01-01", "age of"),
        ("employment_status", "pirate", "employment status"),
        ("employer", "", "employer"),
        ("employed_since", "2030-01-01", "future"),
        ("monthly_income", "-5", "negative"),
        ("monthly_income", "1e5", "digits"),
        ("monthly_expenses", "", "Enter an amount"),
        ("education", "phd", "qualification"),
        ("graduation_year", "2099", "future"),
        ("credit_score", "1001", "0 to 1000"),
        ("avg_bank_balance", "10.001", "two digits"),
        ("defaults_12m", "-1", "0 to 99"),
        ("inquiries_12m", "many", "0 to 99"),
        ("liability_kind_0", "loan_shark", "kind of debt"),
        ("liability_monthly_payment_0", "abc", "digits"),
        ("liability_end_date_0", "2020-01-01", "before the start"),
        ("asset_ownership_pct_0", "150", "1 to 100"),
        ("asset_held_since_0", "2099-01-01", "future"),
    ];
    for (field, value, message) in cases {
        let fields = profile_with(&[(field, value)]);
        let response = save_profile(&borrower, &fields).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}"
        );
        let html = response.text().await.unwrap();
        let shown = field_error(&html, field).unwrap_or_default();
        assert!(
            shown.contains(message),
            "{field}={value}: expected {message:?}, got {shown:?}"
        );
        assert_eq!(input_value(&html, "position").as_deref(), Some("Engineer"));
        assert_eq!(
            input_value(&html, "asset_value_0").as_deref(),
            Some("4000000")
        );
    }
    let long = "x".repeat(201);
    let fields = profile_with(&[("position", Box::leak(long.into_boxed_str()))]);
    let html = save_profile(&borrower, &fields).await.text().await.unwrap();
    assert!(
        field_error(&html, "position")
            .unwrap()
            .contains("200 characters")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM borrower_profiles").await, 0);
}

#[tokio::test]
async fn profile_rows_are_added_and_removed_without_losing_values() {
    let app = spawn_app().await;
    let (borrower, _) = app.signed_in(Role::Borrower).await;
    let mut fields = profile_with(&[("action", "add_liability")]);
    fields.retain(|(k, _)| !k.starts_with("asset_"));
    let response = save_profile(&borrower, &fields).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert_eq!(
        input_value(&html, "liability_outstanding_0").as_deref(),
        Some("300000")
    );
    assert_eq!(
        input_value(&html, "liability_outstanding_1").as_deref(),
        Some("")
    );
    assert_eq!(
        input_value(&html, "employer").as_deref(),
        Some("Северсталь")
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM borrower_profiles").await,
        0,
        "nothing saved yet"
    );

    let fields = profile_with(&[("action", "remove_liability_0")]);
    let html = save_profile(&borrower, &fields).await.text().await.unwrap();
    assert!(input_value(&html, "liability_outstanding_0").is_none());
    assert_eq!(
        input_value(&html, "asset_value_0").as_deref(),
        Some("4000000")
    );

    let fields = profile_with(&[("liability_colour_0", "red")]);
    let response = save_profile(&borrower, &fields).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    assert_redirects_to(
        &save_profile(&borrower, PROFILE).await,
        "/borrower/loans/new",
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM borrower_liabilities").await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM borrower_assets").await, 1);
    let html = borrower.get_html("/borrower/profile").await;
    assert_eq!(
        input_value(&html, "liability_monthly_payment_0").as_deref(),
        Some("12000")
    );
    assert_eq!(
        input_value(&html, "employed_since").as_deref(),
        Some("2019-02-01")
    );

    // Saving without the rows removes them.
    let mut fields = PROFILE.to_vec();
    fields.retain(|(k, _)| !k.starts_with("liability_"));
    assert_redirects_to(&save_profile(&borrower, &fields).await, "/borrower/profile");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM borrower_liabilities").await,
        0
    );
}

#[tokio::test]
async fn each_invalid_application_field_gets_its_message() {
    let app = spawn_app().await;
    let (borrower, _) = borrower_with_profile(&app).await;
    let good = [
        ("amount", "300000"),
        ("term_months", "24"),
        ("purpose", "car"),
        ("description", DESCRIPTION),
        ("listing_mode", "fixed"),
    ];
    let cases: &[(&str, &str, &str)] = &[
        ("amount", "", "Enter an amount"),
        ("amount", "lots", "digits"),
        ("amount", "5000", "from 10\u{a0}000,00"),
        ("amount", "50000000", "3\u{a0}000\u{a0}000,00"),
        ("amount", "-100", "negative"),
        ("term_months", "25", "terms offered"),
        ("term_months", "", "Choose a term"),
        ("purpose", "yacht", "what the loan is for"),
        ("description", "short", "20 to 2000"),
        ("listing_mode", "auction", "how the loan is priced"),
    ];
    for (field, value, message) in cases {
        let mut fields = good.to_vec();
        fields.iter_mut().find(|(k, _)| k == field).unwrap().1 = value;
        let response = borrower
            .submit("/borrower/loans/new", "/borrower/loans", &fields)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}"
        );
        let html = response.text().await.unwrap();
        let shown = field_error(&html, field).unwrap_or_default();
        assert!(
            shown.contains(message),
            "{field}={value}: expected {message:?}, got {shown:?}"
        );
        if *field != "description" {
            assert!(html.contains(DESCRIPTION), "the description is kept");
        }
    }
    let repeated = borrower
        .submit(
            "/borrower/loans/new",
            "/borrower/loans",
            &[&good[..], &[("amount", "1")]].concat(),
        )
        .await;
    assert_eq!(repeated.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.count("SELECT COUNT(*) FROM loan_requests").await, 0);
}

#[tokio::test]
async fn a_hard_rule_declines_at_once_and_the_borrower_sees_why_and_what_would_help() {
    let app = spawn_app().await;
    let (borrower, _) = app.signed_in(Role::Borrower).await;
    let fields = profile_with(&[("defaults_12m", "3"), ("credit_score", "450")]);
    assert_redirects_to(
        &save_profile(&borrower, &fields).await,
        "/borrower/loans/new",
    );
    let id = apply(&borrower, "300000", "24").await;
    assert_eq!(loan_value(&app, &id, "status").await, "rejected");
    let page = borrower.get_html(&format!("/borrower/loans/{id}")).await;
    assert_eq!(text_at(&page, "#loan-status").unwrap(), "Declined");
    let failures = text_at(&page, "#hard-rule-failures").unwrap();
    assert!(failures.contains("default"), "{failures}");
    assert!(
        text_at(&page, "#rejection-reason")
            .unwrap()
            .contains("default")
    );
    let improvements = text_at(&page, "#improvements").unwrap();
    assert!(
        improvements.contains("Once no more than 1 default falls within the last 12 months"),
        "{improvements}"
    );
    assert!(!page.contains("Withdraw this application"));
    assert_eq!(
        audit_actions(&app, &id).await,
        ["loan_submitted", "loan_scored", "loan_rejected"]
    );
    // A declined application is closed: the borrower may apply again.
    let form = borrower.get_html("/borrower/loans/new").await;
    assert!(text_at(&form, "#cannot-apply").is_none());
}

/// The decision form's fields for an approval.
pub fn approval<'a>(
    grade: &'a str,
    amount: &'a str,
    term: &'a str,
    rate: &'a str,
    comment: &'a str,
) -> [(&'static str, &'a str); 6] {
    [
        ("decision", "approve"),
        ("risk_grade", grade),
        ("amount", amount),
        ("term_months", term),
        ("rate_annual", rate),
        ("comment", comment),
    ]
}

/// Staff send the decision form of application `id`.
pub async fn decision(staff: &Browser, id: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    staff
        .submit(
            &format!("/admin/applications/{id}"),
            &format!("/admin/applications/{id}/decision"),
            fields,
        )
        .await
}

#[tokio::test]
async fn staff_approve_with_overrides_inside_the_band_and_the_loan_is_listed() {
    let app = spawn_app().await;
    let (borrower, user) = borrower_with_profile(&app).await;
    set_kyc(&app, &user.email, "verified").await;
    let id = apply(&borrower, "300000", "24").await;
    let grade = loan_value(&app, &id, "risk_grade").await;
    let b = band(&grade);
    let (staff, _) = app.signed_in(Role::Staff).await;

    let queue = staff.get_html("/admin/applications").await;
    assert!(text_at(&queue, "#queue").unwrap().contains(&user.email));
    let page = staff.get_html(&format!("/admin/applications/{id}")).await;
    assert!(
        text_at(&page, "#borrower-profile")
            .unwrap()
            .contains("Северсталь")
    );
    assert_eq!(
        scraper::Html::parse_document(&page)
            .select(&scraper::Selector::parse("#factors tbody tr").unwrap())
            .count(),
        8
    );

    let rate = format!("{}", b.min_rate.bps() / 100);
    let response = decision(
        &staff,
        &id,
        &approval(
            &grade,
            "250000",
            "18",
            &rate,
            "Stable income; lowered the amount to keep the ratio safe.",
        ),
    )
    .await;
    assert_redirects_to(&response, &format!("/admin/applications/{id}"));
    assert_eq!(loan_value(&app, &id, "status").await, "funding");
    assert_eq!(loan_value(&app, &id, "amount").await, "25000000");
    assert_eq!(loan_value(&app, &id, "requested_amount").await, "30000000");
    assert_eq!(loan_value(&app, &id, "term_months").await, "18");
    assert_eq!(
        loan_value(&app, &id, "rate_annual").await,
        (b.min_rate.bps() / 100 * 100).to_string()
    );
    let deadline = loan_value(&app, &id, "funding_deadline").await;
    assert!(
        deadline.starts_with("2026-12-07"),
        "14 days after 23 Nov: {deadline}"
    );
    assert_eq!(
        audit_actions(&app, &id).await,
        [
            "loan_submitted",
            "loan_scored",
            "loan_approved",
            "loan_listed"
        ]
    );
    let after = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'loan_approved' AND CAST(after AS TEXT) LIKE '%lowered the amount%' AND entity_id = '{id}'"
        ))
        .await;
    assert_eq!(after, 1, "the comment is kept in the audit log");

    let page = borrower.get_html(&format!("/borrower/loans/{id}")).await;
    assert_eq!(
        text_at(&page, "#loan-status").unwrap(),
        "Open for investment"
    );
    assert!(
        text_at(&page, "#amount")
            .unwrap()
            .contains("250\u{a0}000,00")
    );
    assert!(
        text_at(&page, "#amount")
            .unwrap()
            .contains("you asked for 300\u{a0}000,00")
    );
    assert!(
        text_at(&page, "#funding-deadline")
            .unwrap()
            .contains("7 Dec 2026")
    );
    let history = staff.get_html(&format!("/admin/applications/{id}")).await;
    assert!(
        text_at(&history, "#history")
            .unwrap()
            .contains("Loan approved")
    );
    assert!(history.contains("lowered the amount"));
}

#[tokio::test]
async fn approval_outside_the_band_or_without_a_comment_is_refused_field_by_field() {
    let app = spawn_app().await;
    let (borrower, user) = borrower_with_profile(&app).await;
    set_kyc(&app, &user.email, "verified").await;
    let id = apply(&borrower, "300000", "24").await;
    let grade = loan_value(&app, &id, "risk_grade").await;
    let b = band(&grade);
    let (staff, _) = app.signed_in(Role::Staff).await;
    let in_band = format!("{}", b.min_rate.bps() / 100);
    let above = format!("{}", b.max_rate.bps() / 100 + 1);
    let below = format!("{}", b.min_rate.bps() / 100 - 1);
    let cases: Vec<(&str, String, &str)> = vec![
        ("rate_annual", above, "the rate must be from"),
        ("rate_annual", below, "the rate must be from"),
        ("rate_annual", "fifteen".to_owned(), "rate such as"),
        ("amount", "300000.01".to_owned(), "only be lowered"),
        ("amount", "5000".to_owned(), "smallest loan"),
        ("term_months", "7".to_owned(), "platform's terms"),
        ("risk_grade", "Z".to_owned(), "grade from A to F"),
        ("comment", "  ".to_owned(), "comment is required"),
        ("decision", "maybe".to_owned(), "approve or reject"),
    ];
    for (field, value, message) in &cases {
        let mut fields = [
            ("decision", "approve".to_owned()),
            ("risk_grade", grade.clone()),
            ("amount", "300000".to_owned()),
            ("term_months", "24".to_owned()),
            ("rate_annual", in_band.clone()),
            ("comment", "Checked.".to_owned()),
        ];
        fields.iter_mut().find(|(k, _)| k == field).unwrap().1 = value.clone();
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = decision(&staff, &id, &fields).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}"
        );
        let html = response.text().await.unwrap();
        let shown = field_error(&html, field).unwrap_or_default();
        assert!(
            shown.contains(message),
            "{field}={value}: expected {message:?}, got {shown:?}"
        );
    }
    assert_eq!(loan_value(&app, &id, "status").await, "scoring");
    assert_eq!(
        audit_actions(&app, &id).await.len(),
        2,
        "no decision recorded"
    );
}

#[tokio::test]
async fn the_grade_caps_the_amount_staff_can_approve() {
    let app = spawn_app().await;
    let (borrower, user) = borrower_with_profile(&app).await;
    set_kyc(&app, &user.email, "verified").await;
    let id = apply(&borrower, "600000", "24").await;
    let (staff, _) = app.signed_in(Role::Staff).await;
    let f = band("F");
    let rate = format!("{}", f.min_rate.bps() / 100);
    let response = decision(
        &staff,
        &id,
        &approval("F", "600000", "6", &rate, "Downgraded."),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        field_error(&html, "amount")
            .unwrap()
            .contains("Grade F may borrow at most 100\u{a0}000,00")
    );
    let response = decision(
        &staff,
        &id,
        &approval(
            "F",
            "100000",
            "6",
            &rate,
            "Downgraded to F after a phone call.",
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(loan_value(&app, &id, "risk_grade").await, "F");
}

#[tokio::test]
async fn approval_waits_for_a_verified_identity_when_the_platform_requires_it() {
    let app = spawn_app().await;
    let (borrower, _) = borrower_with_profile(&app).await;
    let id = apply(&borrower, "300000", "24").await;
    let grade = loan_value(&app, &id, "risk_grade").await;
    let rate = format!("{}", band(&grade).min_rate.bps() / 100);
    let (staff, _) = app.signed_in(Role::Staff).await;
    let response = decision(
        &staff,
        &id,
        &approval(&grade, "300000", "24", &rate, "Fine."),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        field_error(&html, "decision")
            .unwrap()
            .contains("identity is not verified")
    );
    assert_eq!(loan_value(&app, &id, "status").await, "scoring");
}

#[tokio::test]
async fn staff_reject_with_a_reason_and_the_borrower_reads_it() {
    let app = spawn_app().await;
    let (borrower, _) = borrower_with_profile(&app).await;
    let id = apply(&borrower, "300000", "24").await;
    let (staff, _) = app.signed_in(Role::Staff).await;
    let response = decision(
        &staff,
        &id,
        &[
            ("decision", "reject"),
            ("risk_grade", ""),
            ("amount", ""),
            ("term_months", ""),
            ("rate_annual", ""),
            ("comment", "The employer could not confirm the income."),
        ],
    )
    .await;
    assert_redirects_to(&response, &format!("/admin/applications/{id}"));
    assert_eq!(loan_value(&app, &id, "status").await, "rejected");
    let page = borrower.get_html(&format!("/borrower/loans/{id}")).await;
    assert_eq!(text_at(&page, "#loan-status").unwrap(), "Declined");
    assert!(
        text_at(&page, "#rejection-reason")
            .unwrap()
            .contains("could not confirm the income")
    );
    assert_eq!(
        audit_actions(&app, &id).await.last().unwrap(),
        "loan_rejected"
    );
}

#[tokio::test]
async fn illegal_transitions_are_refused_with_the_lifecycles_message() {
    let app = spawn_app().await;
    let (borrower, user) = borrower_with_profile(&app).await;
    set_kyc(&app, &user.email, "verified").await;
    let id = apply(&borrower, "300000", "24").await;
    let grade = loan_value(&app, &id, "risk_grade").await;
    let rate = format!("{}", band(&grade).min_rate.bps() / 100);
    let (staff, _) = app.signed_in(Role::Staff).await;
    // The staff page was opened before the borrower withdrew.
    let token = staff.csrf_token(&format!("/admin/applications/{id}")).await;

    let response = borrower
        .submit(
            &format!("/borrower/loans/{id}"),
            &format!("/borrower/loans/{id}/withdraw"),
            &[],
        )
        .await;
    assert_redirects_to(&response, &format!("/borrower/loans/{id}"));
    assert_eq!(loan_value(&app, &id, "status").await, "withdrawn");

    let response = staff
        .post_raw(
            &format!("/admin/applications/{id}/decision"),
            &[
                &[("csrf_token", token.as_str())][..],
                &approval(&grade, "300000", "24", &rate, "Looks fine."),
            ]
            .concat(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert_eq!(
        field_error(&html, "decision").unwrap(),
        "A loan that is \"withdrawn\" cannot be approved."
    );
    assert_eq!(loan_value(&app, &id, "status").await, "withdrawn");

    // Withdrawing twice: the button is gone, and a replayed POST is refused.
    let page = borrower.get_html(&format!("/borrower/loans/{id}")).await;
    assert!(!page.contains("Withdraw this application"));
    let token = borrower.csrf_token("/borrower").await;
    let again = borrower
        .post_raw(
            &format!("/borrower/loans/{id}/withdraw"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text().await.unwrap().contains("cannot be withdrawn"));
    assert_eq!(
        audit_actions(&app, &id).await,
        ["loan_submitted", "loan_scored", "loan_withdrawn"]
    );
}

#[tokio::test]
async fn a_borrower_has_one_open_application_at_a_time() {
    let app = spawn_app().await;
    let (borrower, _) = borrower_with_profile(&app).await;
    let first = apply(&borrower, "300000", "24").await;
    let blocked = borrower.get_html("/borrower/loans/new").await;
    assert!(
        text_at(&blocked, "#cannot-apply")
            .unwrap()
            .contains("already have an application")
    );
    let token = borrower.csrf_token("/borrower").await;
    let response = borrower
        .post_raw(
            "/borrower/loans",
            &[
                ("csrf_token", &token),
                ("amount", "100000"),
                ("term_months", "12"),
                ("purpose", "car"),
                ("description", DESCRIPTION),
                ("listing_mode", "fixed"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("SELECT COUNT(*) FROM loan_requests").await, 1);
    borrower
        .submit(
            &format!("/borrower/loans/{first}"),
            &format!("/borrower/loans/{first}/withdraw"),
            &[],
        )
        .await;
    apply(&borrower, "100000", "12").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM loan_requests").await, 2);
}

#[tokio::test]
async fn applications_are_private_and_the_back_office_is_closed_to_borrowers() {
    let app = spawn_app().await;
    let (alice, _) = borrower_with_profile(&app).await;
    let id = apply(&alice, "300000", "24").await;
    let (bob, _) = borrower_with_profile(&app).await;

    assert_eq!(
        bob.get(&format!("/borrower/loans/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let token = bob.csrf_token("/borrower").await;
    let response = bob
        .post_raw(
            &format!("/borrower/loans/{id}/withdraw"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(loan_value(&app, &id, "status").await, "scoring");
    assert!(!bob.get_html("/borrower").await.contains(&id));
    assert_eq!(
        bob.get("/borrower/loans/not-a-uuid").await.status(),
        StatusCode::NOT_FOUND
    );

    for path in ["/admin/applications", &format!("/admin/applications/{id}")] {
        assert_eq!(
            bob.get(path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let response = bob
        .post_raw(
            &format!("/admin/applications/{id}/decision"),
            &[
                ("csrf_token", &token),
                ("decision", "reject"),
                ("comment", "x"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (investor, _) = app.signed_in(Role::Investor).await;
    assert_eq!(
        investor
            .get(&format!("/borrower/loans/{id}"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let (staff, _) = app.signed_in(Role::Staff).await;
    assert_eq!(
        staff
            .get("/admin/applications/00000000-0000-0000-0000-000000000000")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_queue_is_oldest_first_and_filters_by_status_and_grade() {
    let app = spawn_app().await;
    let (first, first_user) = borrower_with_profile(&app).await;
    apply(&first, "300000", "24").await;
    app.clock.advance(chrono::TimeDelta::minutes(5));
    let (second, second_user) = app.signed_in(Role::Borrower).await;
    let weak = profile_with(&[("defaults_12m", "3")]);
    save_profile(&second, &weak).await;
    apply(&second, "300000", "24").await;
    app.clock.advance(chrono::TimeDelta::minutes(5));
    let (third, third_user) = borrower_with_profile(&app).await;
    let third_id = apply(&third, "200000", "12").await;
    let (staff, _) = app.signed_in(Role::Staff).await;

    let queue = staff.get_html("/admin/applications").await;
    let text = text_at(&queue, "#queue").unwrap();
    let (a, c) = (
        text.find(&first_user.email).unwrap(),
        text.find(&third_user.email).unwrap(),
    );
    assert!(a < c, "oldest first");
    assert!(
        !text.contains(&second_user.email),
        "declined ones are not waiting"
    );

    let rejected = staff.get_html("/admin/applications?status=rejected").await;
    assert!(
        text_at(&rejected, "#queue")
            .unwrap()
            .contains(&second_user.email)
    );
    let grade = loan_value(&app, &third_id, "risk_grade").await;
    let other = if grade == "A" { "F" } else { "A" };
    let by_grade = staff
        .get_html(&format!("/admin/applications?status=all&grade={other}"))
        .await;
    assert!(!by_grade.contains(&third_user.email));
    let by_grade = staff
        .get_html(&format!("/admin/applications?status=all&grade={grade}"))
        .await;
    assert!(by_grade.contains(&third_user.email));
    let dashboard = staff.get_html("/admin").await;
    assert!(
        text_at(&dashboard, "#awaiting-review")
            .unwrap()
            .contains("2 waiting")
    );
    // Nonsense filters fall back to the default view rather than failing.
    assert_eq!(
        staff
            .get("/admin/applications?status=bogus&grade=Q")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_demo_has_a_loan_in_each_state_so_far() {
    let app = spawn_app().await;
    assert!(
        crowdlend::services::demo::seed(&app.db, &app.clock, &app.base_url())
            .await
            .unwrap()
    );
    let states = |status: &'static str| {
        format!("SELECT COUNT(*) FROM loan_requests WHERE status = '{status}'")
    };
    assert_eq!(app.count(&states("scoring")).await, 1);
    // Daria's at the platform's rate, Olga's priced by offers (Ivan's).
    assert_eq!(app.count(&states("funding")).await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM offers WHERE status = 'pending'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM auto_invest_rules WHERE active = false")
            .await,
        1
    );
    assert_eq!(app.count(&states("rejected")).await, 1);
    assert_eq!(app.count(&states("active")).await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM investments WHERE status = 'pending'")
            .await,
        2
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM documents").await, 4);
    let report = crowdlend::ledger::verify::verify(&app.db).await.unwrap();
    assert!(report.holds(), "{report}");
    let irina = app.browser();
    irina.login("investor@demo.local", "demo-password").await;
    let portfolio = irina.get_html("/investor/investments").await;
    let rows = text_at(&portfolio, "#investments").unwrap();
    assert!(
        rows.contains("Reserved") && rows.contains("Repaying"),
        "{rows}"
    );

    let staff = app.browser();
    staff.login("staff@demo.local", "demo-password").await;
    let queue = staff.get_html("/admin/applications").await;
    assert!(
        text_at(&queue, "#queue")
            .unwrap()
            .contains("borrower@demo.local")
    );
    let daria = app.browser();
    daria.login("borrower2@demo.local", "demo-password").await;
    let dashboard = daria.get_html("/borrower").await;
    assert!(
        text_at(&dashboard, "#applications")
            .unwrap()
            .contains("Open for investment")
    );
    let olga = app.browser();
    olga.login("borrower6@demo.local", "demo-password").await;
    let dashboard = olga.get_html("/borrower").await;
    let loan_link = scraper::Html::parse_document(&dashboard)
        .select(&scraper::Selector::parse("#applications a[href^='/borrower/loans/']").unwrap())
        .next()
        .and_then(|a| a.value().attr("href").map(str::to_owned))
        .unwrap();
    let page = olga.get_html(&loan_link).await;
    assert!(
        text_at(&page, "#best-offer").is_some(),
        "Ivan's offer is shown"
    );
    let rules = irina.get_html("/investor/auto-invest").await;
    assert!(text_at(&rules, "#rules").unwrap().contains("Off"));
}

#[tokio::test]
async fn ten_simultaneous_applications_from_one_borrower_open_exactly_one() {
    let app = spawn_app().await;
    let (borrower, _) = borrower_with_profile(&app).await;
    let token = borrower.csrf_token("/borrower/loans/new").await;
    let fields = [
        ("csrf_token", token.as_str()),
        ("amount", "300000"),
        ("term_months", "24"),
        ("purpose", "car"),
        ("description", DESCRIPTION),
        ("listing_mode", "fixed"),
    ];
    let statuses = futures_util::future::join_all(
        (0..10).map(|_| borrower.post_raw("/borrower/loans", &fields)),
    )
    .await
    .into_iter()
    .map(|response| response.status())
    .collect::<Vec<_>>();
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(created, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::UNPROCESSABLE_ENTITY),
        "{statuses:?}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM loan_requests").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM scoring_results").await, 1);
}

#[tokio::test]
async fn simultaneous_decisions_on_one_application_record_exactly_one() {
    let app = spawn_app().await;
    let (borrower, user) = borrower_with_profile(&app).await;
    set_kyc(&app, &user.email, "verified").await;
    let id = apply(&borrower, "300000", "24").await;
    let grade = loan_value(&app, &id, "risk_grade").await;
    let rate = format!("{}", band(&grade).min_rate.bps() / 100);
    let (staff, _) = app.signed_in(Role::Staff).await;
    let token = staff.csrf_token(&format!("/admin/applications/{id}")).await;
    let approve = [
        &[("csrf_token", token.as_str())][..],
        &approval(&grade, "300000", "24", &rate, "Approve."),
    ]
    .concat();
    let reject = [
        ("csrf_token", token.as_str()),
        ("decision", "reject"),
        ("comment", "Reject."),
    ];
    let path = format!("/admin/applications/{id}/decision");
    let sends = (0..10).map(|i| {
        let fields: &[(&str, &str)] = if i % 2 == 0 { &approve } else { &reject };
        staff.post_raw(&path, fields)
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(sends)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        1,
        "{statuses:?}"
    );
    let decided = app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE entity_id = '{id}' AND action IN ('loan_approved', 'loan_rejected')"
        ))
        .await;
    assert_eq!(decided, 1);
    // One email for the application, one for the decision.
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails").await, 2);
}
