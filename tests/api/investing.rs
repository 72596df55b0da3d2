//! Investing: commitments with their limits, reduce and cancel, the loan
//! filling up and being paid out (money, schedule, agreements, emails),
//! expiry, withdrawal, who may download an agreement, and many investors at
//! once on one loan.

use std::collections::BTreeMap;

use crowdlend::{
    db::entities::{
        audit_log, documents, investments, loan_requests, outbox_emails, repayment_schedule,
        wallets,
    },
    domain::{
        application::Purpose,
        money::{Currency, Money},
        user::Role,
    },
    ledger::verify,
    services::{
        RequestMeta, funding,
        idempotency::IdempotencyKey,
        wallet::{self, BankTransferRequest, Direction, NewBankAccount},
    },
};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::{
    applications::set_kyc,
    helpers::{
        Browser, TestApp, TestUser, assert_redirects_to, field_error, input_value, spawn_app,
        spawn_app_without_money_limit, text_at,
    },
    marketplace::{listed_loan, listed_loan_for},
};

pub const INN: &str = "500100732259";

fn rub(roubles: i64) -> Money {
    Money::from_minor(roubles * 100, Currency::Rub).unwrap()
}

/// An investor who may invest: identity verified, the risk declaration
/// accepted, `deposit` roubles in the wallet. `qualified` lifts the yearly limit.
pub async fn ready_investor(
    app: &TestApp,
    name: &str,
    deposit: i64,
    qualified: bool,
) -> (Browser, TestUser, Uuid) {
    let mut user = TestUser::new(Role::Investor);
    name.clone_into(&mut user.name);
    let browser = app.browser();
    assert_eq!(
        browser.register(&user).await.status(),
        StatusCode::SEE_OTHER
    );
    let mut fields = vec![
        ("tax_id", INN),
        ("accept_risk_declaration", "on"),
        ("action", "save"),
    ];
    if qualified {
        fields.push(("qualified", "on"));
    }
    let response = browser
        .submit("/investor/profile", "/investor/profile", &fields)
        .await;
    assert_redirects_to(&response, "/investor/profile");
    set_kyc(app, &user.email, "verified").await;
    let id = app.user(&user.email).await.id;
    if deposit > 0 {
        fund(app, id, deposit).await;
    }
    (browser, user, id)
}

/// Deposits `roubles` into the user's wallet through the wallet use case.
pub async fn fund(app: &TestApp, user_id: Uuid, roubles: i64) {
    let meta = RequestMeta::default();
    let account = wallet::add_bank_account(
        &app.db,
        &app.clock,
        crowdlend::domain::ids::UserId::from_uuid(user_id),
        NewBankAccount::parse("Test Holder", "Test Bank", "40817810000000000001").unwrap(),
        &meta,
    )
    .await
    .unwrap();
    wallet::transfer(
        &app.db,
        &app.clock,
        crowdlend::domain::ids::UserId::from_uuid(user_id),
        &BankTransferRequest {
            direction: Direction::Deposit,
            amount: rub(roubles),
            bank_account_id: account,
            key: IdempotencyKey::parse(&IdempotencyKey::generate()).unwrap(),
        },
    )
    .await
    .unwrap();
}

/// Opens the confirmation for `amount` and confirms it, as the browser does.
/// Returns the confirmation page when the amount is refused there.
pub async fn invest(browser: &Browser, loan_id: &str, amount: &str) -> InvestOutcome {
    let path = format!("/marketplace/{loan_id}/invest?amount={}", urlencode(amount));
    let response = browser.get(&path).await;
    let status = response.status();
    let page = response.text().await.unwrap();
    let Some(key) = input_value(&page, "idempotency_key") else {
        return InvestOutcome::Refused(status, page);
    };
    let response = confirm(browser, loan_id, &page, &key).await;
    InvestOutcome::Posted(response)
}

/// The confirmation page for a valid `amount` and its submission key.
async fn confirmation(browser: &Browser, loan_id: &str, amount: &str) -> (String, String) {
    let page = browser
        .get_html(&format!("/marketplace/{loan_id}/invest?amount={amount}"))
        .await;
    let key = input_value(&page, "idempotency_key")
        .unwrap_or_else(|| panic!("no confirmation for {amount}: {page}"));
    (page, key)
}

/// Posts the confirmation form of `page` with `key`.
async fn confirm(browser: &Browser, loan_id: &str, page: &str, key: &str) -> reqwest::Response {
    let token = crate::helpers::csrf_token_in(page);
    let amount = input_value(page, "amount").unwrap();
    browser
        .post_raw(
            &format!("/marketplace/{loan_id}/invest"),
            &[
                ("csrf_token", token.as_str()),
                ("amount", amount.as_str()),
                ("idempotency_key", key),
            ],
        )
        .await
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

pub enum InvestOutcome {
    /// Refused on the confirmation page (status and page).
    Refused(StatusCode, String),
    /// Confirmed: the POST's answer.
    Posted(reqwest::Response),
}

impl InvestOutcome {
    /// The new investment's id, after the 303 to its page.
    pub fn investment_id(self) -> String {
        match self {
            Self::Posted(response) => {
                assert_eq!(response.status(), StatusCode::SEE_OTHER);
                location(&response)
                    .trim_start_matches("/investor/investments/")
                    .to_owned()
            }
            Self::Refused(status, page) => panic!("refused with {status}: {page}"),
        }
    }

    /// The message next to the amount on a refusal.
    pub fn amount_error(self) -> String {
        let (status, page) = match self {
            Self::Refused(status, page) => (status, page),
            Self::Posted(response) => panic!("accepted: {:?}", response.headers()),
        };
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        field_error(&page, "amount").unwrap_or_else(|| panic!("no amount error in {page}"))
    }
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

/// (balance, reserved) of the user's wallet, in kopecks.
pub async fn wallet_of(app: &TestApp, user_id: Uuid) -> (i64, i64) {
    let w = wallets::Entity::find()
        .filter(wallets::Column::UserId.eq(user_id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    (w.balance, w.reserved)
}

pub async fn platform_balance(app: &TestApp, kind: &str) -> i64 {
    wallets::Entity::find()
        .filter(wallets::Column::Kind.eq(kind))
        .filter(wallets::Column::Currency.eq("RUB"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .balance
}

pub async fn loan(app: &TestApp, id: &str) -> loan_requests::Model {
    loan_requests::Entity::find_by_id(id.parse::<Uuid>().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

async fn investments_of(app: &TestApp, loan_id: &str) -> Vec<investments::Model> {
    investments::Entity::find()
        .filter(investments::Column::LoanId.eq(loan_id.parse::<Uuid>().unwrap()))
        .order_by_asc(investments::Column::CreatedAt)
        .order_by_asc(investments::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

pub async fn assert_verified(app: &TestApp) {
    let report = verify::verify(&app.db).await.unwrap();
    assert!(report.holds(), "{report}");
}

pub async fn emails_of_kind(app: &TestApp, kind: &str) -> Vec<outbox_emails::Model> {
    outbox_emails::Entity::find()
        .filter(outbox_emails::Column::Kind.eq(kind))
        .all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn each_limit_of_a_commitment_is_explained_next_to_the_amount() {
    let app = spawn_app().await;
    let loan_id = listed_loan(&app, 100_000, 12, Purpose::Car, 0).await;
    let (investor, _, investor_id) = ready_investor(&app, "Olga Smirnova", 30_000, false).await;

    // The loan's page offers the form; the confirmation says what will happen.
    let page = investor.get_html(&format!("/marketplace/{loan_id}")).await;
    assert!(
        text_at(&page, "#invest")
            .unwrap()
            .contains("From 1\u{a0}000,00\u{a0}₽")
    );
    let page = investor
        .get_html(&format!("/marketplace/{loan_id}/invest?amount=5000"))
        .await;
    assert_eq!(
        text_at(&page, "#confirm-amount").as_deref(),
        Some("5\u{a0}000,00\u{a0}₽")
    );
    assert_eq!(
        text_at(&page, "#available").as_deref(),
        Some("30\u{a0}000,00\u{a0}₽")
    );
    assert_eq!(
        text_at(&page, "#yearly-room").map(|t| t.starts_with("600\u{a0}000,00")),
        Some(true)
    );
    assert_eq!(
        wallet_of(&app, investor_id).await,
        (3_000_000, 0),
        "nothing reserved before confirming"
    );

    for (amount, expected) in [
        ("999,99", "The smallest investment is 1\u{a0}000,00\u{a0}₽."),
        (
            "30000,01",
            "You have 30\u{a0}000,00\u{a0}₽ available in your wallet. Deposit more or invest less.",
        ),
        ("1e3", "Enter an amount in digits"),
        ("-5", "negative"),
        ("0", "Enter an amount greater than zero."),
    ] {
        let message = invest(&investor, &loan_id, amount).await.amount_error();
        assert!(message.contains(expected), "{amount}: {message}");
    }

    // A rich qualified investor takes most of the loan; more than is left is refused.
    let (whale, _, _) = ready_investor(&app, "Whale Capital", 200_000, true).await;
    invest(&whale, &loan_id, "90000").await.investment_id();
    let message = invest(&investor, &loan_id, "10000,01").await.amount_error();
    assert_eq!(
        message,
        "Only 10\u{a0}000,00\u{a0}₽ is left to fund in this loan."
    );

    // The yearly limit for the unqualified, counted on this year's commitments.
    let (small, _, small_id) = ready_investor(&app, "Limited Investor", 700_000, false).await;
    let other = listed_loan(&app, 700_000, 36, Purpose::Business, 0).await;
    invest(&small, &other, "595000").await.investment_id();
    let message = invest(&small, &other, "5000,01").await.amount_error();
    assert_eq!(
        message,
        "Unqualified investors may invest 600\u{a0}000,00\u{a0}₽ a calendar year; 5\u{a0}000,00\u{a0}₽ of it is left this year."
    );
    invest(&small, &other, "5000").await.investment_id();
    assert_eq!(wallet_of(&app, small_id).await, (70_000_000, 60_000_000));

    // Without the risk declaration, and without a verified identity.
    let (novice, novice_user) = app.signed_in(Role::Investor).await;
    set_kyc(&app, &novice_user.email, "verified").await;
    let page = novice
        .get_html(&format!("/marketplace/{loan_id}/invest?amount=1000"))
        .await;
    assert!(
        text_at(&page, "#blocker")
            .unwrap()
            .contains("accept the risk declaration"),
        "{page}"
    );
    assert!(input_value(&page, "idempotency_key").is_none());
    let token = crate::helpers::csrf_token_in(&page);
    let response = novice
        .post_raw(
            &format!("/marketplace/{loan_id}/invest"),
            &[
                ("csrf_token", token.as_str()),
                ("amount", "1000"),
                ("idempotency_key", &Uuid::new_v4().to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("risk declaration"));
    set_kyc(&app, &novice_user.email, "pending").await;
    let page = novice
        .get_html(&format!("/marketplace/{loan_id}/invest?amount=1000"))
        .await;
    assert!(
        text_at(&page, "#blocker")
            .unwrap()
            .contains("identity must be verified")
    );

    // Borrowers and visitors cannot invest at all.
    let (borrower, _) = app.signed_in(Role::Borrower).await;
    assert_eq!(
        borrower
            .get(&format!("/marketplace/{loan_id}/invest"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.browser()
            .get(&format!("/marketplace/{loan_id}/invest"))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        investor
            .get(&format!("/marketplace/{}/invest", Uuid::new_v4()))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_verified(&app).await;
}

#[tokio::test]
async fn what_changed_since_the_confirmation_is_explained_when_confirming_and_nothing_moves() {
    let app = spawn_app_without_money_limit().await;
    let loan_id = listed_loan(&app, 100_000, 12, Purpose::Business, 0).await;
    let (investor, _, investor_id) = ready_investor(&app, "Late Investor", 30_000, true).await;
    let (whale, _, _) = ready_investor(&app, "Whale Capital", 200_000, true).await;

    // The confirmation was fine when shown; the loan filled up meanwhile.
    let (page, key) = confirmation(&investor, &loan_id, "20000").await;
    invest(&whale, &loan_id, "90000").await.investment_id();
    let response = confirm(&investor, &loan_id, &page, &key).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert_eq!(
        field_error(&html, "amount").as_deref(),
        Some("Only 10\u{a0}000,00\u{a0}₽ is left to fund in this loan.")
    );
    assert_eq!(wallet_of(&app, investor_id).await, (3_000_000, 0));

    // Its funding deadline passed meanwhile.
    let (page, key) = confirmation(&investor, &loan_id, "5000").await;
    app.clock.advance(chrono::TimeDelta::days(31));
    let response = confirm(&investor, &loan_id, &page, &key).await;
    assert!(response.status().is_client_error(), "{}", response.status());
    assert_eq!(wallet_of(&app, investor_id).await, (3_000_000, 0));
    assert_eq!(
        investments_of(&app, &loan_id).await.len(),
        1,
        "the whale's only"
    );
    let report = verify::verify(&app.db).await.unwrap();
    assert!(report.holds(), "{report}");
}

#[tokio::test]
async fn a_confirmed_form_sent_twice_reserves_once_and_a_commitment_can_be_reduced_and_cancelled() {
    let app = spawn_app_without_money_limit().await;
    let loan_id = listed_loan(&app, 100_000, 12, Purpose::Car, 0).await;
    let (investor, _, investor_id) = ready_investor(&app, "Olga Smirnova", 50_000, false).await;

    let (page, key) = confirmation(&investor, &loan_id, "20000").await;
    let first = confirm(&investor, &loan_id, &page, &key).await;
    let second = confirm(&investor, &loan_id, &page, &key).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&first),
        location(&second),
        "the repeat gets the first answer"
    );
    assert_eq!(investments_of(&app, &loan_id).await.len(), 1);
    assert_eq!(wallet_of(&app, investor_id).await, (5_000_000, 2_000_000));
    assert_eq!(loan(&app, &loan_id).await.funded_amount, 2_000_000);
    let investment = location(&first);
    let flash = investor.get_html(&investment).await;
    assert!(flash.contains("20\u{a0}000,00\u{a0}₽ is reserved in your wallet for this loan."));
    assert_eq!(
        text_at(&flash, "#investment-status").as_deref(),
        Some("Reserved")
    );
    let list = investor.get_html("/investor/investments").await;
    assert!(
        text_at(&list, "#investments")
            .unwrap()
            .contains("20\u{a0}000,00\u{a0}₽")
    );
    let dashboard = investor.get_html("/investor").await;
    assert!(
        text_at(&dashboard, "#portfolio")
            .unwrap()
            .contains("Reserved")
    );
    let market = app
        .browser()
        .get_html(&format!("/marketplace/{loan_id}"))
        .await;
    assert_eq!(text_at(&market, "#funded").as_deref(), Some("20 % funded"));
    assert_eq!(
        text_at(&market, "#investors").as_deref(),
        Some("1 investor")
    );

    // Reduce: not up, not below the minimum; then down to 5 000.
    let reduce = format!("{investment}/reduce");
    for (amount, expected) in [
        (
            "25000",
            "Enter an amount smaller than your commitment of 20\u{a0}000,00\u{a0}₽",
        ),
        (
            "500",
            "The smallest investment is 1\u{a0}000,00\u{a0}₽; to go lower, cancel the commitment.",
        ),
        ("abc", "Enter an amount in digits"),
    ] {
        let response = investor
            .submit(&investment, &reduce, &[("amount", amount)])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{amount}"
        );
        let page = response.text().await.unwrap();
        let message = field_error(&page, "amount").unwrap();
        assert!(message.contains(expected), "{amount}: {message}");
    }
    let response = investor
        .submit(&investment, &reduce, &[("amount", "5000")])
        .await;
    assert_redirects_to(&response, &investment);
    assert_eq!(wallet_of(&app, investor_id).await, (5_000_000, 500_000));
    assert_eq!(loan(&app, &loan_id).await.funded_amount, 500_000);
    assert_verified(&app).await;

    // Someone else cannot touch it.
    let (stranger, _, _) = ready_investor(&app, "Nosy Neighbour", 0, false).await;
    assert_eq!(
        stranger.get(&investment).await.status(),
        StatusCode::NOT_FOUND
    );
    let response = stranger
        .submit("/investor", &format!("{investment}/cancel"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Cancel releases the rest; a second cancel is refused, nothing moves twice.
    let cancel = format!("{investment}/cancel");
    let response = investor.submit(&investment, &cancel, &[]).await;
    assert_redirects_to(&response, &investment);
    assert_eq!(wallet_of(&app, investor_id).await, (5_000_000, 0));
    assert_eq!(loan(&app, &loan_id).await.funded_amount, 0);
    let page = investor.get_html(&investment).await;
    assert_eq!(
        text_at(&page, "#investment-status").as_deref(),
        Some("Cancelled")
    );
    assert!(text_at(&page, "#change").is_none());
    let response = investor.submit("/investor", &cancel, &[]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wallet_of(&app, investor_id).await, (5_000_000, 0));
    assert_verified(&app).await;
}

#[tokio::test]
async fn the_commitment_that_fills_the_loan_pays_it_out_to_the_cent() {
    let app = spawn_app().await;
    let loan_id = listed_loan(&app, 100_000, 12, Purpose::HomeImprovement, 0).await;
    let borrower_id = loan(&app, &loan_id).await.borrower_id;
    let (a, _, a_id) = ready_investor(&app, "Анна Кузнецова", 100_000, false).await;
    let (b, _, b_id) = ready_investor(&app, "Bob Lender", 100_000, false).await;
    let (c, _, c_id) = ready_investor(&app, "Chen Wei", 100_000, false).await;
    invest(&a, &loan_id, "33333,33").await.investment_id();
    invest(&b, &loan_id, "33333,33").await.investment_id();
    invest(&a, &loan_id, "10000").await.investment_id();
    assert_eq!(loan(&app, &loan_id).await.status, "funding");
    let response = invest(&c, &loan_id, "23333,34").await;
    let InvestOutcome::Posted(response) = response else {
        panic!("refused")
    };
    let last = location(&response);
    let page = c.get_html(&last).await;
    assert!(
        page.contains("Your commitment completed the loan"),
        "{page}"
    );

    // The loan is paid out: 100 000 less 2 % reserve and 1 % fee.
    let paid = loan(&app, &loan_id).await;
    assert_eq!(paid.status, "active");
    assert_eq!(paid.funded_amount, 10_000_000);
    assert!(paid.funded_at.is_some() && paid.disbursed_at.is_some());
    assert_eq!(wallet_of(&app, borrower_id).await, (9_700_000, 0));
    assert_eq!(platform_balance(&app, "reserve_fund").await, 200_000);
    assert_eq!(platform_balance(&app, "fees").await, 100_000);
    assert_eq!(wallet_of(&app, a_id).await, (10_000_000 - 4_333_333, 0));
    assert_eq!(wallet_of(&app, b_id).await, (10_000_000 - 3_333_333, 0));
    assert_eq!(wallet_of(&app, c_id).await, (10_000_000 - 2_333_334, 0));

    // The schedule starts on the payout day; every investment is active with its agreement.
    let rows = repayment_schedule::Entity::find()
        .filter(repayment_schedule::Column::LoanId.eq(paid.id))
        .order_by_asc(repayment_schedule::Column::PaymentNum)
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 12);
    assert_eq!(rows[0].due_date.to_string(), "2026-12-23");
    assert_eq!(rows[11].due_date.to_string(), "2027-11-23");
    assert_eq!(rows.iter().map(|r| r.principal).sum::<i64>(), 10_000_000);
    // 12 % a year over 12 months: the annuity is 8 884,88 ₽.
    assert_eq!(rows[0].principal + rows[0].interest, 888_488);
    let stakes = investments_of(&app, &loan_id).await;
    assert_eq!(stakes.len(), 4);
    for stake in &stakes {
        assert_eq!(stake.status, "active");
        let document = documents::Entity::find()
            .filter(documents::Column::InvestmentId.eq(stake.id))
            .one(&app.db)
            .await
            .unwrap()
            .expect("an agreement per investment");
        assert!(document.content.starts_with(b"%PDF-"));
        assert_eq!(
            stake.agreement_hash.as_deref(),
            Some(document.sha256.as_str())
        );
    }
    assert_verified(&app).await;

    // The investor's page shows their share; the borrower's page the schedule and agreements.
    let page = c.get_html(&last).await;
    assert_eq!(
        text_at(&page, "#investment-status").as_deref(),
        Some("Repaying")
    );
    assert_eq!(
        scraper::Html::parse_document(&page)
            .select(&scraper::Selector::parse("#share-rows tbody tr").unwrap())
            .count(),
        12
    );
    // The emails: confirmed ×4, funded to the borrower and the 3 investors,
    // paid out to the borrower and each investor once.
    assert_eq!(emails_of_kind(&app, "investment_confirmed").await.len(), 4);
    assert_eq!(emails_of_kind(&app, "loan_funded").await.len(), 4);
    let paid_out = emails_of_kind(&app, "loan_disbursed").await;
    assert_eq!(paid_out.len(), 4);
    let to_borrower = paid_out
        .iter()
        .find(|e| e.subject == "Your loan has been paid out")
        .unwrap();
    assert!(
        to_borrower
            .text_body
            .contains("97\u{a0}000,00\u{a0}₽ is in your Crowdlend wallet")
    );
    assert!(
        to_borrower.text_body.contains("23 Nov 2027"),
        "{}",
        to_borrower.text_body
    );
}

/// Turns automatic payout on or off as an admin does at `/admin/settings`.
async fn set_automatic_payout(admin: &Browser, on: bool) {
    let mut fields: Vec<(String, String)> = crowdlend::domain::settings::Settings::default()
        .to_pairs()
        .into_iter()
        .filter(|(k, v)| k != "disbursement_automatic" || on && v == "true")
        .collect();
    fields.retain(|(k, v)| k != "kyc_required" || v == "true");
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let response = admin
        .submit("/admin/settings", "/admin/settings", &borrowed)
        .await;
    assert_redirects_to(&response, "/admin/settings");
}

#[tokio::test]
async fn a_funded_loan_still_waiting_is_paid_out_by_the_payouts_job() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    set_automatic_payout(&admin, false).await;
    let loan_id = listed_loan(&app, 10_000, 6, Purpose::Medical, 0).await;
    let (investor, _, investor_id) = ready_investor(&app, "Olga Smirnova", 20_000, false).await;
    invest(&investor, &loan_id, "10000").await.investment_id();
    assert_eq!(loan(&app, &loan_id).await.status, "funded");
    // While payout is left to staff, the job leaves it.
    let paid = funding::pay_out_due(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap();
    assert_eq!(paid, 0);
    assert_eq!(loan(&app, &loan_id).await.status, "funded");

    // Once payout is automatic again, the next pass pays it out, once.
    set_automatic_payout(&admin, true).await;
    let paid = funding::pay_out_due(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap();
    assert_eq!(paid, 1);
    assert_eq!(loan(&app, &loan_id).await.status, "active");
    assert_eq!(wallet_of(&app, investor_id).await, (1_000_000, 0));
    let again = funding::pay_out_due(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM documents").await,
        1,
        "one agreement"
    );
    assert_verified(&app).await;
}

#[tokio::test]
async fn manual_disbursement_waits_for_staff() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let page = admin.get_html("/admin/settings").await;
    assert!(page.contains(r#"name="disbursement_automatic" value="true" checked"#));
    set_automatic_payout(&admin, false).await;

    let loan_id = listed_loan(&app, 10_000, 6, Purpose::Medical, 0).await;
    let (investor, _, _) = ready_investor(&app, "Olga Smirnova", 20_000, false).await;
    invest(&investor, &loan_id, "10000").await.investment_id();
    assert_eq!(loan(&app, &loan_id).await.status, "funded");
    let funded = emails_of_kind(&app, "loan_funded").await;
    assert!(
        funded
            .iter()
            .all(|e| e.text_body.contains("our staff pay the money out"))
    );

    let list = admin.get_html("/admin/loans").await;
    assert!(
        text_at(&list, "#loans")
            .unwrap()
            .contains("10\u{a0}000,00\u{a0}₽ (100 %)")
    );
    let response = admin
        .submit(
            "/admin/loans",
            &format!("/admin/loans/{loan_id}/disburse"),
            &[],
        )
        .await;
    assert_redirects_to(&response, "/admin/loans?status=active");
    assert_eq!(loan(&app, &loan_id).await.status, "active");
    // Paying out twice is refused with a reason, and nothing moves.
    let response = admin
        .submit(
            "/admin/loans",
            &format!("/admin/loans/{loan_id}/disburse"),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let audited = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("loan_disbursed"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(audited.len(), 1);
    assert_verified(&app).await;
}

#[tokio::test]
async fn a_loan_unfunded_at_its_deadline_expires_and_releases_every_reservation() {
    let app = spawn_app().await;
    let loan_id = listed_loan(&app, 100_000, 12, Purpose::Car, 0).await;
    let other = listed_loan(&app, 50_000, 12, Purpose::Car, 0).await;
    let (a, a_user, a_id) = ready_investor(&app, "Анна Кузнецова", 100_000, false).await;
    let (b, b_user, b_id) = ready_investor(&app, "Bob Lender", 100_000, false).await;
    let first = invest(&a, &loan_id, "30000").await.investment_id();
    invest(&a, &loan_id, "5000").await.investment_id();
    invest(&b, &loan_id, "40000").await.investment_id();
    invest(&b, &other, "1000").await.investment_id();
    assert_eq!(wallet_of(&app, a_id).await.1, 3_500_000);

    // 14 days later the listing is past its deadline: the job ends it.
    app.clock
        .advance(chrono::TimeDelta::days(14) + chrono::TimeDelta::minutes(1));
    b.login(&b_user.email, &b_user.password).await;
    let message = invest(&b, &loan_id, "1000").await;
    let InvestOutcome::Refused(status, _) = message else {
        panic!("accepted after the deadline")
    };
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let expired = funding::expire_due(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap();
    assert_eq!(expired, 2);
    assert_eq!(
        funding::expire_due(&app.db, &app.clock, &app.base_url())
            .await
            .unwrap(),
        0
    );
    let closed = loan(&app, &loan_id).await;
    assert_eq!(
        (closed.status.as_str(), closed.funded_amount),
        ("expired", 0)
    );
    assert_eq!(wallet_of(&app, a_id).await, (10_000_000, 0));
    assert_eq!(wallet_of(&app, b_id).await, (10_000_000, 0));
    assert!(
        investments_of(&app, &loan_id)
            .await
            .iter()
            .all(|i| i.status == "expired")
    );
    let released = emails_of_kind(&app, "funding_ended").await;
    assert_eq!(
        released.len(),
        5,
        "two investors and the borrower of each loan, b twice"
    );
    assert!(released.iter().any(|e| {
        e.text_body
            .contains("Your reservation of 35\u{a0}000,00\u{a0}₽")
    }));
    a.login(&a_user.email, &a_user.password).await;
    let page = a.get_html(&format!("/investor/investments/{first}")).await;
    assert_eq!(
        text_at(&page, "#investment-status").as_deref(),
        Some("Released, loan not funded")
    );
    assert_eq!(
        app.browser()
            .get(&format!("/marketplace/{loan_id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_verified(&app).await;
}

#[tokio::test]
async fn a_loan_past_its_deadline_is_shown_closed_and_only_the_expiry_job_releases_it() {
    let app = spawn_app().await;
    let loan_id = listed_loan(&app, 100_000, 12, Purpose::Car, 0).await;
    let (a, a_user, a_id) = ready_investor(&app, "Olga Smirnova", 10_000, false).await;
    let investment = invest(&a, &loan_id, "10000").await.investment_id();
    app.clock.advance(chrono::TimeDelta::days(15));

    // Looking at the loan changes nothing: it is shown as closed.
    let page = app
        .browser()
        .get_html(&format!("/marketplace/{loan_id}"))
        .await;
    assert!(text_at(&page, "#funding-closed").is_some(), "{page}");
    assert!(!page.contains("invest-button"));
    a.login(&a_user.email, &a_user.password).await;
    let page = a
        .get_html(&format!("/investor/investments/{investment}"))
        .await;
    assert!(text_at(&page, "#change").is_none(), "no longer changeable");
    assert_eq!(loan(&app, &loan_id).await.status, "funding");
    assert_eq!(wallet_of(&app, a_id).await, (1_000_000, 1_000_000));
    // Investing in it is refused.
    let InvestOutcome::Refused(status, _) = invest(&a, &loan_id, "1000").await else {
        panic!("accepted after the deadline")
    };
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The funding-expiry job releases it.
    let expired = funding::expire_due(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap();
    assert_eq!(expired, 1);
    assert_eq!(loan(&app, &loan_id).await.status, "expired");
    assert_eq!(wallet_of(&app, a_id).await, (1_000_000, 0));
    assert_eq!(
        app.browser()
            .get(&format!("/marketplace/{loan_id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_verified(&app).await;
}

#[tokio::test]
async fn a_borrower_withdrawing_a_listed_loan_releases_the_investors_money() {
    let app = spawn_app().await;
    let loan_id = listed_loan(&app, 100_000, 12, Purpose::Car, 0).await;
    let (a, _, a_id) = ready_investor(&app, "Olga Smirnova", 10_000, false).await;
    invest(&a, &loan_id, "7000").await.investment_id();
    let listed = loan(&app, &loan_id).await;
    funding::withdraw(
        &app.db,
        &app.clock,
        crowdlend::domain::ids::UserId::from_uuid(listed.borrower_id),
        crowdlend::domain::ids::LoanId::from_uuid(listed.id),
        &app.base_url(),
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    let closed = loan(&app, &loan_id).await;
    assert_eq!(
        (closed.status.as_str(), closed.funded_amount),
        ("withdrawn", 0)
    );
    assert_eq!(wallet_of(&app, a_id).await, (1_000_000, 0));
    assert!(
        investments_of(&app, &loan_id)
            .await
            .iter()
            .all(|i| i.status == "cancelled")
    );
    let released = emails_of_kind(&app, "funding_ended").await;
    assert_eq!(released.len(), 1);
    assert!(released[0].text_body.contains("The borrower has withdrawn"));
    assert_verified(&app).await;
}

#[tokio::test]
async fn agreements_go_to_the_parties_only_and_a_tampered_one_is_refused() {
    let app = spawn_app().await;
    let (borrower, borrower_user) = app.signed_in(Role::Borrower).await;
    let loan_id = listed_loan_for(
        &app,
        &borrower,
        &borrower_user,
        (10_000, 6, Purpose::Education, 0),
    )
    .await;
    let (investor, _, _) = ready_investor(&app, "Ирина Соколова", 20_000, false).await;
    let (partner, _, _) = ready_investor(&app, "Peter Gray", 20_000, false).await;
    let investment = invest(&investor, &loan_id, "6000").await.investment_id();
    invest(&partner, &loan_id, "4000").await.investment_id();
    let path = format!("/investor/investments/{investment}/agreement.pdf");

    let response = investor.get(&path).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let bytes = response.bytes().await.unwrap();
    let stored = investments::Entity::find_by_id(investment.parse::<Uuid>().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        Some(crowdlend::pdf::sha256_hex(&bytes)),
        stored.agreement_hash,
        "the bytes served are the bytes hashed"
    );
    // The investor's share as the investment's page shows it: six rows whose
    // principal adds up to the 6 000 ₽ lent.
    let page = investor
        .get_html(&format!("/investor/investments/{investment}"))
        .await;
    let document = scraper::Html::parse_document(&page);
    let cell = scraper::Selector::parse("td").unwrap();
    let share: Vec<Vec<String>> = document
        .select(&scraper::Selector::parse("#share-rows tbody tr").unwrap())
        .map(|row| {
            row.select(&cell)
                .map(|td| td.text().collect::<String>().replace('\u{a0}', " "))
                .collect()
        })
        .collect();
    assert_eq!(share.len(), 6);
    let principal: i64 = share
        .iter()
        .map(|row| Money::parse(&row[2], Currency::Rub).unwrap().minor())
        .sum();
    assert_eq!(principal, 600_000);
    if let Some(text) = pdftotext(&bytes) {
        for expected in [
            "Ирина Соколова",
            &borrower_user.name,
            "10 000,00 ₽",
            "6 000,00 ₽",
            "12.00 %",
            "23 Nov 2026, 09:30:00 UTC",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        // Every row of the share, each on its own line of the PDF's table.
        for row in &share {
            let (number, due, principal, interest, total) =
                (&row[0], &row[1], &row[2], &row[3], &row[4]);
            assert!(
                text.lines().any(|line| {
                    let words: Vec<&str> = line.split_whitespace().collect();
                    let line = words.join(" ");
                    line.starts_with(&format!("{number} {due}"))
                        && line.contains(principal.as_str())
                        && line.contains(interest.as_str())
                        && line.contains(total.as_str())
                }),
                "row {row:?} in {text}"
            );
        }
    }

    // The borrower and staff may read it; another investor and visitors may not.
    assert_eq!(borrower.get(&path).await.status(), StatusCode::OK);
    let borrower_page = borrower
        .get_html(&format!("/borrower/loans/{loan_id}"))
        .await;
    let agreements = text_at(&borrower_page, "#agreements").unwrap();
    assert!(
        agreements.contains("6\u{a0}000,00\u{a0}₽") && agreements.contains("4\u{a0}000,00\u{a0}₽"),
        "{agreements}"
    );
    assert_eq!(
        scraper::Html::parse_document(&borrower_page)
            .select(&scraper::Selector::parse("#schedule-rows tbody tr").unwrap())
            .count(),
        6
    );
    let (staff, _) = app.signed_in(Role::Staff).await;
    assert_eq!(staff.get(&path).await.status(), StatusCode::OK);
    let staff_page = staff
        .get_html(&format!("/admin/applications/{loan_id}"))
        .await;
    assert!(
        text_at(&staff_page, "#agreements")
            .unwrap()
            .contains("Ирина Соколова")
    );
    let (other, _, _) = ready_investor(&app, "Other Investor", 0, false).await;
    assert_eq!(other.get(&path).await.status(), StatusCode::NOT_FOUND);
    let (other_borrower, _) = app.signed_in(Role::Borrower).await;
    assert_eq!(
        other_borrower.get(&path).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.browser().get(&path).await.status(),
        StatusCode::SEE_OTHER
    );

    // Someone changes the stored bytes: the download is refused and audited.
    documents::Entity::update_many()
        .col_expr(
            documents::Column::Content,
            sea_orm::sea_query::Expr::value(b"%PDF-1.7 forged".to_vec()),
        )
        .filter(documents::Column::InvestmentId.eq(investment.parse::<Uuid>().unwrap()))
        .exec(&app.db)
        .await
        .unwrap();
    let response = investor.get(&path).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("failed its integrity check")
    );
    let audited = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("agreement_integrity_failed"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(audited.len(), 1);
}

/// The text of a PDF as `pdftotext -layout` reads it, non-breaking spaces
/// made plain; `None` when poppler-utils is missing (unless CI requires it).
fn pdftotext(pdf: &[u8]) -> Option<String> {
    let file = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    std::fs::write(file.path(), pdf).unwrap();
    match std::process::Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(file.path())
        .arg("-")
        .output()
    {
        Ok(output) => {
            assert!(output.status.success());
            Some(
                String::from_utf8(output.stdout)
                    .unwrap()
                    .replace('\u{a0}', " "),
            )
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var("BROWSER_TESTS").as_deref() != Ok("required"),
                "pdftotext (poppler-utils) is required in CI"
            );
            eprintln!("PDF text check skipped: pdftotext is not installed");
            None
        }
        Err(error) => panic!("pdftotext did not run: {error}"),
    }
}

#[tokio::test]
async fn two_hundred_simultaneous_commitments_from_fifty_investors_never_oversubscribe() {
    let app = spawn_app().await;
    // 500 000 ₽; 200 requests of 1 000..=9 000 ₽ ask for about a million.
    let loan_id = listed_loan(&app, 500_000, 24, Purpose::Business, 0).await;
    let mut investors = Vec::new();
    for n in 0..50 {
        let (browser, _, id) = ready_investor(&app, &format!("Investor {n}"), 20_000, true).await;
        investors.push((browser, id));
    }
    // Each investor opens four confirmations first, then all 200 are sent at once.
    let mut prepared = Vec::new();
    for (n, (browser, _)) in investors.iter().enumerate() {
        for k in 0..4 {
            let amount = 1_000 + ((n * 4 + k) % 9) * 1_000;
            let (page, key) = confirmation(browser, &loan_id, &amount.to_string()).await;
            prepared.push((n, page, key));
        }
    }
    let sends = prepared.iter().map(|(n, page, key)| {
        let browser = &investors[*n].0;
        let loan_id = &loan_id;
        async move { confirm(browser, loan_id, page, key).await }
    });
    let answers = futures_util::future::join_all(sends).await;
    let mut accepted = 0;
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    for response in answers {
        match response.status() {
            StatusCode::SEE_OTHER => accepted += 1,
            StatusCode::UNPROCESSABLE_ENTITY => {
                let page = response.text().await.unwrap();
                let message = field_error(&page, "amount")
                    .or_else(|| text_at(&page, "#problem"))
                    .or_else(|| text_at(&page, ".error-page > p:not(.error-code)"))
                    .unwrap_or_else(|| panic!("a refusal without a message: {page}"));
                *refusals.entry(message).or_default() += 1;
            }
            other => panic!("unexpected {other}: {}", response.text().await.unwrap()),
        }
    }
    let listed = loan(&app, &loan_id).await;
    let stakes = investments_of(&app, &loan_id).await;
    let committed: i64 = stakes.iter().map(|s| s.amount).sum();
    assert_eq!(
        stakes.len(),
        accepted,
        "one investment per accepted request"
    );
    assert!(
        committed <= 50_000_000,
        "never over-subscribed: {committed}"
    );
    assert_eq!(listed.funded_amount, committed);
    assert!(accepted + refusals.values().sum::<usize>() == 200);
    assert!(
        refusals.keys().all(|m| m.starts_with("Only ")
            || m.contains("fully funded")
            || m.contains("no longer open")
            || m.starts_with("You have ")),
        "{refusals:?}"
    );
    // Each investor's reservation (or, once paid out, payment) is exactly
    // their accepted commitments.
    for (_, id) in &investors {
        let theirs: i64 = stakes
            .iter()
            .filter(|s| s.investor_id == *id)
            .map(|s| s.amount)
            .sum();
        let (balance, reserved) = wallet_of(&app, *id).await;
        if listed.status == "funding" {
            assert_eq!((balance, reserved), (2_000_000, theirs));
        } else {
            assert_eq!((balance, reserved), (2_000_000 - theirs, 0));
        }
    }
    assert_eq!(
        listed.status, "active",
        "a million asked for half a million: it filled and paid out"
    );
    assert_verified(&app).await;
}

#[tokio::test]
async fn one_confirmation_sent_five_times_at_once_reserves_once_and_its_key_cannot_change_amount() {
    let app = spawn_app().await;
    let loan_id = listed_loan(&app, 100_000, 12, Purpose::Car, 0).await;
    let (investor, _, investor_id) = ready_investor(&app, "Olga Smirnova", 50_000, false).await;
    let (page, key) = confirmation(&investor, &loan_id, "3000").await;
    let answers =
        futures_util::future::join_all((0..5).map(|_| confirm(&investor, &loan_id, &page, &key)))
            .await;
    let places: Vec<String> = answers
        .iter()
        .map(|response| {
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
            location(response)
        })
        .collect();
    assert!(
        places.windows(2).all(|pair| pair[0] == pair[1]),
        "{places:?}"
    );
    assert_eq!(investments_of(&app, &loan_id).await.len(), 1);
    assert_eq!(wallet_of(&app, investor_id).await, (5_000_000, 300_000));

    // The same key with another amount is refused, and nothing moves.
    let token = crate::helpers::csrf_token_in(&page);
    let response = investor
        .post_raw(
            &format!("/marketplace/{loan_id}/invest"),
            &[
                ("csrf_token", token.as_str()),
                ("amount", "4000"),
                ("idempotency_key", key.as_str()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("already submitted with different values")
    );
    assert_eq!(wallet_of(&app, investor_id).await, (5_000_000, 300_000));
    assert_verified(&app).await;
}

#[tokio::test]
async fn reserved_money_cannot_be_withdrawn_even_at_the_same_moment() {
    use crowdlend::db::entities::bank_accounts;

    let app = spawn_app_without_money_limit().await;
    let loan_id = listed_loan(&app, 100_000, 12, Purpose::Car, 0).await;
    let (investor, _, investor_id) = ready_investor(&app, "Olga Smirnova", 10_000, false).await;
    let account = bank_accounts::Entity::find()
        .filter(bank_accounts::Column::UserId.eq(investor_id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    // Eight commitments and eight withdrawals of 1 000 ₽ each, all at once,
    // against 10 000 ₽: at most ten can succeed.
    let mut invest_pages = Vec::new();
    for _ in 0..8 {
        let (page, key) = confirmation(&investor, &loan_id, "1000").await;
        invest_pages.push((page, key));
    }
    let token = investor.csrf_token("/wallet").await;
    let withdraw_keys: Vec<String> = (0..8).map(|_| Uuid::new_v4().to_string()).collect();
    let invests = invest_pages
        .iter()
        .map(|(page, key)| confirm(&investor, &loan_id, page, key));
    let withdraw_forms: Vec<[(&str, &str); 4]> = withdraw_keys
        .iter()
        .map(|key| {
            [
                ("csrf_token", token.as_str()),
                ("amount", "1000"),
                ("bank_account_id", account.as_str()),
                ("idempotency_key", key.as_str()),
            ]
        })
        .collect();
    let withdrawals = withdraw_forms
        .iter()
        .map(|fields| investor.post_raw("/wallet/withdraw", fields));
    let (invested, withdrawn) = futures_util::future::join(
        futures_util::future::join_all(invests),
        futures_util::future::join_all(withdrawals),
    )
    .await;
    let ok = |answers: &[reqwest::Response]| {
        answers
            .iter()
            .filter(|r| {
                assert!(
                    r.status() == StatusCode::SEE_OTHER
                        || r.status() == StatusCode::UNPROCESSABLE_ENTITY,
                    "{}",
                    r.status()
                );
                r.status() == StatusCode::SEE_OTHER
            })
            .count()
    };
    let (invested, withdrawn) = (ok(&invested), ok(&withdrawn));
    assert!(invested + withdrawn <= 10, "{invested} + {withdrawn}");
    assert!(
        invested > 0 && withdrawn > 0,
        "{invested} + {withdrawn}: both kinds went through"
    );
    let (balance, reserved) = wallet_of(&app, investor_id).await;
    assert_eq!(
        balance,
        1_000_000 - 100_000 * i64::try_from(withdrawn).unwrap()
    );
    assert_eq!(reserved, 100_000 * i64::try_from(invested).unwrap());
    assert!(reserved <= balance);
    assert_verified(&app).await;
}

#[tokio::test]
async fn ten_commitments_in_a_second_from_one_investor_are_answered_429_and_move_nothing() {
    let app = spawn_app().await;
    let loan_id = listed_loan(&app, 100_000, 12, Purpose::Car, 0).await;
    let (investor, _, investor_id) = ready_investor(&app, "Olga Smirnova", 50_000, false).await;
    let mut confirmations = Vec::new();
    for _ in 0..10 {
        confirmations.push(confirmation(&investor, &loan_id, "1000").await);
    }

    // A script confirms ten commitments as fast as it can.
    let mut statuses = Vec::new();
    for (page, key) in &confirmations {
        let response = confirm(&investor, &loan_id, page, key).await;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let page = response.text().await.unwrap();
            assert!(page.contains("Nothing was moved"), "{page}");
        }
        statuses.push(status);
    }
    let accepted = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(accepted + refused, 10, "{statuses:?}");
    assert!(refused >= 5, "at most five in ten seconds: {statuses:?}");

    // Only what was accepted is reserved.
    let reserved = i64::try_from(accepted).unwrap() * 100_000;
    assert_eq!(wallet_of(&app, investor_id).await, (5_000_000, reserved));
    assert_eq!(investments_of(&app, &loan_id).await.len(), accepted);
    assert_eq!(loan(&app, &loan_id).await.funded_amount, reserved);

    // Resending an accepted form is not a new request: it gets its first
    // answer although the window is full, and moves nothing.
    let (page, key) = &confirmations[0];
    let again = confirm(&investor, &loan_id, page, key).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(wallet_of(&app, investor_id).await, (5_000_000, reserved));
    assert_verified(&app).await;
}

#[tokio::test]
async fn an_installment_moves_once_by_its_status_machine_whoever_races_it() {
    use crowdlend::{
        clock::Clock,
        db::repo::installments,
        domain::{
            ids::LoanId,
            installment::{InstallmentEvent, InstallmentStatus},
            money::Currency,
        },
        error::AppError,
    };

    let app = spawn_app().await;
    let loan_id = listed_loan(&app, 10_000, 6, Purpose::Medical, 0).await;
    let (investor, _, _) = ready_investor(&app, "Olga Smirnova", 20_000, false).await;
    invest(&investor, &loan_id, "10000").await.investment_id();
    let loan_id: LoanId = loan_id.parse().unwrap();
    let schedule = installments::of_loan(&app.db, loan_id, Currency::Rub)
        .await
        .unwrap();
    assert_eq!(schedule.len(), 6);
    assert!(
        schedule
            .iter()
            .all(|i| i.status == InstallmentStatus::Scheduled)
    );

    // Two passes over the same due date: the first moves it, the second
    // (holding the row as it read it) is refused and moves nothing.
    let first = &schedule[0];
    let now = app.clock.now();
    let moved = installments::apply(&app.db, first, InstallmentEvent::FallDue, now).await;
    assert_eq!(moved.unwrap(), InstallmentStatus::Due);
    let again = installments::apply(&app.db, first, InstallmentEvent::FallDue, now).await;
    assert!(matches!(again, Err(AppError::Conflict)), "{again:?}");
    // A move the machine does not draw is refused before anything is written.
    let refused =
        installments::apply(&app.db, &schedule[1], InstallmentEvent::BecomeOverdue, now).await;
    assert!(matches!(refused, Err(AppError::Unexpected(_))));
    let read = installments::of_loan(&app.db, loan_id, Currency::Rub)
        .await
        .unwrap();
    assert_eq!(read[0].status, InstallmentStatus::Due);
    assert_eq!(read[1].status, InstallmentStatus::Scheduled);
    let overdue = installments::apply(&app.db, &read[0], InstallmentEvent::BecomeOverdue, now)
        .await
        .unwrap();
    assert_eq!(overdue, InstallmentStatus::Overdue);
}
