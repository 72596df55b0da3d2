//! The marketplace: loans open for investment, filtered, sorted and cut into
//! pages by key; one loan's page with anonymised facts and a schedule.

use crowdlend::{
    clock::Clock,
    db::queries::marketplace::{Cursor, MarketFilter, MarketSort, listings_statement},
    domain::{
        application::{ListingMode, LoanRequest, Purpose},
        money::{Currency, Money, Rate},
        scoring::Grade,
        settings::Settings,
        user::Role,
    },
    services::{
        RequestMeta, applications, funding,
        review::{self, ApprovedTerms, Decision, Review},
    },
};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

use crate::{
    applications::{PROFILE, save_profile, set_kyc},
    helpers::{TestApp, TestUser, field_error, href_at, hrefs_at, spawn_app, text_at},
};

/// A borrower with the standard profile whose application staff approved
/// with these terms (the grade the scorecard gave, `rate_step` basis points
/// above its band's lowest rate). Returns the loan id.
pub async fn listed_loan(
    app: &TestApp,
    amount: i64,
    term: u32,
    purpose: Purpose,
    rate_step: u32,
) -> String {
    let user = TestUser::new(Role::Borrower);
    let browser = app.browser();
    browser.register(&user).await;
    listed_loan_for(app, &browser, &user, (amount, term, purpose, rate_step)).await
}

/// As [`listed_loan`], borrowed by `user`, registered in `browser`.
pub async fn listed_loan_for(
    app: &TestApp,
    browser: &crate::helpers::Browser,
    user: &TestUser,
    (amount, term, purpose, rate_step): (i64, u32, Purpose, u32),
) -> String {
    save_profile(browser, PROFILE).await;
    set_kyc(app, &user.email, "verified").await;
    let borrower = app.user(&user.email).await;
    let base = app.base_url();
    let meta = RequestMeta::default();
    let rub = |r: i64| Money::from_minor(r * 100, Currency::Rub).unwrap();
    let submitted = applications::submit(
        &app.db,
        &app.clock,
        crowdlend::domain::ids::UserId::from_uuid(borrower.id),
        &LoanRequest {
            amount: rub(amount),
            term_months: term,
            purpose,
            description: "A listed loan for the marketplace tests.".to_owned(),
            listing_mode: ListingMode::Fixed,
        },
        &base,
        &meta,
    )
    .await
    .unwrap();
    let staff = TestUser::new(Role::Staff);
    app.create_account(&staff).await;
    let staff_id = app.user(&staff.email).await.id;
    let grade = Grade::A;
    let band = *Settings::default().band(grade).unwrap();
    review::decide(
        &app.db,
        &app.clock,
        crowdlend::domain::ids::UserId::from_uuid(staff_id),
        submitted.loan_id,
        &Review {
            decision: Decision::Approve(ApprovedTerms {
                grade,
                amount: rub(amount),
                term_months: term,
                rate: Rate::from_bps(band.min_rate.bps() + rate_step).unwrap(),
            }),
            comment: "Listed for the marketplace tests.".to_owned(),
        },
        &base,
        &meta,
    )
    .await
    .unwrap();
    submitted.loan_id.to_string()
}

fn ids_on(html: &str) -> Vec<String> {
    hrefs_at(html, "#listings a[href^='/marketplace/']")
        .iter()
        .map(|href| href.trim_start_matches("/marketplace/").to_owned())
        .collect()
}

fn next_link(html: &str) -> Option<String> {
    href_at(html, "a[rel=next]")
}

#[tokio::test]
async fn an_empty_marketplace_says_so() {
    let app = spawn_app().await;
    let page = app.browser().get_html("/marketplace").await;
    assert!(
        text_at(&page, "#no-listings")
            .unwrap()
            .contains("No loans are open")
    );
    let page = app.browser().get_html("/marketplace?grade=A").await;
    assert!(
        text_at(&page, "#no-listings")
            .unwrap()
            .contains("No loan matches")
    );
}

#[tokio::test]
async fn filters_and_sorts_pick_and_order_the_open_loans() {
    let app = spawn_app().await;
    let cheap_car = listed_loan(&app, 100_000, 12, Purpose::Car, 0).await;
    let dear_business = listed_loan(&app, 400_000, 36, Purpose::Business, 300).await;
    let middle = listed_loan(&app, 250_000, 24, Purpose::Car, 150).await;
    // An application still in review is not on the marketplace.
    let (pending_borrower, _) = crate::applications::borrower_with_profile(&app).await;
    let pending = crate::applications::apply(&pending_borrower, "300000", "24").await;
    let visitor = app.browser();

    let all = ids_on(&visitor.get_html("/marketplace").await);
    assert_eq!(
        all,
        [dear_business.clone(), middle.clone(), cheap_car.clone()],
        "highest rate first"
    );
    assert!(!all.contains(&pending));
    let by_term = ids_on(&visitor.get_html("/marketplace?sort=term").await);
    assert_eq!(
        by_term,
        [cheap_car.clone(), middle.clone(), dear_business.clone()]
    );
    let by_amount = ids_on(&visitor.get_html("/marketplace?sort=amount").await);
    assert_eq!(
        by_amount,
        [cheap_car.clone(), middle.clone(), dear_business.clone()]
    );
    assert_eq!(
        ids_on(&visitor.get_html("/marketplace?sort=time_left").await).len(),
        3
    );
    assert_eq!(
        ids_on(&visitor.get_html("/marketplace?sort=funded").await).len(),
        3
    );

    let band = *Settings::default().band(Grade::A).unwrap();
    let min_rate = format!("{}", (band.min_rate.bps() + 100) / 100);
    let cases: Vec<(String, Vec<&String>)> = vec![
        ("purpose=business".to_owned(), vec![&dear_business]),
        ("max_term=24".to_owned(), vec![&middle, &cheap_car]),
        (
            format!("min_rate={min_rate}"),
            vec![&dear_business, &middle],
        ),
        (
            "min_amount=200000&max_amount=300000".to_owned(),
            vec![&middle],
        ),
        (
            "grade=A&purpose=car&sort=amount".to_owned(),
            vec![&cheap_car, &middle],
        ),
        ("grade=F".to_owned(), vec![]),
    ];
    for (query, expected) in cases {
        let found = ids_on(&visitor.get_html(&format!("/marketplace?{query}")).await);
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(found, expected, "{query}");
    }
}

#[tokio::test]
async fn pages_are_cut_by_key_so_a_loan_leaving_does_not_hide_another() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for n in 0..23 {
        ids.push(listed_loan(&app, 50_000 + n * 1_000, 12, Purpose::Other, 0).await);
    }
    let visitor = app.browser();
    let first = visitor.get_html("/marketplace?sort=amount").await;
    let first_ids = ids_on(&first);
    assert_eq!(first_ids.len(), 20);
    assert_eq!(first_ids, ids[..20]);
    // A loan on the first page leaves the marketplace before the visitor
    // turns the page (here its borrower withdraws it).
    let leaving: uuid::Uuid = first_ids[3].parse().unwrap();
    let borrower_id = {
        use sea_orm::EntityTrait;
        crowdlend::db::entities::loan_requests::Entity::find_by_id(leaving)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .borrower_id
    };
    funding::withdraw(
        &app.db,
        &app.clock,
        crowdlend::domain::ids::UserId::from_uuid(borrower_id),
        crowdlend::domain::ids::LoanId::from_uuid(leaving),
        &app.base_url(),
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    let next = next_link(&first).expect("a link to more loans");
    let second = ids_on(&visitor.get_html(&next).await);
    assert_eq!(second, ids[20..], "nothing skipped, nothing repeated");
    assert!(next_link(&visitor.get_html(&next).await).is_none());

    // All 22 left share one rate: the id breaks the tie, across pages too.
    let first = visitor.get_html("/marketplace").await;
    let mut seen = ids_on(&first);
    assert_eq!(seen.len(), 20);
    seen.extend(ids_on(&visitor.get_html(&next_link(&first).unwrap()).await));
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (22, 22));
    assert!(!seen.contains(&leaving.to_string()));
}

#[tokio::test]
async fn closing_soonest_pages_neither_repeat_nor_skip_when_clocks_have_nanoseconds() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for n in 0..22 {
        // Each approval a little later, with sub-microsecond digits.
        app.clock
            .advance(chrono::TimeDelta::nanoseconds(1_000_123_457));
        ids.push(listed_loan(&app, 50_000 + n * 1_000, 12, Purpose::Other, 0).await);
    }
    let visitor = app.browser();
    let first = visitor.get_html("/marketplace?sort=time_left").await;
    let mut seen = ids_on(&first);
    seen.extend(ids_on(
        &visitor
            .get_html(&next_link(&first).expect("a second page"))
            .await,
    ));
    assert_eq!(seen, ids, "earliest deadline first, each loan once");
}

/// `EXPLAIN QUERY PLAN` of `statement` on SQLite, its steps joined by "; ".
pub async fn sqlite_plan(app: &TestApp, statement: Statement) -> String {
    let explain = Statement::from_sql_and_values(
        DbBackend::Sqlite,
        format!("EXPLAIN QUERY PLAN {}", statement.sql),
        statement.values.map(|values| values.0).unwrap_or_default(),
    );
    // After a read on the same connection: a pooled connection may still
    // hold the schema from before the last migration, and EXPLAIN alone does
    // not check it (a query would, and prepare again).
    let txn = app.db.begin().await.unwrap();
    txn.query_one_raw(Statement::from_string(
        DbBackend::Sqlite,
        "SELECT count(*) FROM loan_requests",
    ))
    .await
    .unwrap();
    let rows = txn.query_all_raw(explain).await.unwrap();
    txn.commit().await.unwrap();
    rows.iter()
        .map(|row| row.try_get::<String>("", "detail").unwrap())
        .collect::<Vec<_>>()
        .join("; ")
}

/// SQLite as the server runs it has no planner statistics. A page must still
/// read its rows from the sort's index, starting at the cursor, and sort
/// nothing: the deadline filter once chose the deadline index instead, and
/// every open loan was sorted for each page.
#[tokio::test]
async fn marketplace_pages_read_the_sort_index_on_sqlite() {
    let app = spawn_app().await;
    if app.db.get_database_backend() != DbBackend::Sqlite {
        return; // PostgreSQL plans from statistics; its plans are in the README.
    }
    let cursor = Cursor {
        key: 1_500,
        id: crowdlend::domain::ids::LoanId::from_uuid(uuid::Uuid::nil()),
    };
    let grade_b = MarketFilter {
        grade: Some("B".to_owned()),
        ..MarketFilter::default()
    };
    for (sort, index) in [
        (MarketSort::Rate, "ix_loan_requests_status_rate_id"),
        (MarketSort::Term, "ix_loan_requests_status_term_id"),
        (MarketSort::Amount, "ix_loan_requests_status_amount_id"),
        (MarketSort::Funded, "ix_loan_requests_status_funded_id"),
    ] {
        for filter in [&MarketFilter::default(), &grade_b] {
            for after in [None, Some(cursor)] {
                let statement =
                    listings_statement(DbBackend::Sqlite, filter, sort, after, app.clock.now());
                let plan = sqlite_plan(&app, statement).await;
                let seek = if after.is_some() {
                    "(status=? AND " // the cursor is the index range
                } else {
                    "(status=?)"
                };
                assert!(
                    plan.contains(&format!("USING INDEX {index} {seek}"))
                        && !plan.contains("TEMP B-TREE"),
                    "{sort:?}, {filter:?}, after {after:?}: {plan}"
                );
            }
        }
    }
}

/// PostgreSQL plans the first page's statement once for all its runs: with
/// its status and page size bound it judged a plan made with each run's
/// values cheaper, and planned every view afresh (0.05 ms of planning for a
/// 0.02 ms run). Thousands of open loans with their statistics gathered, as
/// autovacuum would, and the statement run as pages run it, prepared on one
/// connection.
#[tokio::test]
async fn postgres_keeps_one_plan_for_the_marketplaces_first_page() {
    let app = spawn_app().await;
    if app.db.get_database_backend() != DbBackend::Postgres {
        return; // SQLite plans a statement once per connection anyway.
    }
    let listed = listed_loan(&app, 100_000, 12, Purpose::Car, 0).await;
    let txn = app.db.begin().await.unwrap();
    for sql in [
        format!(
            "CREATE TEMP TABLE copies ON COMMIT DROP AS SELECT l.* FROM loan_requests l, \
             generate_series(1, 5000) WHERE l.id = '{listed}'"
        ),
        "UPDATE copies SET id = gen_random_uuid(), \
         rate_annual = 1200 + (random() * 3800)::int, \
         funding_deadline = funding_deadline + random() * INTERVAL '10 days'"
            .to_owned(),
        "INSERT INTO loan_requests SELECT * FROM copies".to_owned(),
    ] {
        txn.execute_unprepared(&sql).await.unwrap();
    }
    txn.commit().await.unwrap();
    app.db
        .execute_unprepared("ANALYZE loan_requests")
        .await
        .unwrap();

    let statement = listings_statement(
        DbBackend::Postgres,
        &MarketFilter::default(),
        MarketSort::default(),
        None,
        app.clock.now(),
    );
    let txn = app.db.begin().await.unwrap();
    for _ in 0..8 {
        let rows = txn.query_all_raw(statement.clone()).await.unwrap();
        assert_eq!(rows.len(), 21);
    }
    let plans = txn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
            [statement.sql.clone().into()],
        ))
        .await
        .unwrap()
        .expect("the statement is prepared on the connection");
    let generic: i64 = plans.try_get_by_index(0).unwrap();
    let custom: i64 = plans.try_get_by_index(1).unwrap();
    txn.commit().await.unwrap();
    assert!(
        generic >= 3,
        "PostgreSQL planned {custom} of 8 runs afresh, reused a generic plan for {generic}"
    );
}

#[tokio::test]
async fn bad_criteria_get_a_message_and_a_422() {
    let app = spawn_app().await;
    let visitor = app.browser();
    for (query, field, message) in [
        ("grade=Z", "grade", "grade from A to F"),
        ("min_rate=lots", "min_rate", "rate such as"),
        ("max_term=0", "max_term", "1 to 360"),
        ("min_amount=-5", "min_amount", "negative"),
        ("purpose=yacht", "purpose", "purpose from the list"),
        ("sort=random", "sort", "order from the list"),
        ("after=garbage", "after", "damaged"),
        ("page=x", "page", "damaged"),
    ] {
        let response = visitor.get(&format!("/marketplace?{query}")).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        let html = response.text().await.unwrap();
        let shown = field_error(&html, field).unwrap_or_default();
        assert!(shown.contains(message), "{query}: {shown:?}");
    }
    let repeated = visitor.get("/marketplace?grade=A&grade=B").await;
    assert!(repeated.status().is_client_error());
    let unknown = visitor.get("/marketplace?status=repaid").await;
    assert!(unknown.status().is_client_error());
}

#[tokio::test]
async fn a_loans_page_shows_terms_anonymous_facts_and_the_schedule_for_an_amount() {
    let app = spawn_app().await;
    let id = listed_loan(&app, 300_000, 12, Purpose::HomeImprovement, 0).await;
    let visitor = app.browser();
    let page = visitor.get_html(&format!("/marketplace/{id}")).await;
    assert!(text_at(&page, "#funded").unwrap().contains("0 % funded"));
    assert!(
        text_at(&page, "#remaining")
            .unwrap()
            .contains("300\u{a0}000,00")
    );
    assert!(
        text_at(&page, "#time-left")
            .unwrap()
            .contains("14 days 0 hours left")
    );
    let facts = text_at(&page, "#borrower-facts").unwrap();
    assert!(
        facts.contains("150\u{a0}000,00\u{a0}₽ – 200\u{a0}000,00\u{a0}₽ a month"),
        "{facts}"
    );
    assert!(!page.contains("Северсталь"), "the employer is not shown");
    assert!(!page.contains("@example.com"), "nor the borrower's email");
    let rows = |html: &str| {
        scraper::Html::parse_document(html)
            .select(&scraper::Selector::parse("#schedule-rows tbody tr").unwrap())
            .count()
    };
    assert_eq!(
        rows(&page),
        12,
        "the minimum investment's schedule, a row a month"
    );
    let page = visitor
        .get_html(&format!("/marketplace/{id}?amount=5000"))
        .await;
    let total = text_at(&page, "#schedule-total").unwrap();
    assert!(total.starts_with("5\u{a0}"), "{total}");
    let bad = visitor.get(&format!("/marketplace/{id}?amount=abc")).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field_error(&bad.text().await.unwrap(), "amount")
            .unwrap()
            .contains("digits")
    );

    let (borrower, _) = crate::applications::borrower_with_profile(&app).await;
    let in_review = crate::applications::apply(&borrower, "300000", "24").await;
    for path in [
        format!("/marketplace/{in_review}"),
        "/marketplace/00000000-0000-0000-0000-000000000000".to_owned(),
        "/marketplace/not-a-uuid".to_owned(),
    ] {
        assert_eq!(
            visitor.get(&path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}
