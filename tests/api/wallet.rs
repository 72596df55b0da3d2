//! The wallet over HTTP: bank accounts, deposits and withdrawals through the
//! confirmation step, refusals that move nothing, replayed forms, the CSV
//! history, other users' accounts, and many transfers at once.

use crowdlend::{domain::user::Role, ledger::verify::verify};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::{
    Browser, TestApp, assert_redirects_to, csrf_token_in, field_error, input_value, spawn_app,
    spawn_app_without_money_limit, text_at, texts_at,
};

/// Page text with the non-breaking spaces of formatted money made plain.
fn plain(text: &str) -> String {
    text.replace('\u{a0}', " ")
}

/// Every match's text, made plain as [`plain`] does.
fn plain_texts(html: &str, selector: &str) -> Vec<String> {
    texts_at(html, selector)
        .iter()
        .map(|text| plain(text))
        .collect()
}

async fn balance_shown(browser: &Browser) -> (String, String) {
    let html = browser.get_html("/wallet").await;
    (
        plain(&text_at(&html, "#balance").unwrap()),
        plain(&text_at(&html, "#available").unwrap()),
    )
}

/// Adds a bank account and returns its id, read from the deposit form.
async fn add_bank_account(browser: &Browser, number: &str) -> String {
    let response = browser
        .submit(
            "/wallet",
            "/wallet/bank-accounts",
            &[
                ("holder_name", "Anna Petrova"),
                ("bank_name", "Sberbank"),
                ("account_number", number),
            ],
        )
        .await;
    assert_redirects_to(&response, "/wallet#bank-accounts");
    let html = browser.get_html("/wallet/deposit").await;
    let document = scraper::Html::parse_document(&html);
    let selector = scraper::Selector::parse("#bank_account_id option").unwrap();
    document
        .select(&selector)
        .filter_map(|option| option.value().attr("value"))
        .next_back()
        .unwrap()
        .to_owned()
}

/// Opens the confirmation page for a transfer; returns the page and its status.
async fn confirmation(
    browser: &Browser,
    route: &str,
    amount: &str,
    account: &str,
) -> (StatusCode, String) {
    let response = browser
        .client
        .get(browser.url(route))
        .query(&[("amount", amount), ("bank_account_id", account)])
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// What a user does: open the confirmation, then press "Confirm".
async fn confirm_transfer(
    browser: &Browser,
    route: &str,
    amount: &str,
    account: &str,
) -> reqwest::Response {
    let (status, html) = confirmation(browser, route, amount, account).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "confirmation of {amount} at {route}"
    );
    let fields = [
        ("csrf_token", csrf_token_in(&html)),
        ("amount", input_value(&html, "amount").unwrap()),
        (
            "bank_account_id",
            input_value(&html, "bank_account_id").unwrap(),
        ),
        (
            "idempotency_key",
            input_value(&html, "idempotency_key").unwrap(),
        ),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post_raw(route, &fields).await
}

/// Posts a transfer directly, as a replayed or hand-made form would.
async fn post_transfer(
    browser: &Browser,
    route: &str,
    amount: &str,
    account: &str,
    key: &str,
) -> reqwest::Response {
    let token = browser.csrf_token("/wallet").await;
    browser
        .post_raw(
            route,
            &[
                ("csrf_token", &token),
                ("amount", amount),
                ("bank_account_id", account),
                ("idempotency_key", key),
            ],
        )
        .await
}

async fn entries(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM ledger_entries").await
}

async fn assert_ledger_holds(app: &TestApp) {
    let report = verify(&app.db).await.unwrap();
    assert!(report.holds(), "{report}");
}

#[tokio::test]
async fn deposit_and_withdrawal_go_through_a_confirmation() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in(Role::Investor).await;
    let account = add_bank_account(&browser, "4081 7810 0999 1234 5678").await;
    let wallet = browser.get_html("/wallet").await;
    assert!(wallet.contains("•••• 5678"), "the account is listed masked");
    assert!(
        !wallet.contains("40817810099912345678"),
        "never the full number"
    );
    assert!(
        wallet.contains("No money has moved"),
        "empty history says so"
    );

    let (status, page) = confirmation(&browser, "/wallet/deposit", "1 000,50", &account).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        plain(&text_at(&page, "#confirm-amount").unwrap()),
        "1 000,50 ₽"
    );
    assert!(
        page.contains("simulated"),
        "the page says the bank transfer is simulated"
    );
    assert_eq!(
        entries(&app).await,
        0,
        "opening the confirmation moves nothing"
    );

    let response = confirm_transfer(&browser, "/wallet/deposit", "1 000,50", &account).await;
    assert_redirects_to(&response, "/wallet");
    let html = browser.get_html("/wallet").await;
    assert!(plain(&html).contains("1 000,50 ₽ has been added to your wallet."));
    assert_eq!(
        balance_shown(&browser).await,
        ("1 000,50 ₽".to_owned(), "1 000,50 ₽".to_owned())
    );

    let response = confirm_transfer(&browser, "/wallet/withdraw", "400.25", &account).await;
    assert_redirects_to(&response, "/wallet");
    let html = plain(&browser.get_html("/wallet").await);
    assert!(html.contains("400,25 ₽ is on its way to your bank account."));
    assert_eq!(plain(&text_at(&html, "#balance").unwrap()), "600,25 ₽");
    let first_row = plain(&text_at(&html, "#history tbody tr").unwrap());
    assert!(first_row.contains("Withdrawal"), "{first_row}");
    assert!(
        first_row.contains("-400,25 ₽") && first_row.contains("600,25 ₽"),
        "{first_row}"
    );
    assert_eq!(entries(&app).await, 2);
    assert_ledger_holds(&app).await;
}

#[tokio::test]
async fn over_withdrawal_is_refused_and_nothing_moves() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in(Role::Borrower).await;
    let account = add_bank_account(&browser, "12345678").await;
    confirm_transfer(&browser, "/wallet/deposit", "100", &account).await;

    let (status, page) = confirmation(&browser, "/wallet/withdraw", "100.01", &account).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        plain(&field_error(&page, "amount").unwrap()),
        "You can withdraw at most 100,00 ₽, the money available in your wallet."
    );
    assert_eq!(
        input_value(&page, "amount").as_deref(),
        Some("100.01"),
        "what was typed stays"
    );

    // A form posted without the confirmation page is checked again, under the lock.
    let response = post_transfer(
        &browser,
        "/wallet/withdraw",
        "250",
        &account,
        &Uuid::new_v4().to_string(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert_eq!(
        plain(&field_error(&page, "amount").unwrap()),
        "You can withdraw at most 100,00 ₽, the money available in your wallet."
    );
    assert_eq!(entries(&app).await, 1, "only the deposit");
    assert_eq!(app.count("SELECT COUNT(*) FROM bank_transfers").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM idempotency_keys").await,
        1,
        "a refusal stores no key"
    );
    assert_eq!(balance_shown(&browser).await.0, "100,00 ₽");
    assert_ledger_holds(&app).await;
}

#[tokio::test]
async fn bad_amounts_get_a_message_next_to_the_field() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in(Role::Investor).await;
    let account = add_bank_account(&browser, "12345678").await;
    for amount in [
        "-5",
        "abc",
        "1e3",
        "0",
        "0.001",
        "NaN",
        "",
        "-0",
        "1 000 000 000 000 000",
        "١٠٠",
    ] {
        for route in ["/wallet/deposit", "/wallet/withdraw"] {
            let (status, page) = confirmation(&browser, route, amount, &account).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{route} {amount:?}"
            );
            let message = field_error(&page, "amount").unwrap_or_default();
            assert!(
                !message.is_empty(),
                "{route} {amount:?}: a message next to the amount"
            );

            let response = post_transfer(
                &browser,
                route,
                amount,
                &account,
                &Uuid::new_v4().to_string(),
            )
            .await;
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "POST {route} {amount:?}"
            );
            assert!(field_error(&response.text().await.unwrap(), "amount").is_some());
        }
    }
    // A second value for the same field is a tampered form, not a choice.
    let token = browser.csrf_token("/wallet").await;
    let key = Uuid::new_v4().to_string();
    let response = browser
        .post_raw(
            "/wallet/deposit",
            &[
                ("csrf_token", token.as_str()),
                ("amount", "1"),
                ("amount", "1000"),
                ("bank_account_id", &account),
                ("idempotency_key", &key),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // A form without its submission key is refused.
    let response = post_transfer(&browser, "/wallet/deposit", "10", &account, "").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("submission key"));
    assert_eq!(entries(&app).await, 0);
    assert_ledger_holds(&app).await;
}

#[tokio::test]
async fn a_replayed_form_moves_money_once() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in(Role::Investor).await;
    let account = add_bank_account(&browser, "12345678").await;
    let key = Uuid::new_v4().to_string();
    for _ in 0..3 {
        let response = post_transfer(&browser, "/wallet/deposit", "500", &account, &key).await;
        assert_redirects_to(&response, "/wallet");
    }
    assert_eq!(entries(&app).await, 1);
    assert_eq!(balance_shown(&browser).await.0, "500,00 ₽");

    // The same key with another amount is not a repeat: refused, nothing moves.
    let response = post_transfer(&browser, "/wallet/deposit", "900", &account, &key).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("already submitted with different values")
    );
    let response = post_transfer(&browser, "/wallet/withdraw", "500", &account, &key).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(entries(&app).await, 1);

    // The same key sent ten times at once still moves the money once.
    let key = Uuid::new_v4().to_string();
    let token = browser.csrf_token("/wallet").await;
    let fields = [
        ("csrf_token", token.as_str()),
        ("amount", "100"),
        ("bank_account_id", account.as_str()),
        ("idempotency_key", key.as_str()),
    ];
    let sends = (0..10).map(|_| browser.post_raw("/wallet/withdraw", &fields));
    for response in futures_util::future::join_all(sends).await {
        assert_redirects_to(&response, "/wallet");
    }
    assert_eq!(entries(&app).await, 2);
    assert_eq!(balance_shown(&browser).await.0, "400,00 ₽");
    assert_ledger_holds(&app).await;
}

#[tokio::test]
async fn history_pages_and_csv_export() {
    let app = spawn_app_without_money_limit().await;
    let (browser, _) = app.signed_in(Role::Investor).await;
    let account = add_bank_account(&browser, "12345678").await;
    for n in 1..=24 {
        let response = post_transfer(
            &browser,
            "/wallet/deposit",
            &format!("{n}.50"),
            &account,
            &Uuid::new_v4().to_string(),
        )
        .await;
        assert_redirects_to(&response, "/wallet");
    }
    let response = post_transfer(
        &browser,
        "/wallet/withdraw",
        "100",
        &account,
        &Uuid::new_v4().to_string(),
    )
    .await;
    assert_redirects_to(&response, "/wallet");

    let rows = |html: &str| {
        let document = scraper::Html::parse_document(html);
        let selector = scraper::Selector::parse("#history tbody tr").unwrap();
        document.select(&selector).count()
    };
    let first = browser.get_html("/wallet").await;
    assert_eq!(rows(&first), 20);
    assert!(first.contains("Page 1 of 2"));
    let second = browser.get_html("/wallet?page=2").await;
    assert_eq!(rows(&second), 5);
    let amounts = |html: &str| plain_texts(html, "#history tbody td:nth-child(3)");
    let newest_first: Vec<String> = std::iter::once("-100,00 ₽".to_owned())
        .chain((1..=24).rev().map(|n| format!("+{n},50 ₽")))
        .collect();
    assert_eq!(amounts(&first), newest_first[..20], "newest first");
    assert_eq!(
        amounts(&second),
        newest_first[20..],
        "the oldest deposits on the last page"
    );
    for past_the_end in ["99", "18446744073709551615"] {
        assert_eq!(
            rows(
                &browser
                    .get_html(&format!("/wallet?page={past_the_end}"))
                    .await
            ),
            5,
            "past the end shows the last page"
        );
    }
    assert_eq!(
        browser.get("/wallet?page=abc").await.status(),
        StatusCode::BAD_REQUEST
    );

    let response = browser.get("/wallet?format=csv").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "date,type,description,amount,balance_after");
    assert_eq!(lines.len(), 26);
    let newest: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(newest[1], "withdrawal");
    assert_eq!(newest[3], "-100.00");
    // 1.50 + 2.50 + ... + 24.50 = 312.00, less the 100.00 withdrawn.
    assert_eq!(newest[4], "212.00");
    let oldest: Vec<&str> = lines[25].split(',').collect();
    assert_eq!(
        (oldest[1], oldest[3], oldest[4]),
        ("deposit", "1.50", "1.50")
    );
    assert_eq!(
        browser.get("/wallet?format=xml").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_ledger_holds(&app).await;
}

#[tokio::test]
async fn another_users_bank_account_cannot_be_used_or_removed() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in(Role::Investor).await;
    let account = add_bank_account(&owner, "12345678").await;
    let (intruder, _) = app.signed_in(Role::Investor).await;
    add_bank_account(&intruder, "87654321").await;

    let (status, page) = confirmation(&intruder, "/wallet/deposit", "100", &account).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_error(&page, "bank_account_id").as_deref(),
        Some("Choose one of your bank accounts.")
    );
    let response = post_transfer(
        &intruder,
        "/wallet/deposit",
        "100",
        &account,
        &Uuid::new_v4().to_string(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let token = intruder.csrf_token("/wallet").await;
    let response = intruder
        .post_raw(
            &format!("/wallet/bank-accounts/{account}/delete"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        owner.get_html("/wallet").await.contains("•••• 5678"),
        "still there"
    );
    assert!(
        !intruder.get_html("/wallet").await.contains("•••• 5678"),
        "never shown to others"
    );
    assert_eq!(entries(&app).await, 0);
    assert_ledger_holds(&app).await;
}

#[tokio::test]
async fn bank_accounts_are_validated_and_removed_only_when_unused() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in(Role::Borrower).await;
    let response = browser
        .submit(
            "/wallet",
            "/wallet/bank-accounts",
            &[
                ("holder_name", ""),
                ("bank_name", "Sber"),
                ("account_number", "12-34"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(field_error(&page, "holder_name").is_some());
    assert_eq!(
        field_error(&page, "account_number").as_deref(),
        Some("Enter the account number: 8 to 34 digits.")
    );
    assert_eq!(
        input_value(&page, "bank_name").as_deref(),
        Some("Sber"),
        "what was typed stays"
    );

    let unused = add_bank_account(&browser, "11112222").await;
    let used = add_bank_account(&browser, "33334444").await;
    confirm_transfer(&browser, "/wallet/deposit", "10", &used).await;

    let token = browser.csrf_token("/wallet").await;
    let response = browser
        .post_raw(
            &format!("/wallet/bank-accounts/{unused}/delete"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_redirects_to(&response, "/wallet#bank-accounts");
    let html = browser.get_html("/wallet").await;
    assert!(html.contains("Bank account removed."));
    assert!(!html.contains("•••• 2222"));

    let response = browser
        .post_raw(
            &format!("/wallet/bank-accounts/{used}/delete"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_redirects_to(&response, "/wallet#bank-accounts");
    let html = browser.get_html("/wallet").await;
    assert!(html.contains("kept for your records"));
    assert!(html.contains("•••• 4444"));

    // The deposit page without accounts points to where to add one.
    let (fresh, _) = app.signed_in(Role::Investor).await;
    assert!(
        fresh
            .get_html("/wallet/withdraw")
            .await
            .contains("Add a bank account first")
    );
    assert_ledger_holds(&app).await;
}

/// The wallet and the accounts are read together, the wallet's figures on
/// every account's row: one balance whatever the number of accounts, and
/// the accounts oldest first; none is an empty list beside the balance.
#[tokio::test]
async fn one_balance_beside_any_number_of_bank_accounts() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in(Role::Investor).await;
    let html = browser.get_html("/wallet").await;
    assert!(html.contains("You have not added a bank account yet."));
    let (balance, _) = balance_shown(&browser).await;
    assert_eq!(balance, "0,00 ₽");

    for number in [
        "1111 2222 3333 4444 0001",
        "1111 2222 3333 4444 0002",
        "1111 2222 3333 4444 0003",
    ] {
        add_bank_account(&browser, number).await;
    }
    let newest = add_bank_account(&browser, "1111 2222 3333 4444 5555").await;
    let response = confirm_transfer(&browser, "/wallet/deposit", "250", &newest).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = browser.get_html("/wallet").await;
    let listed = texts_at(&html, "#bank-accounts td:first-child");
    assert_eq!(listed.len(), 4, "{listed:?}");
    for (line, ending) in listed.iter().zip(["0001", "0002", "0003", "5555"]) {
        assert!(line.contains(ending), "{listed:?}");
    }
    assert_eq!(balance_shown(&browser).await.0, "250,00 ₽");
}

#[tokio::test]
async fn staff_have_no_wallet() {
    let app = spawn_app().await;
    let (staff, _) = app.signed_in(Role::Staff).await;
    assert_eq!(
        staff.get("/wallet/deposit").await.status(),
        StatusCode::FORBIDDEN
    );
    let anonymous = app.browser();
    let response = anonymous.get("/wallet/withdraw?amount=1").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// 50 transfers on one wallet at once: 30 withdrawals of 100 and 20 deposits
/// of 50 on a balance of 1 000. Whatever the order, at least 10 withdrawals
/// must be refused; every answer is a redirect or a refusal, the balance is
/// exactly what the accepted ones add up to, and no posting left it negative.
#[tokio::test]
async fn fifty_simultaneous_transfers_on_one_wallet() {
    let app = spawn_app_without_money_limit().await;
    let (browser, _) = app.signed_in(Role::Investor).await;
    let account = add_bank_account(&browser, "12345678").await;
    confirm_transfer(&browser, "/wallet/deposit", "1000", &account).await;
    let token = browser.csrf_token("/wallet").await;

    let requests: Vec<(&str, &str, String)> = (0..50)
        .map(|n| {
            let (route, amount) = if n % 5 < 3 {
                ("/wallet/withdraw", "100")
            } else {
                ("/wallet/deposit", "50")
            };
            (route, amount, Uuid::new_v4().to_string())
        })
        .collect();
    let sends = requests.iter().map(|(route, amount, key)| {
        let browser = &browser;
        let token = &token;
        let account = &account;
        async move {
            let response = browser
                .post_raw(
                    route,
                    &[
                        ("csrf_token", token.as_str()),
                        ("amount", amount),
                        ("bank_account_id", account.as_str()),
                        ("idempotency_key", key.as_str()),
                    ],
                )
                .await;
            (*route, response.status())
        }
    });
    let results = futures_util::future::join_all(sends).await;

    let mut expected: i64 = 100_000;
    let mut refused_withdrawals = 0;
    for (route, status) in &results {
        match (*route, *status) {
            ("/wallet/deposit", StatusCode::SEE_OTHER) => expected += 5_000,
            ("/wallet/withdraw", StatusCode::SEE_OTHER) => expected -= 10_000,
            ("/wallet/withdraw", StatusCode::UNPROCESSABLE_ENTITY) => refused_withdrawals += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(refused_withdrawals >= 10, "{refused_withdrawals} refused");
    let balance = app
        .count("SELECT w.balance FROM wallets w JOIN users u ON u.id = w.user_id WHERE u.role = 'investor'")
        .await;
    assert_eq!(balance, expected);
    assert!(balance >= 0);
    let accepted = results
        .iter()
        .filter(|(_, s)| *s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(entries(&app).await, 1 + i64::try_from(accepted).unwrap());
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM wallet_transactions t JOIN wallets w ON w.id = t.wallet_id \
             WHERE w.user_id IS NOT NULL AND t.balance_after < 0"
        )
        .await,
        0,
        "no posting ever took the wallet below zero"
    );
    assert_ledger_holds(&app).await;
}

/// ASVS 3.7.1: a withdrawal or new bank details need a password typed in the
/// last 15 minutes; deposits do not.
#[tokio::test]
async fn withdrawals_and_new_bank_details_ask_for_the_password_again() {
    let app = spawn_app().await;
    let (browser, user) = app.signed_in(Role::Investor).await;
    let account = add_bank_account(&browser, "12345678").await;
    confirm_transfer(&browser, "/wallet/deposit", "100", &account).await;
    let (_, page) = confirmation(&browser, "/wallet/withdraw", "10", &account).await;
    assert!(
        input_value(&page, "password").is_none(),
        "just signed in: not asked"
    );

    app.clock.advance(chrono::TimeDelta::minutes(16));
    let (status, page) = confirmation(&browser, "/wallet/withdraw", "40", &account).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(r#"name="password""#),
        "the confirmation asks for it"
    );
    let key = input_value(&page, "idempotency_key").unwrap();
    let send = async |password: &str| {
        browser
            .post_raw(
                "/wallet/withdraw",
                &[
                    ("csrf_token", csrf_token_in(&page).as_str()),
                    ("amount", "40"),
                    ("bank_account_id", &account),
                    ("idempotency_key", &key),
                    ("password", password),
                ],
            )
            .await
    };
    let response = send("").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        field_error(&html, "password")
            .unwrap()
            .starts_with("Enter your password")
    );
    assert!(html.contains("confirm-amount"), "still on the confirmation");
    let response = send("not-my-password").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert_eq!(
        field_error(&html, "password").as_deref(),
        Some("That password is not correct.")
    );
    assert_eq!(
        app.count("SELECT CAST(failed_login_count AS BIGINT) FROM users WHERE role = 'investor'")
            .await,
        1,
        "a wrong password counts towards the lockout"
    );
    assert_eq!(entries(&app).await, 1, "nothing moved");

    let password = user.password.as_str();
    assert_redirects_to(&send(password).await, "/wallet");
    assert_eq!(balance_shown(&browser).await.0, "60,00 ₽");
    // Typed just now: the next withdrawal does not ask again.
    let response = post_transfer(
        &browser,
        "/wallet/withdraw",
        "10",
        &account,
        &Uuid::new_v4().to_string(),
    )
    .await;
    assert_redirects_to(&response, "/wallet");

    app.clock.advance(chrono::TimeDelta::minutes(16));
    let response = post_transfer(
        &browser,
        "/wallet/deposit",
        "5",
        &account,
        &Uuid::new_v4().to_string(),
    )
    .await;
    assert_redirects_to(&response, "/wallet");
    let fields = [
        ("holder_name", "Anna Petrova"),
        ("bank_name", "VTB"),
        ("account_number", "99998888"),
    ];
    let response = browser
        .submit("/wallet", "/wallet/bank-accounts", &fields)
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(field_error(&html, "password").is_some());
    assert_eq!(
        input_value(&html, "account_number").as_deref(),
        Some("99998888")
    );
    let mut with_password = fields.to_vec();
    with_password.push(("password", password));
    let response = browser
        .submit("/wallet", "/wallet/bank-accounts", &with_password)
        .await;
    assert_redirects_to(&response, "/wallet#bank-accounts");
    assert_eq!(entries(&app).await, 4);
    assert_ledger_holds(&app).await;
}

#[tokio::test]
async fn a_wallet_cannot_grow_past_the_largest_balance() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in(Role::Investor).await;
    let account = add_bank_account(&browser, "12345678").await;
    let largest = "999 999 999 999,99";
    let response = confirm_transfer(&browser, "/wallet/deposit", largest, &account).await;
    assert_redirects_to(&response, "/wallet");
    let response = post_transfer(
        &browser,
        "/wallet/deposit",
        "0.01",
        &account,
        &Uuid::new_v4().to_string(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let message = field_error(&response.text().await.unwrap(), "amount").unwrap();
    assert!(message.contains("largest balance"), "{message}");
    assert_eq!(balance_shown(&browser).await.0, "999 999 999 999,99 ₽");
    assert_eq!(entries(&app).await, 1);
    assert_ledger_holds(&app).await;
}

/// The demo data, and a browser signed in as its investor.
async fn demo_investor(app: &TestApp) -> Browser {
    assert!(
        crowdlend::services::demo::seed(&app.db, &app.clock, &app.base_url())
            .await
            .unwrap()
    );
    let browser = app.browser();
    let response = browser
        .login(
            "investor@demo.local",
            crowdlend::services::demo::DEMO_PASSWORD,
        )
        .await;
    assert_redirects_to(&response, "/investor");
    browser
}

#[tokio::test]
async fn demo_investors_start_with_money_in_their_wallets_and_some_of_it_invested() {
    let app = spawn_app().await;
    let browser = demo_investor(&app).await;
    assert!(
        !crowdlend::services::demo::seed(&app.db, &app.clock, &app.base_url())
            .await
            .unwrap(),
        "only once"
    );
    let html = browser.get_html("/wallet").await;
    // 500 000 deposited; 40 000 lent in Elena's paid-out loan and 25 000
    // in Maxim's, 50 000 reserved for Daria's loan still funding.
    assert_eq!(plain(&text_at(&html, "#balance").unwrap()), "435 000,00 ₽");
    assert!(html.contains("Demo Bank •••• 0001"));
    assert_eq!(
        entries(&app).await,
        5,
        "one deposit per demo investor and for Maxim, and the payouts of Elena's and Maxim's loans"
    );
    assert_ledger_holds(&app).await;
}

#[tokio::test]
async fn the_investor_dashboard_totals_the_portfolio_by_status_beside_the_wallet() {
    let app = spawn_app().await;
    let browser = demo_investor(&app).await;
    let html = browser.get_html("/investor").await;
    // 40 000 and 25 000 lent in Elena's and Maxim's paid-out loans, 50 000
    // reserved for Daria's loan still funding, out of 435 000.
    let cells = plain_texts(&html, "#portfolio tbody td");
    assert_eq!(
        cells,
        [
            "Reserved",
            "1",
            "50 000,00 ₽",
            "Repaying",
            "2",
            "65 000,00 ₽"
        ]
    );
    let wallet = plain_texts(&html, ".stat-value");
    assert_eq!(
        wallet,
        ["385 000,00 ₽", "50 000,00 ₽"],
        "available, reserved"
    );

    let (newcomer, user) = app.signed_in(Role::Investor).await;
    let html = newcomer.get_html("/investor").await;
    assert!(html.contains(&user.email));
    assert!(
        text_at(&html, "#portfolio")
            .unwrap()
            .contains("You have not invested in any loans yet.")
    );
    let wallet = plain_texts(&html, ".stat-value");
    assert_eq!(wallet, ["0,00 ₽", "0,00 ₽"]);
}

/// Sets the daily withdrawal limit as an admin does at `/admin/settings`.
async fn set_daily_withdrawal_limit(app: &TestApp, roubles: &str) {
    let (admin, _) = app.signed_in(Role::Admin).await;
    let response = admin
        .submit(
            "/admin/settings",
            "/admin/settings",
            &[
                ("wallet_daily_withdrawal_limit", roubles),
                ("kyc_required", "true"),
                ("disbursement_automatic", "true"),
            ],
        )
        .await;
    assert_redirects_to(&response, "/admin/settings");
}

#[tokio::test]
async fn withdrawals_stop_at_the_daily_limit_which_the_form_shows_and_which_starts_again_at_midnight()
 {
    // Faster than a person: without the per-user rate limit.
    let app = spawn_app_without_money_limit().await;
    set_daily_withdrawal_limit(&app, "1000").await;
    let (browser, user) = app.signed_in(Role::Investor).await;
    let account = add_bank_account(&browser, "12345678").await;
    let deposit = confirm_transfer(&browser, "/wallet/deposit", "5000", &account).await;
    assert_redirects_to(&deposit, "/wallet");

    let form = browser.get_html("/wallet/withdraw").await;
    assert!(
        plain(&text_at(&form, "#daily-allowance").unwrap()).contains("up to 1 000,00 ₽ more today")
    );
    let first = confirm_transfer(&browser, "/wallet/withdraw", "600", &account).await;
    assert_redirects_to(&first, "/wallet");
    let form = browser.get_html("/wallet/withdraw").await;
    assert!(plain(&text_at(&form, "#daily-allowance").unwrap()).contains("up to 400,00 ₽ more"));

    // Over what is left: a message next to the amount, on the form and on a
    // hand-made POST alike, and nothing moves.
    let (status, page) = confirmation(&browser, "/wallet/withdraw", "500", &account).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = plain(&field_error(&page, "amount").unwrap());
    assert!(message.contains("at most 400,00 ₽ more today"), "{message}");
    let entries_before = entries(&app).await;
    let response = post_transfer(
        &browser,
        "/wallet/withdraw",
        "500",
        &account,
        &Uuid::new_v4().to_string(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&response.text().await.unwrap(), "amount").is_some());
    assert_eq!(entries(&app).await, entries_before);

    let rest = confirm_transfer(&browser, "/wallet/withdraw", "400", &account).await;
    assert_redirects_to(&rest, "/wallet");
    assert_eq!(balance_shown(&browser).await.0, "4 000,00 ₽");

    // The next day the whole limit is there again; two withdrawals sent at
    // the same moment cannot both fit under it.
    app.clock.advance(chrono::TimeDelta::days(1));
    assert_redirects_to(
        &browser.login(&user.email, &user.password).await,
        "/investor",
    );
    let token = browser.csrf_token("/wallet").await;
    let keys = [Uuid::new_v4().to_string(), Uuid::new_v4().to_string()];
    let forms: Vec<[(&str, &str); 4]> = keys
        .iter()
        .map(|key| {
            [
                ("csrf_token", token.as_str()),
                ("amount", "600"),
                ("bank_account_id", account.as_str()),
                ("idempotency_key", key.as_str()),
            ]
        })
        .collect();
    let sends = forms
        .iter()
        .map(|fields| browser.post_raw("/wallet/withdraw", fields));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(sends)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    assert!(statuses.contains(&StatusCode::SEE_OTHER), "{statuses:?}");
    assert!(
        statuses.contains(&StatusCode::UNPROCESSABLE_ENTITY),
        "{statuses:?}"
    );
    assert_eq!(balance_shown(&browser).await.0, "3 400,00 ₽");
    assert_ledger_holds(&app).await;
}
