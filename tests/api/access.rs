//! Who may open which area, and where sign-in sends people back to.

use crowdlend::domain::user::Role;
use reqwest::StatusCode;

use crate::helpers::{TestUser, assert_redirects_to, field_error, spawn_app};

const AREAS: [&str; 8] = [
    "/borrower",
    "/investor",
    "/wallet",
    "/admin",
    "/admin/users",
    "/admin/jobs",
    "/account/password",
    "/account/identity",
];

fn allowed(role: Role, area: &str) -> bool {
    match area {
        "/borrower" => role == Role::Borrower,
        "/investor" => role == Role::Investor,
        "/wallet" => matches!(role, Role::Borrower | Role::Investor),
        "/admin" => role.is_staff(),
        "/admin/users" | "/admin/jobs" => role.is_staff(),
        "/account/password" => true,
        "/account/identity" => matches!(role, Role::Borrower | Role::Investor),
        other => panic!("unknown area {other}"),
    }
}

#[tokio::test]
async fn each_role_reaches_its_own_areas_and_gets_403_elsewhere() {
    let app = spawn_app().await;
    for role in Role::ALL {
        let (browser, _) = app.signed_in(role).await;
        for area in AREAS {
            let response = browser.get(area).await;
            let expected = if allowed(role, area) {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(response.status(), expected, "{role} on {area}");
            if expected == StatusCode::FORBIDDEN {
                let html = response.text().await.unwrap();
                assert!(html.contains("Access denied"), "a rendered 403 page");
            }
        }
    }
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_sign_in_and_back() {
    let app = spawn_app().await;
    let browser = app.browser();
    for area in AREAS {
        let encoded: String = url::form_urlencoded::byte_serialize(area.as_bytes()).collect();
        assert_redirects_to(&browser.get(area).await, &format!("/login?next={encoded}"));
    }
    let user = TestUser::new(Role::Investor);
    app.browser().register(&user).await;

    let login_page = browser.get_html("/login?next=%2Fwallet").await;
    assert!(login_page.contains(r#"name="next" value="/wallet""#));
    let response = browser
        .submit(
            "/login?next=%2Fwallet",
            "/login",
            &[
                ("email", &user.email),
                ("password", &user.password),
                ("next", "/wallet"),
            ],
        )
        .await;
    assert_redirects_to(&response, "/wallet");
}

#[tokio::test]
async fn an_external_next_address_is_ignored() {
    let app = spawn_app().await;
    let user = TestUser::new(Role::Borrower);
    app.browser().register(&user).await;
    for evil in [
        "https://evil.example/phish",
        "//evil.example",
        "/\\evil.example",
    ] {
        let browser = app.browser();
        let response = browser
            .submit(
                "/login",
                "/login",
                &[
                    ("email", &user.email),
                    ("password", &user.password),
                    ("next", evil),
                ],
            )
            .await;
        assert_redirects_to(&response, "/borrower");
    }
}

#[tokio::test]
async fn an_admin_creates_staff_who_can_sign_in_but_not_create_staff() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let staff = TestUser::new(Role::Staff);

    let invalid = admin
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("email", "bad"),
                ("full_name", &staff.name),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = invalid.text().await.unwrap();
    assert!(field_error(&html, "email").is_some());
    assert!(field_error(&html, "password").is_some());

    let response = admin
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("email", &staff.email),
                ("full_name", &staff.name),
                ("password", &staff.password),
            ],
        )
        .await;
    assert_redirects_to(&response, "/admin/users?role=staff");
    let list = admin.get_html("/admin/users?role=staff").await;
    assert!(list.contains(&staff.email));
    assert!(list.contains(&format!("Staff account created for {}", staff.email)));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'user_created'")
            .await,
        2
    );

    let staff_browser = app.browser();
    assert_redirects_to(
        &staff_browser.login(&staff.email, &staff.password).await,
        "/admin",
    );
    let token = staff_browser.csrf_token("/admin").await;
    let response = staff_browser
        .post_raw(
            "/admin/users",
            &[
                ("csrf_token", &token),
                ("email", "another@example.com"),
                ("full_name", "Another"),
                ("password", "long-enough-password"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = 'another@example.com'")
            .await,
        0
    );
}

#[tokio::test]
async fn signed_in_people_are_sent_home_from_the_sign_in_and_registration_pages() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in(Role::Investor).await;
    assert_redirects_to(&browser.get("/login").await, "/investor");
    assert_redirects_to(&browser.get("/register").await, "/investor");
}
