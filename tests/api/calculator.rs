//! The public loan calculator, checked against the reference schedules.

use reqwest::StatusCode;

use crate::helpers::{field_error, spawn_app};

const REFERENCE: &str = include_str!("../data/annuity_schedules.json");

#[tokio::test]
async fn the_calculator_shows_the_payment_and_the_schedule() {
    let app = spawn_app().await;
    let html = app
        .browser()
        .get_html("/calculator?amount=5+000&rate_annual=15&term_months=6&start_date=2026-01-31")
        .await;
    assert!(
        html.contains(r#"<span class="stat-value" id="monthly-payment">870,17"#),
        "payment"
    );
    assert!(
        html.contains("28 Feb 2026"),
        "a Jan 31 start is due on Feb 28"
    );
    assert!(html.contains("31 Jul 2026"));
    assert!(
        html.contains("870,15"),
        "the last payment absorbs the rounding"
    );
    assert!(html.contains("format=csv"), "a link to the CSV");
}

#[tokio::test]
async fn the_csv_matches_the_reference_schedule_row_for_row() {
    let app = spawn_app().await;
    let reference: serde_json::Value = serde_json::from_str(REFERENCE).unwrap();
    for case in reference["cases"].as_array().unwrap().iter().take(12) {
        let s = |key: &str| case[key].as_str().unwrap().to_owned();
        let url = format!(
            "/calculator?amount={}&rate_annual={}&term_months={}&start_date={}&format=csv",
            s("amount"),
            s("annual_rate"),
            case["term_months"],
            s("start_date")
        );
        let response = app.browser().get(&url).await;
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let body = response.text().await.unwrap();
        let mut lines = body.lines();
        assert_eq!(
            lines.next(),
            Some("payment_num,due_date,principal,interest,total,balance_after")
        );
        for (line, row) in lines.zip(case["schedule"].as_array().unwrap()) {
            let r = |key: &str| row[key].as_str().unwrap().to_owned();
            let expected = format!(
                "{},{},{},{},{},{}",
                row["payment_num"],
                r("due_date"),
                r("principal"),
                r("interest"),
                r("total"),
                r("balance_after")
            );
            assert_eq!(line, expected, "{url}");
        }
    }
}

#[tokio::test]
async fn interest_of_exactly_half_a_kopeck_is_rounded_up() {
    // An outside check found these first installments' interest rounded
    // down (1 544.10, 1 669.16, 2 034.89): 100 050.00 × 18.52 % / 12 is
    // 1 544.105 exactly, which rounds half-up to 1 544.11.
    let app = spawn_app().await;
    for (amount, rate, interest) in [
        ("100050", "18.52", "1544.11"),
        ("100200", "19.99", "1669.17"),
        ("100200", "24.37", "2034.90"),
    ] {
        let csv = app
            .browser()
            .get_html(&format!(
                "/calculator?amount={amount}&rate_annual={rate}&term_months=12&start_date=2026-03-15&format=csv"
            ))
            .await;
        let first = csv.lines().nth(1).unwrap();
        let columns: Vec<&str> = first.split(',').collect();
        assert_eq!(columns[0], "1", "{amount} at {rate} %: {first}");
        assert_eq!(columns[3], interest, "{amount} at {rate} %: {first}");
    }
}

#[tokio::test]
async fn bad_calculator_input_gets_messages_next_to_the_fields() {
    let app = spawn_app().await;
    let response = app
        .browser()
        .get("/calculator?amount=-5&rate_annual=abc&term_months=0&start_date=31.01.2026")
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert_eq!(
        field_error(&html, "amount").as_deref(),
        Some("The amount cannot be negative.")
    );
    assert!(field_error(&html, "rate_annual").is_some());
    assert!(
        field_error(&html, "term_months")
            .unwrap()
            .contains("from 1 to 360")
    );
    assert_eq!(
        field_error(&html, "start_date").as_deref(),
        Some("Enter a date as YYYY-MM-DD.")
    );

    for (query, message) in [
        (
            "amount=0.001&rate_annual=10&term_months=12",
            "at most two digits",
        ),
        ("amount=1e3&rate_annual=10&term_months=12", "in digits"),
        (
            "amount=999999999999.99&rate_annual=10&term_months=12",
            "more than the calculator can show",
        ),
        (
            "amount=999999999999.99&rate_annual=99&term_months=1&format=csv",
            "monthly payment would be more than the platform can handle",
        ),
    ] {
        let html = app
            .browser()
            .get(&format!("/calculator?{query}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            field_error(&html, "amount").unwrap().contains(message),
            "{query}"
        );
    }
}

#[tokio::test]
async fn a_repeated_calculator_parameter_is_a_400() {
    let app = spawn_app().await;
    let response = app
        .browser()
        .get("/calculator?amount=1&amount=1000&rate_annual=10&term_months=12")
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_empty_calculator_offers_a_filled_in_example() {
    let app = spawn_app().await;
    let html = app.browser().get_html("/calculator").await;
    assert!(html.contains(r#"value="100 000""#));
    assert!(
        !html.contains("monthly-payment"),
        "no result before a calculation"
    );
}
