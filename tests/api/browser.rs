//! Journeys in a real headless Chromium, driven over WebDriver, with
//! screenshots. They run when `chromedriver` is installed (`.ci/run` installs
//! it and sets `BROWSER_TESTS=required`, so there a missing driver fails the
//! run instead of skipping).

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use crowdlend::domain::user::Role;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{TestApp, TestUser, spawn_app};

struct Driver {
    process: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn chromedriver_path() -> Option<PathBuf> {
    let candidate = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    candidate.exists().then_some(candidate)
}

/// Starts chromedriver and a browser session, or explains why the test is skipped.
async fn browser() -> Option<(Driver, Client)> {
    let Some(path) = chromedriver_path() else {
        assert!(
            std::env::var("BROWSER_TESTS").as_deref() != Ok("required"),
            "BROWSER_TESTS=required but chromedriver is not installed"
        );
        eprintln!("browser test skipped: chromedriver is not installed");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let process = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver {
        process,
        port,
        _profile: profile,
    };
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic",
                "--window-size=1200,900",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ]
        }),
    );
    let mut last_error = String::new();
    for _ in 0..50 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
        {
            Ok(client) => return Some((driver, client)),
            Err(err) => last_error = err.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not start a browser session: {last_error}");
}

async fn screenshot(client: &Client, name: &str) {
    let dir = std::env::var_os("SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("crowdlend-screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn fill(client: &Client, field: &str, value: &str) {
    let input = client.find(Locator::Id(field)).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

async fn submit(client: &Client) {
    let button = client
        .find(Locator::Css("form.stacked button[type=submit]"))
        .await
        .unwrap();
    button.click().await.unwrap();
}

async fn text(client: &Client) -> String {
    client
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits (up to ten seconds) for the navigation a click started to land on `expected`.
async fn wait_for_path(client: &Client, expected: &str) {
    let mut current = String::new();
    for _ in 0..100 {
        current = client.current_url().await.unwrap().path().to_owned();
        if current == expected && client.find(Locator::Css("main")).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected to arrive at {expected}, still at {current}");
}

#[tokio::test]
async fn a_newcomer_registers_as_an_investor_signs_out_and_signs_back_in() {
    let Some((_driver, client)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let user = TestUser::new(Role::Investor);

    client.goto(&app.address).await.unwrap();
    screenshot(&client, "01-landing").await;
    client
        .find(Locator::LinkText("Start investing"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/register").await;

    // A first try with a short password: the message sits next to the field
    // and what was typed is still there.
    fill(&client, "full_name", &user.name).await;
    fill(&client, "email", &user.email).await;
    fill(&client, "password", "too-short").await;
    fill(&client, "password_confirm", "too-short").await;
    client
        .find(Locator::Id("accept_terms"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    submit(&client).await;
    let error = wait_for(&client, Locator::Id("password-error"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(error, "Use at least 12 characters.");
    let kept = client
        .find(Locator::Id("email"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(user.email.as_str()));
    screenshot(&client, "02-register-error").await;

    fill(&client, "password", &user.password).await;
    fill(&client, "password_confirm", &user.password).await;
    submit(&client).await;
    wait_for_path(&client, "/investor").await;
    assert!(text(&client).await.contains("Welcome to Crowdlend"));
    screenshot(&client, "03-investor-dashboard").await;

    client
        .find(Locator::Css("button.link-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/").await;
    assert!(text(&client).await.contains("You have been signed out."));

    client
        .goto(&format!("{}/investor", app.address))
        .await
        .unwrap();
    wait_for_path(&client, "/login").await;
    fill(&client, "email", &user.email).await;
    fill(&client, "password", &user.password).await;
    submit(&client).await;
    wait_for_path(&client, "/investor").await;
    assert!(text(&client).await.contains(&user.name));
    screenshot(&client, "04-signed-in-again").await;

    client.close().await.unwrap();
}

/// Creates an account of `role` and signs in with it through the form.
async fn sign_in_as(client: &Client, app: &TestApp, role: Role) -> TestUser {
    let user = TestUser::new(role);
    app.create_account(&user).await;
    client
        .goto(&format!("{}/login", app.address))
        .await
        .unwrap();
    fill(client, "email", &user.email).await;
    fill(client, "password", &user.password).await;
    submit(client).await;
    wait_for_path(client, role.home_path()).await;
    user
}

/// Clicks the link reading `text` and waits to arrive at `path`.
async fn follow(client: &Client, text: &str, path: &str) {
    client
        .find(Locator::LinkText(text))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(client, path).await;
}

/// Clicks the submit button of the form posting to (or getting) `action`.
async fn press(client: &Client, action: &str) {
    client
        .find(Locator::Css(&format!(
            "form[action='{action}'] button[type=submit]"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits (up to ten seconds) for the element `locator` finds. A click that
/// navigates can make a lookup fail with "aborted by navigation" while the
/// new page loads; such failures only mean "not yet".
async fn wait_for(client: &Client, locator: Locator<'_>) -> fantoccini::elements::Element {
    let mut last_error = String::new();
    for _ in 0..100 {
        match client.find(locator).await {
            Ok(element) => return element,
            Err(err) => last_error = err.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no element {locator:?} after ten seconds: {last_error}");
}

async fn text_of(client: &Client, id: &str) -> String {
    wait_for(client, Locator::Id(id))
        .await
        .text()
        .await
        .unwrap()
        .replace('\u{a0}', " ")
}

#[tokio::test]
async fn an_investor_tops_up_and_withdraws_through_the_wallet() {
    let Some((_driver, client)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let user = sign_in_as(&client, &app, Role::Investor).await;
    follow(&client, "Wallet", "/wallet").await;
    assert_eq!(text_of(&client, "balance").await, "0,00 ₽");
    assert!(text(&client).await.contains("No money has moved"));

    fill(&client, "holder_name", &user.name).await;
    fill(&client, "bank_name", "Tinkoff").await;
    fill(&client, "account_number", "4081 7810 5555 0000 1234").await;
    press(&client, "/wallet/bank-accounts").await;
    wait_for_path(&client, "/wallet").await;
    let page = text(&client).await;
    assert!(page.contains("Bank account added."), "{page}");
    assert!(page.contains("Tinkoff •••• 1234"), "{page}");
    screenshot(&client, "10-wallet-with-bank-account").await;

    // Deposit: form, confirmation, then the money is there.
    follow(&client, "Deposit", "/wallet/deposit").await;
    fill(&client, "amount", "2 500").await;
    press(&client, "/wallet/deposit").await;
    assert_eq!(text_of(&client, "confirm-amount").await, "2 500,00 ₽");
    assert!(text(&client).await.contains("simulated"));
    screenshot(&client, "11-deposit-confirmation").await;
    press(&client, "/wallet/deposit").await;
    wait_for_path(&client, "/wallet").await;
    assert!(
        text(&client)
            .await
            .replace('\u{a0}', " ")
            .contains("2 500,00 ₽ has been added to your wallet.")
    );
    assert_eq!(text_of(&client, "balance").await, "2 500,00 ₽");

    // Withdrawing more than is there: the message sits next to the amount.
    follow(&client, "Withdraw", "/wallet/withdraw").await;
    fill(&client, "amount", "3000").await;
    press(&client, "/wallet/withdraw").await;
    assert_eq!(
        text_of(&client, "amount-error").await,
        "You can withdraw at most 2 500,00 ₽, the money available in your wallet."
    );
    screenshot(&client, "12-withdrawal-too-much").await;
    fill(&client, "amount", "1000,50").await;
    press(&client, "/wallet/withdraw").await;
    assert_eq!(text_of(&client, "confirm-amount").await, "1 000,50 ₽");
    press(&client, "/wallet/withdraw").await;
    wait_for_path(&client, "/wallet").await;
    assert_eq!(text_of(&client, "balance").await, "1 499,50 ₽");
    assert_eq!(text_of(&client, "available").await, "1 499,50 ₽");
    let history = text_of(&client, "history").await;
    assert!(history.contains("-1 000,50 ₽"), "{history}");
    assert!(history.contains("+2 500,00 ₽"), "{history}");
    screenshot(&client, "13-wallet-after-withdrawal").await;

    let report = crowdlend::ledger::verify::verify(&app.db).await.unwrap();
    assert!(report.holds(), "{report}");
    client.close().await.unwrap();
}

#[tokio::test]
async fn an_admin_changes_a_grade_band() {
    let Some((_driver, client)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    sign_in_as(&client, &app, Role::Admin).await;
    follow(&client, "Settings", "/admin/settings").await;
    screenshot(&client, "20-admin-settings").await;

    // A rate band upside down is refused next to its cell.
    fill(&client, "grade_C_min_rate", "30").await;
    press(&client, "/admin/settings").await;
    assert_eq!(
        text_of(&client, "grade_C_min_rate-error").await,
        "Grade C's lowest rate is above its highest."
    );
    screenshot(&client, "21-admin-settings-error").await;
    fill(&client, "grade_C_min_rate", "19").await;
    press(&client, "/admin/settings").await;
    // Same path before and after: wait for the flash of the new page.
    let flash = wait_for(&client, Locator::Css(".flash-success")).await;
    assert_eq!(flash.text().await.unwrap(), "Settings saved.");
    let saved = client
        .find(Locator::Id("grade_C_min_rate"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(saved.as_deref(), Some("19"));
    client.close().await.unwrap();
}

async fn choose(client: &Client, field: &str, value: &str) {
    client
        .find(Locator::Id(field))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

/// Date inputs take typed text in the browser's locale; set the ISO value the form sends.
async fn set_date(client: &Client, field: &str, iso: &str) {
    client
        .execute(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![json!(field), json!(iso)],
        )
        .await
        .unwrap();
}

/// Clicks the element the CSS `selector` finds first.
async fn click(client: &Client, selector: &str) {
    client
        .find(Locator::Css(selector))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Clicks the submit button with `name=action` and `value`.
async fn press_action(client: &Client, value: &str) {
    click(client, &format!("button[name=action][value='{value}']")).await;
}

#[tokio::test]
async fn a_borrower_applies_and_staff_approve_with_a_changed_rate() {
    let Some((_driver, client)) = browser().await else {
        return;
    };
    let smtp = crate::smtp_server::SmtpServer::start().await;
    let app = crate::helpers::spawn_app_with(&[("SMTP_URL", &smtp.url())]).await;
    let borrower = sign_in_as(&client, &app, Role::Borrower).await;
    follow(&client, "Fill in your profile", "/borrower/profile").await;
    set_date(&client, "birth_date", "1986-09-30").await;
    choose(&client, "education", "bachelor").await;
    choose(&client, "employment_status", "employed").await;
    fill(&client, "employer", "Ромашка LLC").await;
    set_date(&client, "employed_since", "2018-03-01").await;
    fill(&client, "monthly_income", "160 000").await;
    fill(&client, "monthly_expenses", "55000").await;
    fill(&client, "avg_bank_balance", "90000").await;
    fill(&client, "credit_score", "790").await;
    fill(&client, "defaults_12m", "0").await;
    fill(&client, "inquiries_12m", "1").await;
    // A debt row: added by its button, everything typed so far survives.
    press_action(&client, "add_liability").await;
    wait_for(&client, Locator::Id("liability_kind_0")).await;
    assert_eq!(
        client
            .find(Locator::Id("employer"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Ромашка LLC")
    );
    choose(&client, "liability_kind_0", "credit_card").await;
    fill(&client, "liability_outstanding_0", "40000").await;
    fill(&client, "liability_monthly_payment_0", "4000").await;
    set_date(&client, "liability_start_date_0", "2023-05-01").await;
    screenshot(&client, "30-borrower-profile").await;
    press_action(&client, "save").await;
    wait_for_path(&client, "/borrower/loans/new").await;

    let limits = text_of(&client, "limits").await;
    assert!(
        limits.contains("From 10 000,00 ₽ to 3 000 000,00 ₽"),
        "{limits}"
    );
    fill(&client, "amount", "400000").await;
    choose(&client, "term_months", "24").await;
    choose(&client, "purpose", "home_improvement").await;
    fill(
        &client,
        "description",
        "A new kitchen: cabinets, stove and fitting; repaid from my salary.",
    )
    .await;
    press(&client, "/borrower/loans").await;
    wait_for(&client, Locator::Id("scorecard")).await;
    assert_eq!(text_of(&client, "loan-status").await, "In review");
    let summary = text_of(&client, "scorecard").await;
    assert!(summary.contains("of 1000 points"), "{summary}");
    assert!(
        summary.contains("What would change the outcome"),
        "{summary}"
    );
    let loan_path = client.current_url().await.unwrap().path().to_owned();
    let loan_id = loan_path.rsplit('/').next().unwrap().to_owned();
    screenshot(&client, "31-application-scored").await;

    // The identity check: the borrower sends a document, staff verify it.
    client
        .goto(&format!("{}/borrower", app.address))
        .await
        .unwrap();
    follow(&client, "Send your identity details", "/account/identity").await;
    choose(&client, "document_type", "passport").await;
    fill(&client, "document_number", "4510 123456").await;
    set_date(&client, "issued_on", "2016-10-05").await;
    fill(&client, "address", "Санкт-Петербург, Невский проспект, 1").await;
    press(&client, "/account/identity").await;
    wait_for(&client, Locator::Css(".flash-success")).await;

    client.delete_all_cookies().await.unwrap();
    sign_in_as(&client, &app, Role::Staff).await;
    client
        .goto(&format!("{}/admin/applications/{loan_id}", app.address))
        .await
        .unwrap();
    assert_eq!(text_of(&client, "kyc-status").await, "pending");
    follow(
        &client,
        "account",
        &format!("/admin/users/{}", app.user(&borrower.email).await.id),
    )
    .await;
    click(&client, "input[name=decision][value=verify]").await;
    click(&client, "#kyc-decision button[type=submit]").await;
    wait_for(&client, Locator::Css(".flash-success")).await;
    follow(&client, "Applications", "/admin/applications").await;
    let queue = text_of(&client, "queue").await;
    assert!(queue.contains(&borrower.email), "{queue}");
    click(&client, &format!("a[href='/admin/applications/{loan_id}']")).await;
    wait_for_path(&client, &format!("/admin/applications/{loan_id}")).await;
    let grade = text_of(&client, "grade").await;
    let band = *crowdlend::domain::settings::Settings::default()
        .band(crowdlend::domain::scoring::Grade::parse(&grade).unwrap())
        .unwrap();
    // Staff set the band's lowest rate instead of the one suggested.
    let new_rate = band.min_rate;
    click(&client, "#decision").await;
    fill(
        &client,
        "rate_annual",
        &new_rate.percent().normalize().to_string(),
    )
    .await;
    fill(
        &client,
        "comment",
        "Long employment, low debts: best rate of the band.",
    )
    .await;
    screenshot(&client, "32-staff-decision").await;
    press(&client, &format!("/admin/applications/{loan_id}/decision")).await;
    let flash = wait_for(&client, Locator::Css(".flash-success")).await;
    assert!(flash.text().await.unwrap().contains("approved and listed"));
    assert_eq!(text_of(&client, "loan-status").await, "Open for investment");

    // The outbox job sends the approval with the rate staff set.
    app.run_outbox().await;
    let approval = smtp
        .received()
        .into_iter()
        .find(|m| m.subject() == "Your loan application is approved")
        .expect("the approval email reached the mail server");
    assert_eq!(approval.to, std::slice::from_ref(&borrower.email));
    let text = approval.body("text/plain");
    assert!(
        text.contains(&format!("Interest rate:    {new_rate} a year")),
        "{text}"
    );

    client.delete_all_cookies().await.unwrap();
    client
        .goto(&format!("{}/login", app.address))
        .await
        .unwrap();
    fill(&client, "email", &borrower.email).await;
    fill(&client, "password", &borrower.password).await;
    submit(&client).await;
    wait_for_path(&client, "/borrower").await;
    assert!(
        text_of(&client, "applications")
            .await
            .contains("Open for investment")
    );
    client
        .goto(&format!("{}{loan_path}", app.address))
        .await
        .unwrap();
    assert_eq!(
        text_of(&client, "rate").await,
        new_rate.to_string().replace('\u{a0}', " ")
    );
    assert!(
        text_of(&client, "funding-deadline")
            .await
            .contains("7 Dec 2026")
    );
    screenshot(&client, "33-borrower-sees-listed-loan").await;
    client.close().await.unwrap();
}

#[tokio::test]
async fn an_investor_filters_invests_with_others_and_downloads_the_agreement() {
    use crate::{
        investing::{assert_verified, invest, loan, ready_investor},
        marketplace::listed_loan,
    };
    use crowdlend::domain::application::Purpose;

    let Some((_driver, client)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    listed_loan(&app, 300_000, 24, Purpose::Business, 200).await;
    listed_loan(&app, 150_000, 12, Purpose::Medical, 100).await;
    let car = listed_loan(&app, 100_000, 12, Purpose::Car, 0).await;
    // Two other investors have already taken most of the car loan.
    let (first, _, _) = ready_investor(&app, "Анна Кузнецова", 50_000, false).await;
    let (second, _, _) = ready_investor(&app, "Bob Lender", 50_000, false).await;
    invest(&first, &car, "40000").await.investment_id();
    invest(&second, &car, "35000").await.investment_id();
    let (_, me, _) = ready_investor(&app, "Ирина Соколова", 100_000, false).await;

    client
        .goto(&format!("{}/login", app.address))
        .await
        .unwrap();
    fill(&client, "email", &me.email).await;
    fill(&client, "password", &me.password).await;
    submit(&client).await;
    wait_for_path(&client, "/investor").await;

    // Filter the marketplace down to car loans, sorted by funded share.
    follow(&client, "Marketplace", "/marketplace").await;
    assert_eq!(
        client
            .find_all(Locator::Css("#listings tbody tr"))
            .await
            .unwrap()
            .len(),
        3
    );
    choose(&client, "purpose", "car").await;
    choose(&client, "sort", "funded").await;
    press(&client, "/marketplace").await;
    wait_for(&client, Locator::LinkText("Clear filters")).await;
    let rows = client
        .find_all(Locator::Css("#listings tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].text().await.unwrap().contains("75"), "75 % funded");
    screenshot(&client, "40-marketplace-filtered").await;
    click(&client, "#listings a[href^='/marketplace/']").await;
    wait_for_path(&client, &format!("/marketplace/{car}")).await;
    assert_eq!(text_of(&client, "investors").await, "2 investors");
    assert_eq!(text_of(&client, "remaining").await, "25 000,00 ₽");

    // Invest what is left: the confirmation first, then the commitment.
    fill(&client, "invest-amount", "25 000").await;
    click(&client, "#invest-button").await;
    wait_for_path(&client, &format!("/marketplace/{car}/invest")).await;
    assert_eq!(text_of(&client, "confirm-amount").await, "25 000,00 ₽");
    screenshot(&client, "41-invest-confirmation").await;
    click(&client, "#confirm-invest").await;
    let arrived = wait_for(&client, Locator::Id("investment-status")).await;
    assert_eq!(
        arrived.text().await.unwrap(),
        "Repaying",
        "filled and paid out"
    );
    assert!(
        text(&client)
            .await
            .contains("Your commitment completed the loan")
    );
    assert_eq!(loan(&app, &car).await.status, "active");
    assert_eq!(
        client
            .find_all(Locator::Css("#share-rows tbody tr"))
            .await
            .unwrap()
            .len(),
        12
    );
    screenshot(&client, "42-investment-repaying").await;

    // Download the agreement in the page's session and check its fingerprint.
    let fingerprint = text_of(&client, "agreement").await;
    let download = client
        .execute_async(
            "const [done] = [arguments[arguments.length - 1]];
             fetch(document.getElementById('agreement-link').href)
               .then(async r => {
                 const bytes = new Uint8Array(await r.arrayBuffer());
                 const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
                 done({
                   status: r.status,
                   type: r.headers.get('content-type'),
                   magic: String.fromCharCode(...bytes.slice(0, 5)),
                   sha256: Array.from(digest).map(b => b.toString(16).padStart(2, '0')).join(''),
                 });
               })
               .catch(e => done({ error: String(e) }));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(download["status"], 200, "{download}");
    assert_eq!(download["type"], "application/pdf");
    assert_eq!(download["magic"], "%PDF-");
    let sha = download["sha256"].as_str().unwrap();
    assert!(fingerprint.contains(sha), "{sha} in {fingerprint}");
    assert_verified(&app).await;
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_borrower_pays_the_next_installment_after_seeing_where_the_money_goes() {
    use crate::{investing::assert_verified, servicing::repaying_loan};

    let Some((_driver, client)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let loan = repaying_loan(&app).await;
    let me = &loan.users[0];
    client
        .goto(&format!("{}/login", app.address))
        .await
        .unwrap();
    fill(&client, "email", &me.email).await;
    fill(&client, "password", &me.password).await;
    submit(&client).await;
    wait_for_path(&client, "/borrower").await;

    client
        .goto(&format!("{}/borrower/loans/{}", app.address, loan.id))
        .await
        .unwrap();
    let next = text_of(&client, "next-due").await;
    screenshot(&client, "50-loan-repaying").await;
    click(&client, "#pay-link").await;
    wait_for_path(&client, &format!("/borrower/loans/{}/pay", loan.id)).await;
    click(&client, "#quick-amounts li:nth-child(1) a").await;
    let amount = text_of(&client, "confirm-amount").await;
    assert!(next.starts_with(&amount), "{amount} in {next}");
    let allocation = text_of(&client, "allocation").await;
    assert!(allocation.contains("Interest now due"), "{allocation}");
    screenshot(&client, "51-payment-confirmation").await;
    click(&client, "#confirm-pay").await;
    wait_for_path(&client, &format!("/borrower/loans/{}", loan.id)).await;
    assert!(
        text(&client)
            .await
            .contains("The investors have received their shares")
    );
    assert_eq!(
        client
            .find_all(Locator::Css("#payment-rows tbody tr"))
            .await
            .unwrap()
            .len(),
        1
    );
    screenshot(&client, "52-payment-received").await;
    assert_verified(&app).await;
    client.close().await.unwrap();
}

#[tokio::test]
async fn an_investor_sets_an_auto_invest_rule_and_sees_it_fund_a_new_loan() {
    use crate::{
        applications::{apply, approval, borrower_with_profile, decision, set_kyc},
        investing::{assert_verified, loan, ready_investor},
    };

    let Some((_driver, client)) = browser().await else {
        return;
    };
    let app = spawn_app().await;
    let (_, me, _) = ready_investor(&app, "Мария Автоматова", 100_000, false).await;
    client
        .goto(&format!("{}/login", app.address))
        .await
        .unwrap();
    fill(&client, "email", &me.email).await;
    fill(&client, "password", &me.password).await;
    submit(&client).await;
    wait_for_path(&client, "/investor").await;

    // A rule for grade A loans, 5 000 ₽ each: previewed before it is saved.
    follow(&client, "Auto-invest", "/investor/auto-invest").await;
    wait_for(&client, Locator::Id("no-rules")).await;
    fill(&client, "max_per_loan", "5 000").await;
    click(&client, "input[name=grades][value=A]").await;
    click(&client, "#preview-rule").await;
    wait_for(&client, Locator::Id("preview")).await;
    assert!(
        text(&client)
            .await
            .contains("Loans listed in the last 90 days")
    );
    screenshot(&client, "60-auto-invest-preview").await;
    // Switched on only by ticking the box.
    click(&client, "#active").await;
    click(&client, "#save").await;
    assert_eq!(text_of(&client, "rule-state").await, "On");
    assert!(text(&client).await.contains("saved and switched on"));
    let rule_page = client.current_url().await.unwrap();

    // Staff list a new loan: the rule invests in it at once.
    let (borrower, user) = borrower_with_profile(&app).await;
    set_kyc(&app, &user.email, "verified").await;
    let id = apply(&borrower, "150000", "12").await;
    let (staff, _) = app.signed_in(Role::Staff).await;
    decision(&staff, &id, &approval("A", "150000", "12", "14", "Fine.")).await;
    assert_eq!(loan(&app, &id).await.funded_amount, 500_000);

    client.goto(rule_page.as_str()).await.unwrap();
    let invested = text_of(&client, "invested").await;
    assert!(invested.contains("5 000,00 ₽"), "{invested}");
    assert_eq!(text_of(&client, "outstanding").await, "5 000,00 ₽");
    screenshot(&client, "61-auto-invest-rule-invested").await;
    click(&client, "#invested a[href^='/investor/investments/']").await;
    let status = wait_for(&client, Locator::Id("investment-status")).await;
    assert_eq!(status.text().await.unwrap(), "Reserved");
    assert!(text_of(&client, "committed").await.contains("5 000,00 ₽"));
    assert_verified(&app).await;
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_borrower_compares_lenders_offers_and_accepts_the_cheapest() {
    use crate::{
        investing::{assert_verified, loan, ready_investor},
        offers::{offer, offers_loan},
    };

    let Some((_driver, client)) = browser().await else {
        return;
    };
    let app = crate::helpers::spawn_app_without_money_limit().await;
    let (loan_id, _, borrower) = offers_loan(&app, "120000").await;
    let (dear, _, _) = ready_investor(&app, "Дорогой Кредитор", 200_000, true).await;
    let (cheap, _, cheap_id) = ready_investor(&app, "Cheap Lender", 200_000, true).await;
    offer(&dear, &loan_id, "15.5").await.unwrap();
    offer(&cheap, &loan_id, "13").await.unwrap();

    client
        .goto(&format!("{}/login", app.address))
        .await
        .unwrap();
    fill(&client, "email", &borrower.email).await;
    fill(&client, "password", &borrower.password).await;
    submit(&client).await;
    wait_for_path(&client, "/borrower").await;
    client
        .goto(&format!("{}/borrower/loans/{loan_id}", app.address))
        .await
        .unwrap();
    let best = text_of(&client, "best-offer").await;
    assert!(
        best.contains("13.00 %") && best.contains("cheapest"),
        "{best}"
    );
    screenshot(&client, "70-offers-compared").await;
    click(&client, "#best-offer a.button").await;
    let rate = text_of(&client, "offer-rate").await;
    assert!(rate.contains("13.00 %"), "{rate}");
    screenshot(&client, "71-offer-accept-confirmation").await;
    click(&client, "#accept-offer").await;
    wait_for_path(&client, &format!("/borrower/loans/{loan_id}")).await;
    assert!(text(&client).await.contains("You accepted the offer"));
    assert!(text_of(&client, "rate").await.contains("13.00 %"));
    screenshot(&client, "72-offer-accepted").await;
    let accepted = loan(&app, &loan_id).await;
    assert_eq!(accepted.status, "active");
    assert_eq!(accepted.rate_annual, Some(1_300));
    assert_eq!(
        crate::investing::wallet_of(&app, cheap_id).await,
        (8_000_000, 0)
    );
    assert_verified(&app).await;
    client.close().await.unwrap();
}

#[tokio::test]
async fn an_investor_sells_part_of_a_loan_to_another() {
    use crate::investing::{assert_verified, invest, ready_investor, wallet_of};
    use crowdlend::domain::application::Purpose;

    let Some((_driver, client)) = browser().await else {
        return;
    };
    let app = crate::helpers::spawn_app_without_money_limit().await;
    let loan_id = crate::marketplace::listed_loan(&app, 20_000, 12, Purpose::Car, 0).await;
    let (seller_http, seller, seller_id) =
        ready_investor(&app, "Продавец Анна", 50_000, true).await;
    let (other, _, _) = ready_investor(&app, "Other Holder", 50_000, true).await;
    let stake = invest(&seller_http, &loan_id, "10000")
        .await
        .investment_id();
    invest(&other, &loan_id, "10000").await.investment_id();
    let (_, buyer, buyer_id) = ready_investor(&app, "Buyer Bella", 50_000, true).await;

    let sign_in = |user: &TestUser| {
        let (email, password) = (user.email.clone(), user.password.clone());
        let client = client.clone();
        let address = app.address.clone();
        async move {
            client.delete_all_cookies().await.unwrap();
            client.goto(&format!("{address}/login")).await.unwrap();
            fill(&client, "email", &email).await;
            fill(&client, "password", &password).await;
            submit(&client).await;
            wait_for_path(&client, "/investor").await;
        }
    };
    sign_in(&seller).await;
    client
        .goto(&format!("{}/investor/investments/{stake}", app.address))
        .await
        .unwrap();
    click(&client, "#sell-link").await;
    fill(&client, "amount", "4 000").await;
    fill(&client, "markup_percent", "1").await;
    click(&client, "#sell-continue").await;
    assert_eq!(text_of(&client, "confirm-price").await, "4 040,00 ₽");
    screenshot(&client, "80-sell-confirmation").await;
    click(&client, "#confirm-sell").await;
    wait_for_path(&client, &format!("/investor/investments/{stake}")).await;
    assert!(text(&client).await.contains("on the secondary market"));

    sign_in(&buyer).await;
    follow(&client, "Secondary", "/secondary").await;
    screenshot(&client, "81-secondary-market").await;
    click(&client, "#listings a.button").await;
    assert_eq!(text_of(&client, "price").await, "4 040,00 ₽");
    click(&client, "#confirm-buy").await;
    let status = wait_for(&client, Locator::Id("investment-status")).await;
    assert_eq!(status.text().await.unwrap(), "Repaying");
    assert!(
        text(&client)
            .await
            .contains("You bought 4 000,00 ₽ of principal")
    );
    screenshot(&client, "82-bought-on-secondary").await;
    assert_eq!(wallet_of(&app, buyer_id).await.0, 5_000_000 - 404_000);
    assert_eq!(
        wallet_of(&app, seller_id).await.0,
        4_000_000 + 404_000 - 4_040
    );
    assert_verified(&app).await;
    client.close().await.unwrap();
}
