//! Auto-invest: a rule previewed, saved off and switched on; loans offered
//! to the rules at listing and by the job; instant allocation all or
//! nothing; the limits a rule keeps (reserve, cap, yearly limit) named on
//! its page; fairness between equal rules; allocations racing; who may see
//! a rule.

use std::collections::BTreeMap;

use crowdlend::{
    db::entities::{auto_invest_decisions, auto_invest_rules, investments},
    domain::{
        application::Purpose,
        ids::{LoanId, UserId},
        user::Role,
    },
    services::{
        RequestMeta,
        auto_invest::{self, Mode},
        settings,
    },
};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    applications::{apply, approval, borrower_with_profile, decision, set_kyc},
    helpers::{
        Browser, TestApp, assert_redirects_to, field_error, spawn_app,
        spawn_app_without_money_limit, text_at,
    },
    investing::{assert_verified, emails_of_kind, loan, ready_investor, wallet_of},
    marketplace::listed_loan,
};

/// A rule's form fields for `max_per_loan` roubles a loan, reinvesting,
/// with `extra` criteria.
fn rule_query(max_per_loan: &str, extra: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("max_per_loan", max_per_loan);
    for (key, value) in extra {
        query.append_pair(key, value);
    }
    query.finish()
}

/// Previews the rule, then saves it from the preview's form (ticking
/// `active` when `on`); returns the rule's id.
async fn set_rule(
    investor: &Browser,
    max_per_loan: &str,
    extra: &[(&str, &str)],
    on: bool,
) -> String {
    let query = rule_query(max_per_loan, extra);
    let page = investor
        .get_html(&format!("/investor/auto-invest?{query}"))
        .await;
    assert!(text_at(&page, "#preview").is_some(), "no preview: {page}");
    let token = crate::helpers::csrf_token_in(&page);
    let mut fields: Vec<(&str, &str)> =
        vec![("csrf_token", &token), ("max_per_loan", max_per_loan)];
    fields.extend_from_slice(extra);
    if on {
        fields.push(("active", "on"));
    }
    let response = investor.post_raw("/investor/auto-invest", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    location
        .strip_prefix("/investor/auto-invest/")
        .expect("redirect to the rule")
        .to_owned()
}

/// Sets up and switches on a wide-open rule of `max_per_loan` a loan.
pub async fn switched_on_rule(investor: &Browser, max_per_loan: &str) -> String {
    set_rule(investor, max_per_loan, &[("reinvest", "on")], true).await
}

async fn auto_investments(app: &TestApp, loan_id: &str) -> Vec<investments::Model> {
    investments::Entity::find()
        .filter(investments::Column::LoanId.eq(Uuid::parse_str(loan_id).unwrap()))
        .filter(investments::Column::Source.eq("auto"))
        .all(&app.db)
        .await
        .unwrap()
}

async fn set(app: &TestApp, admin: Uuid, pairs: &[(&str, &str)]) {
    let submitted: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    settings::update(
        &app.db,
        &app.clock,
        UserId::from_uuid(admin),
        &submitted,
        &RequestMeta::default(),
    )
    .await
    .unwrap();
}

async fn admin_id(app: &TestApp) -> Uuid {
    let (_, admin) = app.signed_in(Role::Admin).await;
    app.user(&admin.email).await.id
}

/// Offers a loan listed through the service (as the staff's approval does
/// through the page) to the rules.
async fn offer(app: &TestApp, loan_id: &str) -> auto_invest::Allocated {
    auto_invest::offer_listed(
        &app.db,
        &app.clock,
        LoanId::from_uuid(Uuid::parse_str(loan_id).unwrap()),
        &app.base_url(),
    )
    .await
}

#[tokio::test]
async fn a_rule_is_previewed_saved_off_switched_on_and_invests_in_loans_staff_list() {
    let app = spawn_app().await;
    let open_now = listed_loan(&app, 100_000, 12, Purpose::Car, 0).await;
    let (investor, _, investor_id) = ready_investor(&app, "Irina Volkova", 50_000, true).await;

    // An empty page first, then the preview against the loan open now.
    let page = investor.get_html("/investor/auto-invest").await;
    assert!(text_at(&page, "#no-rules").is_some());
    let query = rule_query(
        "5000",
        &[("grades", "A"), ("grades", "B"), ("reinvest", "on")],
    );
    let page = investor
        .get_html(&format!("/investor/auto-invest?{query}"))
        .await;
    let now = text_at(&page, "#preview-now").unwrap();
    assert!(now.contains("5\u{a0}000,00"), "{now}");
    assert_eq!(text_at(&page, "#preview-now .invested-in").unwrap(), "1");
    assert_eq!(text_at(&page, "#preview-past .matched").unwrap(), "1");
    assert_eq!(
        text_at(&page, "#preview-now .idle").unwrap(),
        "45\u{a0}000,00\u{a0}₽"
    );
    // The switch is not ticked for the investor.
    assert!(!page.contains(r#"name="active" value="on" checked"#));

    // Saved without ticking it: off, and nothing is invested.
    let rule_id = set_rule(
        &investor,
        "5000",
        &[("grades", "A"), ("grades", "B"), ("reinvest", "on")],
        false,
    )
    .await;
    let page = investor
        .get_html(&format!("/investor/auto-invest/{rule_id}"))
        .await;
    assert_eq!(text_at(&page, "#rule-state").unwrap(), "Off");
    let report = auto_invest::run(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap();
    assert_eq!(report.investments, 0);
    assert!(auto_investments(&app, &open_now).await.is_empty());

    // Switched on: the job invests in the loan open now.
    let token = crate::helpers::csrf_token_in(&page);
    let response = investor
        .post_raw(
            &format!("/investor/auto-invest/{rule_id}/switch"),
            &[("csrf_token", &token), ("active", "on")],
        )
        .await;
    assert_redirects_to(&response, &format!("/investor/auto-invest/{rule_id}"));
    let report = auto_invest::run(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap();
    assert_eq!((report.investments, report.amount), (1, 500_000));
    let made = auto_investments(&app, &open_now).await;
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].amount, 500_000);
    assert_eq!(made[0].investor_id, investor_id);
    // A second pass finds the rule in the loan already.
    let again = auto_invest::run(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap();
    assert_eq!(again.investments, 0);

    // A loan staff approve on the page is offered to the rule at once.
    let (borrower, user) = borrower_with_profile(&app).await;
    set_kyc(&app, &user.email, "verified").await;
    let id = apply(&borrower, "200000", "12").await;
    let (staff, _) = app.signed_in(Role::Staff).await;
    let response = decision(&staff, &id, &approval("A", "200000", "12", "14", "Fine.")).await;
    assert_redirects_to(&response, &format!("/admin/applications/{id}"));
    let page = staff.get_html(&format!("/admin/applications/{id}")).await;
    assert!(
        page.contains("auto-invest rules invested 5\u{a0}000,00"),
        "{page}"
    );
    assert_eq!(auto_investments(&app, &id).await.len(), 1);
    assert_eq!(loan(&app, &id).await.funded_amount, 500_000);
    assert_eq!(wallet_of(&app, investor_id).await, (5_000_000, 1_000_000));

    // The rule's page lists both, and the investor is told by email.
    let page = investor
        .get_html(&format!("/investor/auto-invest/{rule_id}"))
        .await;
    let invested = text_at(&page, "#invested").unwrap();
    assert_eq!(invested.matches("5\u{a0}000,00").count(), 2, "{invested}");
    assert_eq!(
        text_at(&page, "#outstanding").unwrap(),
        "10\u{a0}000,00\u{a0}₽"
    );
    let told = emails_of_kind(&app, "investment_confirmed").await;
    assert_eq!(told.len(), 2);
    assert!(told.iter().all(|e| e.subject.contains("auto-invest rule")));
    let list = investor.get_html("/investor/auto-invest").await;
    assert!(text_at(&list, "#rules").unwrap().contains("grades A, B"));
    assert_verified(&app).await;
}

type FormCase = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
);

#[tokio::test]
async fn a_bad_rule_gets_a_message_next_to_the_field_and_nothing_is_saved() {
    let app = spawn_app().await;
    let (investor, _, _) = ready_investor(&app, "Pavel Orlov", 10_000, true).await;
    // (the field, the form's fields, what its message says)
    let cases: [FormCase; 7] = [
        ("max_per_loan", vec![("max_per_loan", "")], "Enter the most"),
        (
            "max_per_loan",
            vec![("max_per_loan", "500")],
            "minimum ticket",
        ),
        ("max_per_loan", vec![("max_per_loan", "1e3")], ""),
        (
            "grades",
            vec![("max_per_loan", "5000"), ("grades", "Z")],
            "A to F",
        ),
        (
            "min_rate",
            vec![("max_per_loan", "5000"), ("min_rate", "lots")],
            "percent",
        ),
        (
            "max_loan_amount",
            vec![
                ("max_per_loan", "5000"),
                ("min_loan_amount", "50000"),
                ("max_loan_amount", "40000"),
            ],
            "below the smallest",
        ),
        (
            "exposure_cap",
            vec![("max_per_loan", "5000")],
            "needs a cap",
        ),
    ];
    for (field, fields, says) in cases {
        let query = {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &fields {
                q.append_pair(k, v);
            }
            q.finish()
        };
        let response = investor
            .get(&format!("/investor/auto-invest?{query}"))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        let page = response.text().await.unwrap();
        let message = field_error(&page, field).unwrap_or_else(|| panic!("{field}: {page}"));
        assert!(message.contains(says), "{field}: {message}");
        assert!(text_at(&page, "#preview").is_none());
        // Posted anyway, it is refused the same way.
        let token = investor.csrf_token("/investor/auto-invest").await;
        let mut posted = vec![("csrf_token", token.as_str())];
        posted.extend(fields.iter().copied());
        let response = investor.post_raw("/investor/auto-invest", &posted).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
    }
    // A field sent twice that is not a group of boxes is a 400.
    let response = investor
        .get("/investor/auto-invest?max_per_loan=5000&max_per_loan=9000")
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = investor
        .get("/investor/auto-invest?max_per_loan=5000&owner=someone")
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.count("SELECT COUNT(*) FROM auto_invest_rules").await, 0);
}

#[tokio::test]
async fn a_rule_is_its_owner_s_alone() {
    let app = spawn_app().await;
    let (owner, _, _) = ready_investor(&app, "Anna Belova", 10_000, true).await;
    let rule_id = set_rule(&owner, "2000", &[("reinvest", "on")], false).await;
    let (other, _, _) = ready_investor(&app, "Oleg Ivanov", 10_000, true).await;
    let path = format!("/investor/auto-invest/{rule_id}");
    assert_eq!(other.get(&path).await.status(), StatusCode::NOT_FOUND);
    let token = other.csrf_token("/investor/auto-invest").await;
    let response = other
        .post_raw(
            &format!("{path}/switch"),
            &[("csrf_token", &token), ("active", "on")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let list = other.get_html("/investor/auto-invest").await;
    assert!(text_at(&list, "#no-rules").is_some());
    let (borrower, _) = app.signed_in(Role::Borrower).await;
    assert_eq!(
        borrower.get("/investor/auto-invest").await.status(),
        StatusCode::FORBIDDEN
    );
    let rule = auto_invest_rules::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!rule.active);
}

#[tokio::test]
async fn instant_allocation_funds_a_listed_loan_whole_or_leaves_it_listed() {
    let app = spawn_app_without_money_limit().await;
    let admin = admin_id(&app).await;
    set(&app, admin, &[("auto_invest_instant", "true")]).await;
    let mut investors = Vec::new();
    for name in ["Vera Kim", "Lev Popov", "Ida Gross"] {
        let (browser, _, id) = ready_investor(&app, name, 100_000, true).await;
        set_rule(&browser, "5000", &[("reinvest", "on")], true).await;
        investors.push(id);
    }
    // 15 000 between them: a 15 000 loan is funded (and paid out) at once.
    let covered = listed_loan(&app, 15_000, 6, Purpose::Car, 0).await;
    let done = offer(&app, &covered).await;
    assert!(done.filled);
    assert_eq!(done.investments, 3);
    assert_eq!(loan(&app, &covered).await.status, "active");
    assert_eq!(loan(&app, &covered).await.funded_amount, 1_500_000);
    for id in &investors {
        assert_eq!(wallet_of(&app, *id).await, (9_500_000, 0));
    }
    assert!(emails_of_kind(&app, "loan_funded").await.len() >= 3);

    // A 20 000 loan they cannot cover is left listed, untouched.
    let uncovered = listed_loan(&app, 20_000, 6, Purpose::Car, 0).await;
    let done = offer(&app, &uncovered).await;
    assert_eq!(done.investments, 0);
    assert_eq!(loan(&app, &uncovered).await.status, "funding");
    assert_eq!(loan(&app, &uncovered).await.funded_amount, 0);
    assert!(auto_investments(&app, &uncovered).await.is_empty());
    // The job then shares it as usual: 5 000 each, listed for the rest.
    let report = auto_invest::run(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap();
    assert_eq!(report.investments, 3);
    assert_eq!(loan(&app, &uncovered).await.funded_amount, 1_500_000);
    assert_eq!(loan(&app, &uncovered).await.status, "funding");
    assert_verified(&app).await;
}

#[tokio::test]
async fn a_rule_keeps_its_reserve_cap_and_the_yearly_limit_and_says_why_it_passed_a_loan_over() {
    let app = spawn_app_without_money_limit().await;
    let admin = admin_id(&app).await;
    set(&app, admin, &[("invest_unqualified_annual_limit", "12000")]).await;
    // Unqualified: 12 000 a year in all.
    let (limited, _, limited_id) = ready_investor(&app, "Yana Limit", 100_000, false).await;
    let limited_rule = set_rule(&limited, "10000", &[("reinvest", "on")], true).await;
    // Keeps 10 000 of its 16 000.
    let (careful, _, careful_id) = ready_investor(&app, "Kirill Keep", 16_000, true).await;
    let careful_rule = set_rule(
        &careful,
        "5000",
        &[("cash_reserve", "10000"), ("reinvest", "on")],
        true,
    )
    .await;
    // At most 7 000 ever (no reinvesting).
    let (capped, _, capped_id) = ready_investor(&app, "Cap Budget", 100_000, true).await;
    let capped_rule = set_rule(&capped, "4000", &[("exposure_cap", "7000")], true).await;

    let first = listed_loan(&app, 100_000, 12, Purpose::Car, 0).await;
    offer(&app, &first).await;
    let second = listed_loan(&app, 100_000, 12, Purpose::Car, 0).await;
    offer(&app, &second).await;
    let third = listed_loan(&app, 100_000, 12, Purpose::Car, 0).await;
    offer(&app, &third).await;

    let by = |rows: &[investments::Model], who: Uuid| -> Vec<i64> {
        rows.iter()
            .filter(|r| r.investor_id == who)
            .map(|r| r.amount)
            .collect()
    };
    let (a, b, c) = (
        auto_investments(&app, &first).await,
        auto_investments(&app, &second).await,
        auto_investments(&app, &third).await,
    );
    // The yearly limit: 10 000, then the 2 000 left of it, then nothing.
    assert_eq!(by(&a, limited_id), [1_000_000]);
    assert_eq!(by(&b, limited_id), [200_000]);
    assert!(by(&c, limited_id).is_empty());
    // The reserve: 5 000, then the 1 000 above the reserve, then nothing.
    assert_eq!(by(&a, careful_id), [500_000]);
    assert_eq!(by(&b, careful_id), [100_000]);
    assert!(by(&c, careful_id).is_empty());
    assert_eq!(wallet_of(&app, careful_id).await, (1_600_000, 600_000));
    // The cap: 4 000, then 3 000, then nothing.
    assert_eq!(by(&a, capped_id), [400_000]);
    assert_eq!(by(&b, capped_id), [300_000]);
    assert!(by(&c, capped_id).is_empty());

    for (browser, rule, reason) in [
        (&limited, &limited_rule, "limit for unqualified investors"),
        (&careful, &careful_rule, "above the rule's reserve"),
        (&capped, &capped_rule, "exposure cap"),
    ] {
        let page = browser
            .get_html(&format!("/investor/auto-invest/{rule}"))
            .await;
        let passed = text_at(&page, "#passed").unwrap();
        assert!(passed.contains(reason), "{reason}: {passed}");
    }
    let skipped = auto_invest_decisions::Entity::find()
        .filter(auto_invest_decisions::Column::Reason.is_not_null())
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(skipped.len(), 3);
    assert_verified(&app).await;
}

#[tokio::test]
async fn equal_rules_share_many_loans_within_one_ticket_of_each_other() {
    let app = spawn_app_without_money_limit().await;
    let mut investors = Vec::new();
    for n in 0..4 {
        let (browser, _, id) =
            ready_investor(&app, &format!("Equal Rule{n}"), 1_000_000, true).await;
        set_rule(&browser, "3000", &[("reinvest", "on")], true).await;
        investors.push(id);
    }
    // Loans of three tickets and a piece, four tickets, or more than the
    // four rules may give (one ticket each): who gets a piece turns.
    for amount in [
        10_000, 12_000, 15_000, 21_000, 10_000, 13_000, 30_000, 11_000,
    ] {
        let id = listed_loan(&app, amount, 6, Purpose::Car, 0).await;
        offer(&app, &id).await;
    }
    let rules = auto_invest_rules::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    let placed: Vec<i64> = rules.iter().map(|r| r.placed_total).collect();
    let spread = placed.iter().max().unwrap() - placed.iter().min().unwrap();
    assert!(spread <= 300_000, "placed {placed:?}");
    assert_eq!(placed.iter().sum::<i64>(), 9_100_000);
    assert_verified(&app).await;
}

#[tokio::test]
async fn allocations_racing_for_one_loan_never_over_invest_and_a_rule_invests_once() {
    let app = spawn_app_without_money_limit().await;
    for n in 0..12 {
        let (browser, _, _) = ready_investor(&app, &format!("Racer Rule{n}"), 50_000, true).await;
        set_rule(&browser, "5000", &[("reinvest", "on")], true).await;
    }
    let loan_id = listed_loan(&app, 40_000, 6, Purpose::Car, 0).await;
    let id = LoanId::from_uuid(Uuid::parse_str(&loan_id).unwrap());
    let base = app.base_url();
    let passes = (0..6).map(|n| {
        let (db, clock, base) = (app.db.clone(), app.clock.clone(), base.clone());
        async move {
            if n % 2 == 0 {
                auto_invest::allocate_loan(&db, &clock, id, Mode::Share, &base)
                    .await
                    .map(|done| done.amount)
            } else {
                auto_invest::run(&db, &clock, &base)
                    .await
                    .map(|report| report.amount)
            }
        }
    });
    let placed: i64 = futures_util::future::join_all(passes)
        .await
        .into_iter()
        .map(|result| result.unwrap_or(0))
        .sum();
    assert_eq!(placed, 4_000_000);
    let made = auto_investments(&app, &loan_id).await;
    assert_eq!(made.iter().map(|r| r.amount).sum::<i64>(), 4_000_000);
    assert_eq!(made.len(), 8);
    let investors: std::collections::BTreeSet<Uuid> = made.iter().map(|r| r.investor_id).collect();
    assert_eq!(investors.len(), 8, "a rule invested twice");
    assert_eq!(loan(&app, &loan_id).await.funded_amount, 4_000_000);
    assert_verified(&app).await;
}
