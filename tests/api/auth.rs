//! Registration, sign-in, sign-out, sessions, lockout and throttling.

use chrono::TimeDelta;
use crowdlend::{
    db::{entities::sessions, session_store::REVALIDATE_AFTER},
    domain::user::Role,
};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::helpers::{
    Browser, TestApp, TestUser, assert_redirects_to, captured_logs, field_error, input_value,
    set_cookie, spawn_app, spawn_app_with,
};

#[tokio::test]
async fn registering_as_an_investor_signs_in_and_opens_the_dashboard() {
    // Arrange
    let app = spawn_app().await;
    let browser = app.browser();
    let user = TestUser::new(Role::Investor);

    // Act
    let response = browser.register(&user).await;

    // Assert
    assert_redirects_to(&response, "/investor");
    let dashboard = browser.get_html("/investor").await;
    assert!(
        dashboard.contains("Welcome to Crowdlend"),
        "flash after registration"
    );
    assert!(dashboard.contains(&user.name));
    assert!(dashboard.contains(&user.email));
    let again = browser.get_html("/investor").await;
    assert!(
        !again.contains("Welcome to Crowdlend"),
        "a flash is shown once"
    );
    let wallets = app
        .count("SELECT COUNT(*) FROM wallets w JOIN users u ON u.id = w.user_id WHERE u.role = 'investor'")
        .await;
    assert_eq!(wallets, 1, "the account opens with its wallet");
}

#[tokio::test]
async fn each_invalid_registration_field_gets_its_message_and_the_form_keeps_what_was_typed() {
    let app = spawn_app().await;
    let browser = app.browser();
    let good = TestUser::new(Role::Borrower);
    let cases: [(&str, &str, &str, &str); 9] = [
        ("email", "", "email", "Enter your email address."),
        (
            "email",
            "not-an-email",
            "email",
            "Enter an email address like name@example.com.",
        ),
        ("full_name", "", "full_name", "Enter your full name."),
        (
            "full_name",
            "<b>Mallory</b>",
            "full_name",
            "Names cannot contain",
        ),
        (
            "password",
            "short-pass1",
            "password",
            "Use at least 12 characters.",
        ),
        (
            "password_confirm",
            "something-else-entirely",
            "password_confirm",
            "do not match",
        ),
        (
            "role",
            "",
            "role",
            "Choose whether you want to borrow or to invest.",
        ),
        (
            "role",
            "admin",
            "role",
            "Choose whether you want to borrow or to invest.",
        ),
        ("accept_terms", "", "accept_terms", "accept the terms"),
    ];
    for (field, value, error_field, message) in cases {
        let mut fields = vec![
            ("email", good.email.as_str()),
            ("password", good.password.as_str()),
            ("password_confirm", good.password.as_str()),
            ("full_name", good.name.as_str()),
            ("role", "borrower"),
            ("accept_terms", "on"),
        ];
        if field == "password" {
            fields.retain(|(k, _)| *k != "password_confirm");
            fields.push(("password_confirm", value));
        }
        fields.retain(|(k, _)| *k != field);
        if !value.is_empty() {
            fields.push((field, value));
        }

        let response = browser.submit("/register", "/register", &fields).await;

        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}"
        );
        let html = response.text().await.unwrap();
        let shown = field_error(&html, error_field).unwrap_or_default();
        assert!(shown.contains(message), "{field}={value:?}: got {shown:?}");
        assert!(
            !html.contains(&good.password),
            "a password is never sent back"
        );
        if field != "email" {
            assert_eq!(
                input_value(&html, "email").as_deref(),
                Some(good.email.as_str())
            );
        }
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users").await,
        0,
        "nothing was created"
    );
}

#[tokio::test]
async fn an_email_is_taken_whatever_its_letter_case() {
    let app = spawn_app().await;
    let first = TestUser::new(Role::Investor);
    assert_eq!(
        app.browser().register(&first).await.status(),
        StatusCode::SEE_OTHER
    );

    let mut second = TestUser::new(Role::Borrower);
    second.email = format!("  {}  ", first.email.to_uppercase());
    let response = app.browser().register(&second).await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        field_error(&html, "email")
            .unwrap()
            .contains("already exists")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
}

#[tokio::test]
async fn signing_in_is_case_insensitive_and_signing_out_ends_the_session() {
    let app = spawn_app().await;
    let user = TestUser::new(Role::Borrower);
    app.browser().register(&user).await;
    let browser = app.browser();

    let response = browser
        .login(&user.email.to_uppercase(), &user.password)
        .await;
    assert_redirects_to(&response, "/borrower");
    assert!(browser.get_html("/borrower").await.contains(&user.name));

    let response = browser.logout("/borrower").await;
    assert_redirects_to(&response, "/");
    assert!(
        browser
            .get_html("/")
            .await
            .contains("You have been signed out.")
    );
    assert_redirects_to(&browser.get("/borrower").await, "/login?next=%2Fborrower");
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_a_message_and_422() {
    let app = spawn_app().await;
    let user = TestUser::new(Role::Investor);
    app.browser().register(&user).await;

    for (email, password) in [
        (user.email.as_str(), "wrong-password-123"),
        ("nobody@example.com", user.password.as_str()),
    ] {
        let response = app.browser().login(email, password).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = response.text().await.unwrap();
        assert_eq!(
            field_error(&html, "password").as_deref(),
            Some("The email or password is incorrect."),
            "the same message whether or not the email exists"
        );
        assert_eq!(input_value(&html, "email").as_deref(), Some(email));
        assert_eq!(input_value(&html, "password").as_deref(), Some(""));
    }
    let response = app.browser().login("", "").await;
    let html = response.text().await.unwrap();
    assert_eq!(
        field_error(&html, "email").as_deref(),
        Some("Enter your email address.")
    );
    assert_eq!(
        field_error(&html, "password").as_deref(),
        Some("Enter your password.")
    );
}

#[tokio::test]
async fn a_session_cookie_replayed_after_logout_is_refused() {
    let app = spawn_app().await;
    let user = TestUser::new(Role::Investor);
    let browser = app.browser();
    browser.register(&user).await;
    browser.logout("/investor").await;
    let response = browser.login(&user.email, &user.password).await;
    let stolen = Browser::session_cookie(&response).expect("sign-in sets the session cookie");

    browser.logout("/investor").await;

    let response = app.browser().get_with_session("/investor", &stolen).await;
    assert_redirects_to(&response, "/login?next=%2Finvestor");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE user_id IS NOT NULL")
            .await,
        0,
        "no signed-in session is left on the server"
    );
}

#[tokio::test]
async fn signing_in_replaces_the_session_id_so_a_planted_one_is_worthless() {
    let app = spawn_app().await;
    let user = TestUser::new(Role::Investor);
    app.browser().register(&user).await;
    // A session key the attacker holds: the anonymous one that carries the
    // message after signing out of their own account.
    let (attacker, _) = app.signed_in(Role::Investor).await;
    let planted = Browser::session_cookie(&attacker.logout("/investor").await)
        .expect("signing out leaves an anonymous session for its message");
    let browser = app.browser();
    browser.plant_cookie("crowdlend_session", &planted);

    let response = browser.login(&user.email, &user.password).await;

    let after = Browser::session_cookie(&response).expect("sign-in sets a new cookie");
    assert_ne!(planted, after);
    let response = app.browser().get_with_session("/investor", &planted).await;
    assert_redirects_to(&response, "/login?next=%2Finvestor");
}

#[tokio::test]
async fn session_and_form_cookies_are_http_only_and_same_site_lax() {
    let app = spawn_app().await;
    let user = TestUser::new(Role::Investor);
    app.create_account(&user).await;
    let browser = app.browser();
    let form = browser.get("/login").await;
    let anonymous = set_cookie(&form, "crowdlend_csrf").expect("a crowdlend_csrf cookie");
    let response = browser.login(&user.email, &user.password).await;
    let session = set_cookie(&response, "crowdlend_session").expect("a crowdlend_session cookie");
    for cookie in [anonymous, session] {
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(
            !cookie.contains("Secure"),
            "plain http on localhost must still work: {cookie}"
        );
    }
}

#[tokio::test]
async fn five_failed_sign_ins_lock_the_account_for_fifteen_minutes() {
    let app = spawn_app().await;
    let user = TestUser::new(Role::Investor);
    app.browser().register(&user).await;
    let browser = app.browser();

    for attempt in 1..=4 {
        let html = browser
            .login(&user.email, "not-the-password")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            !html.contains("locked"),
            "attempt {attempt} does not lock yet"
        );
    }
    let fifth = browser
        .login(&user.email, "not-the-password")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        fifth.contains("This account is locked for 15 minutes"),
        "the user is told"
    );

    let (admin, _) = app.signed_in(Role::Admin).await;
    let users_page = admin.get_html("/admin/users?role=investor").await;
    assert!(
        users_page.contains(r#"<span class="badge badge-warn">locked</span>"#),
        "staff see the lock"
    );

    let with_right_password = browser.login(&user.email, &user.password).await;
    assert_eq!(
        with_right_password.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(with_right_password.text().await.unwrap().contains("locked"));

    app.clock.advance(TimeDelta::minutes(16));
    assert_redirects_to(
        &browser.login(&user.email, &user.password).await,
        "/investor",
    );
}

#[tokio::test]
async fn failed_sign_ins_from_one_address_are_throttled_but_successful_ones_are_not() {
    let app = spawn_app().await;
    let user = TestUser::new(Role::Investor);
    app.browser().register(&user).await;

    // An office behind one router: many people sign in successfully.
    for _ in 0..25 {
        let browser = app.browser();
        assert_redirects_to(
            &browser.login(&user.email, &user.password).await,
            "/investor",
        );
    }
    // Someone guesses passwords of accounts that do not exist.
    let attacker = app.browser();
    for n in 0..20 {
        let response = attacker
            .login(&format!("guess{n}@example.com"), "guessed-password")
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let response = attacker.login(&user.email, &user.password).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Too many failed sign-in attempts")
    );

    app.clock.advance(TimeDelta::minutes(16));
    assert_redirects_to(
        &app.browser().login(&user.email, &user.password).await,
        "/investor",
    );
}

/// Registers `user` in a browser of its own (then forgotten), so that no
/// browser of the test knows the account yet.
async fn register_elsewhere(app: &TestApp, user: &TestUser) {
    let response = app.browser().register(user).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "registration failed"
    );
}

/// A browser that signed in as `user` once and signed out again.
async fn browser_that_signed_in_before(app: &TestApp, user: &TestUser) -> Browser {
    let browser = app.browser();
    assert_redirects_to(
        &browser.login(&user.email, &user.password).await,
        "/investor",
    );
    browser.logout("/investor").await;
    browser
}

/// Twenty wrong passwords for accounts that do not exist, from a browser
/// nobody else uses: the address is refused from now on.
async fn throttle_the_address(app: &TestApp) {
    let attacker = app.browser();
    for n in 0..20 {
        let response = attacker
            .login(&format!("guess{n}@example.com"), "guessed-password")
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}

fn device_cookies(browser: &Browser) -> Vec<(String, String)> {
    browser
        .cookies()
        .into_iter()
        .filter(|(name, _)| name.starts_with("crowdlend_device_"))
        .collect()
}

#[tokio::test]
async fn a_browser_that_signed_in_before_still_signs_in_when_its_address_is_throttled() {
    // Arrange
    let app = spawn_app().await;
    let user = TestUser::new(Role::Investor);
    register_elsewhere(&app, &user).await;
    let laptop = browser_that_signed_in_before(&app, &user).await;
    throttle_the_address(&app).await;

    // Act
    let unknown = app.browser().login(&user.email, &user.password).await;
    let known = laptop.login(&user.email, &user.password).await;

    // Assert
    assert_eq!(
        unknown.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "an unknown browser is still refused"
    );
    assert_redirects_to(&known, "/investor");
    assert!(laptop.get_html("/investor").await.contains(&user.name));
}

#[tokio::test]
async fn the_account_lockout_still_stops_guessing_but_not_a_browser_that_signed_in_before() {
    // Arrange
    let app = spawn_app().await;
    let user = TestUser::new(Role::Investor);
    register_elsewhere(&app, &user).await;
    let laptop = browser_that_signed_in_before(&app, &user).await;
    let guesser = app.browser();

    // Act
    for _ in 0..5 {
        guesser.login(&user.email, "not-the-password").await;
    }

    // Assert
    let guessed_right = guesser.login(&user.email, &user.password).await;
    assert_eq!(guessed_right.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(guessed_right.text().await.unwrap().contains("locked"));
    let unknown = app.browser().login(&user.email, &user.password).await;
    assert!(unknown.text().await.unwrap().contains("locked"));
    assert_redirects_to(
        &laptop.login(&user.email, &user.password).await,
        "/investor",
    );
    let still = app.browser().login(&user.email, &user.password).await;
    assert!(
        still.text().await.unwrap().contains("locked"),
        "a known browser's sign-in does not lift the lock for unknown ones"
    );
    assert!(app.user(&user.email).await.locked_until.is_some());
}

#[tokio::test]
async fn a_known_browser_has_its_own_limit_of_five_wrong_passwords() {
    // Arrange
    let app = spawn_app().await;
    let user = TestUser::new(Role::Investor);
    register_elsewhere(&app, &user).await;
    let laptop = browser_that_signed_in_before(&app, &user).await;

    // Act: five typos from the known browser count on that browser only.
    for _ in 0..5 {
        let response = laptop.login(&user.email, "not-the-password").await;
        let html = response.text().await.unwrap();
        assert_eq!(
            field_error(&html, "password").as_deref(),
            Some("The email or password is incorrect.")
        );
    }
    let account = app.user(&user.email).await;
    assert_eq!(account.failed_login_count, 0);
    assert!(account.locked_until.is_none(), "the account is not locked");

    // Then the browser is treated as unknown: five more lock the account.
    for _ in 0..5 {
        laptop.login(&user.email, "not-the-password").await;
    }

    // Assert
    let refused = laptop.login(&user.email, &user.password).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("locked"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'login_failed'")
            .await,
        11,
        "every failure is audited"
    );
    app.clock.advance(TimeDelta::minutes(16));
    assert_redirects_to(
        &laptop.login(&user.email, &user.password).await,
        "/investor",
    );
}

#[tokio::test]
async fn signing_in_leaves_a_signed_long_lived_device_cookie_for_that_account() {
    let app = spawn_app().await;
    let user = TestUser::new(Role::Investor);
    register_elsewhere(&app, &user).await;
    let account = app.user(&user.email).await;

    let response = app.browser().login(&user.email, &user.password).await;

    let name = format!("crowdlend_device_{}", account.id.simple());
    let cookie = set_cookie(&response, &name).expect("a device cookie named for the account");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=15552000"] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http on localhost: {cookie}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM login_devices").await,
        2,
        "one for the browser that registered, one for this one"
    );
}

#[tokio::test]
async fn over_https_the_device_cookie_is_secure_and_host_prefixed() {
    let app = spawn_app_with(&[("BASE_URL", "https://lend.example")]).await;
    let user = TestUser::new(Role::Investor);
    app.create_account(&user).await;
    let account = app.user(&user.email).await;
    let browser = app.browser();
    // A cookie jar keeps no Secure cookie over plain http: carry the form's
    // cookie by hand.
    let form = browser.get("/login").await;
    let form_cookie = set_cookie(&form, "__Host-crowdlend_csrf")
        .and_then(|cookie| cookie.split(';').next().map(str::to_owned))
        .unwrap();
    let token = crate::helpers::csrf_token_in(&form.text().await.unwrap());

    let response = browser
        .client
        .post(browser.url("/login"))
        .header("Cookie", form_cookie)
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", user.email.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await
        .unwrap();

    assert_redirects_to(&response, "/investor");
    let name = format!("__Host-crowdlend_device_{}", account.id.simple());
    let cookie = set_cookie(&response, &name).expect("a __Host- device cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
}

#[tokio::test]
async fn two_accounts_signed_in_from_one_browser_each_keep_their_device_cookie() {
    // Arrange
    let app = spawn_app().await;
    let first = TestUser::new(Role::Investor);
    let second = TestUser::new(Role::Investor);
    register_elsewhere(&app, &first).await;
    register_elsewhere(&app, &second).await;
    let shared = browser_that_signed_in_before(&app, &first).await;
    assert_redirects_to(
        &shared.login(&second.email, &second.password).await,
        "/investor",
    );
    shared.logout("/investor").await;
    assert_eq!(device_cookies(&shared).len(), 2);
    throttle_the_address(&app).await;

    // Act and assert
    for user in [&first, &second] {
        assert_redirects_to(
            &shared.login(&user.email, &user.password).await,
            "/investor",
        );
        shared.logout("/investor").await;
    }
}

#[tokio::test]
async fn a_forged_or_borrowed_device_cookie_does_not_pass_the_throttle() {
    // Arrange
    let app = spawn_app().await;
    let owner = TestUser::new(Role::Investor);
    let victim = TestUser::new(Role::Investor);
    register_elsewhere(&app, &owner).await;
    register_elsewhere(&app, &victim).await;
    let owners_browser = browser_that_signed_in_before(&app, &owner).await;
    let (owners_name, owners_cookie) = device_cookies(&owners_browser).pop().unwrap();
    let victim_id = app.user(&victim.email).await.id;
    let victims_name = format!("crowdlend_device_{}", victim_id.simple());
    let victims_device = {
        use crowdlend::db::entities::login_devices;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        login_devices::Entity::find()
            .filter(login_devices::Column::UserId.eq(victim_id))
            .one(&app.db)
            .await
            .unwrap()
            .expect("the victim's registering browser is a known device")
            .id
    };
    throttle_the_address(&app).await;

    // Act
    let borrowed = app.browser();
    borrowed.plant_cookie(&victims_name, &owners_cookie);
    let forged = app.browser();
    let (signature, _) = owners_cookie.split_at(44);
    forged.plant_cookie(
        &victims_name,
        &format!("{signature}{}", victims_device.simple()),
    );
    let copied = app.browser();
    copied.plant_cookie(&owners_name, &owners_cookie);

    // Assert
    for browser in [borrowed, forged] {
        assert_eq!(
            browser
                .login(&victim.email, &victim.password)
                .await
                .status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    assert_redirects_to(
        &copied.login(&owner.email, &owner.password).await,
        "/investor",
    );
}

#[tokio::test]
async fn devices_unused_for_180_days_are_forgotten() {
    let app = spawn_app().await;
    let user = TestUser::new(Role::Investor);
    register_elsewhere(&app, &user).await;
    let laptop = browser_that_signed_in_before(&app, &user).await;
    app.clock.advance(TimeDelta::days(100));
    assert_redirects_to(
        &laptop.login(&user.email, &user.password).await,
        "/investor",
    );

    app.clock.advance(TimeDelta::days(100));
    let forgotten = crowdlend::services::auth::forget_unused_devices(&app.db, &app.clock)
        .await
        .unwrap();

    assert_eq!(
        forgotten, 1,
        "the registering browser's, unused for 200 days"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM login_devices").await, 1);
}

#[tokio::test]
async fn behind_a_proxy_addresses_the_client_writes_itself_do_not_escape_the_throttle() {
    // Arrange: one proxy in front, which appends the address it saw.
    let app = spawn_app_with(&[("TRUST_PROXY_HEADERS", "true")]).await;
    let user = TestUser::new(Role::Investor);
    register_elsewhere(&app, &user).await;

    // Act: a script that writes a new address of its own on every attempt.
    for n in 0..20 {
        let response = app
            .browser_behind_proxy(&format!("10.0.{n}.1, 198.51.100.7"))
            .login(&format!("guess{n}@example.com"), "guessed-password")
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let next = app
        .browser_behind_proxy("10.0.99.1, 198.51.100.7")
        .login(&user.email, &user.password)
        .await;

    // Assert
    assert_eq!(next.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'login_failed' AND ip = '198.51.100.7'"
        )
        .await,
        20,
        "the audit log names the address the proxy saw"
    );
    assert_redirects_to(
        &app.browser_behind_proxy("198.51.100.8")
            .login(&user.email, &user.password)
            .await,
        "/investor",
    );
}

#[tokio::test]
async fn behind_a_proxy_a_client_cannot_get_someone_elses_address_throttled() {
    // Arrange
    let app = spawn_app_with(&[("TRUST_PROXY_HEADERS", "true")]).await;
    let user = TestUser::new(Role::Investor);
    register_elsewhere(&app, &user).await;

    // Act: 21 failures from 198.51.100.7, each claiming to be 203.0.113.9.
    for n in 0..21 {
        app.browser_behind_proxy("203.0.113.9, 198.51.100.7")
            .login(&format!("guess{n}@example.com"), "guessed-password")
            .await;
    }

    // Assert: the real 203.0.113.9 signs in; the sender is the one refused.
    assert_redirects_to(
        &app.browser_behind_proxy("203.0.113.9")
            .login(&user.email, &user.password)
            .await,
        "/investor",
    );
    assert_eq!(
        app.browser_behind_proxy("198.51.100.7")
            .login(&user.email, &user.password)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn behind_a_proxy_bytes_that_are_not_text_do_not_hide_the_address_the_proxy_added() {
    let app = spawn_app_with(&[("TRUST_PROXY_HEADERS", "true")]).await;
    let browser = app.browser();
    let token = browser.csrf_token("/login").await;

    browser
        .client
        .post(browser.url("/login"))
        .header(
            "x-forwarded-for",
            reqwest::header::HeaderValue::from_bytes(b"\xff\xfe, 198.51.100.7").unwrap(),
        )
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", "someone@example.com"),
            ("password", "guessed-password"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'login_failed' AND ip = '198.51.100.7'"
        )
        .await,
        1,
        "counted under the client's address, not the proxy's"
    );
}

#[tokio::test]
async fn behind_two_proxies_the_client_is_the_second_address_from_the_right() {
    let app = spawn_app_with(&[("TRUST_PROXY_HEADERS", "true"), ("TRUSTED_PROXY_HOPS", "2")]).await;

    // A CDN appends the client's address, then the load balancer the CDN's.
    for n in 0..20 {
        app.browser_behind_proxy(&format!("203.0.113.{n}, 198.51.100.7, 192.0.2.{n}"))
            .login(&format!("guess{n}@example.com"), "guessed-password")
            .await;
    }

    assert_eq!(
        app.browser_behind_proxy("203.0.113.50, 198.51.100.7, 192.0.2.1")
            .login("someone@example.com", "guessed-password")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        app.browser_behind_proxy("198.51.100.8, 192.0.2.1")
            .login("someone@example.com", "guessed-password")
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn without_trusting_proxy_headers_the_forwarded_address_is_ignored() {
    let app = spawn_app().await;

    app.browser_behind_proxy("203.0.113.9")
        .login("someone@example.com", "guessed-password")
        .await;

    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'login_failed' AND ip = '127.0.0.1'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_idle_session_ends_after_thirty_minutes() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in(Role::Borrower).await;

    app.clock.advance(TimeDelta::minutes(29));
    assert_eq!(
        browser.get("/borrower").await.status(),
        StatusCode::OK,
        "activity keeps it alive"
    );
    app.clock.advance(TimeDelta::minutes(29));
    assert_eq!(browser.get("/borrower").await.status(), StatusCode::OK);

    app.clock.advance(TimeDelta::minutes(31));
    assert_redirects_to(&browser.get("/borrower").await, "/login?next=%2Fborrower");
}

#[tokio::test]
async fn a_session_ended_on_another_instance_stops_working_here_within_seconds() {
    let app = spawn_app().await;
    let (browser, user) = app.signed_in(Role::Investor).await;
    assert_eq!(browser.get("/investor").await.status(), StatusCode::OK);

    // Another instance ends it (a logout there, a password change there):
    // the row goes; this instance still holds the copy it read.
    let account = app.user(&user.email).await;
    let ended = sessions::Entity::delete_many()
        .filter(sessions::Column::UserId.eq(account.id))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(ended.rows_affected, 1);
    app.clock.advance(REVALIDATE_AFTER);

    assert_redirects_to(&browser.get("/investor").await, "/login?next=%2Finvestor");
}

#[tokio::test]
async fn changing_the_password_signs_out_every_other_session() {
    let app = spawn_app().await;
    let (laptop, user) = app.signed_in(Role::Investor).await;
    let phone = app.browser();
    phone.login(&user.email, &user.password).await;
    let new_password = "a-brand-new-long-password";

    let wrong = laptop
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", "not-my-password"),
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&wrong.text().await.unwrap(), "current_password").is_some());

    let response = laptop
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", &user.password),
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
        )
        .await;

    assert_redirects_to(&response, "/investor");
    assert!(
        laptop
            .get_html("/investor")
            .await
            .contains("Your password has been changed")
    );
    assert_redirects_to(&phone.get("/investor").await, "/login?next=%2Finvestor");
    assert_eq!(
        app.browser()
            .login(&user.email, &user.password)
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_redirects_to(
        &app.browser().login(&user.email, new_password).await,
        "/investor",
    );
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes() {
    let app = spawn_app().await;
    let (_, user) = app.signed_in(Role::Investor).await;
    let stored: Vec<String> = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        crowdlend::db::entities::users::Entity::find()
            .filter(crowdlend::db::entities::users::Column::Email.eq(user.email.clone()))
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.password_hash)
            .collect()
    };
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0].starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        stored[0]
    );
    assert!(!stored[0].contains(&user.password));
}

#[tokio::test]
async fn passwords_and_session_cookies_never_reach_the_logs() {
    let app = spawn_app().await;
    let user = TestUser::new(Role::Borrower);
    let browser = app.browser();
    browser.register(&user).await;
    browser.logout("/borrower").await;
    let response = browser.login(&user.email, &user.password).await;
    let cookie = Browser::session_cookie(&response).unwrap();
    app.browser()
        .login(&user.email, "a-wrong-password-attempt")
        .await;
    let token = browser.csrf_token("/borrower").await;

    let logs = captured_logs();
    assert!(logs.contains("route=/login"), "requests are logged");
    for secret in [
        user.password.as_str(),
        "a-wrong-password-attempt",
        cookie.as_str(),
        token.as_str(),
    ] {
        assert!(!logs.contains(secret), "a secret leaked into the logs");
    }
}

#[tokio::test]
async fn sign_ins_and_failures_are_audited_with_the_address() {
    let app = spawn_app().await;
    let user = TestUser::new(Role::Investor);
    app.browser().register(&user).await;
    app.browser()
        .login(&user.email, "wrong-password-here")
        .await;
    app.browser().login(&user.email, &user.password).await;

    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'user_registered'")
            .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'login_failed' AND ip = '127.0.0.1'"
        )
        .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'login_succeeded' AND ip = '127.0.0.1'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn over_https_the_session_and_form_cookies_are_secure_and_host_prefixed() {
    let app = spawn_app_with(&[("BASE_URL", "https://lend.example")]).await;
    let user = TestUser::new(Role::Investor);
    app.create_account(&user).await;
    let browser = app.browser();
    let form = browser.get("/login").await;
    assert!(
        form.headers().get("strict-transport-security").is_some(),
        "HSTS over https"
    );
    let form_cookie = set_cookie(&form, "__Host-crowdlend_csrf").expect("a __Host- form cookie");
    let token = crate::helpers::csrf_token_in(&form.text().await.unwrap());
    let response = browser
        .client
        .post(browser.url("/login"))
        .header(
            "Cookie",
            form_cookie.split(';').next().unwrap_or_default().to_owned(),
        )
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", user.email.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = set_cookie(&response, "__Host-crowdlend").expect("a __Host- session cookie");
    for cookie in [form_cookie, session] {
        assert!(cookie.contains("Secure"), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
    }
}
