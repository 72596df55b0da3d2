//! What the busiest pages ask of the database, counted: how many statements
//! each runs (both databases), that showing a page writes nothing, and on
//! PostgreSQL how many round trips each costs on the wire: one per
//! statement, no connection check before it, and a connection taken back
//! tested at most once a second (the patched sqlx-core in vendor/; upstream
//! pings every one). The marketplace's pages are kept for a second or
//! until this process commits: a view then runs no statement at all.

use crowdlend::{
    db::{self, entities::loan_requests, queries::marketplace::LISTINGS_FRESH_FOR},
    domain::ids::{LoanId, UserId},
    services::{
        RequestMeta,
        demo::{self, DEMO_PASSWORD},
        funding,
    },
};
use sea_orm::{DatabaseConnection, EntityTrait};

use crate::{
    helpers::{
        Browser, DbTraffic, TestApp, assert_redirects_to, hrefs_at, set_cookie, spawn_app_counting,
    },
    pg_wire::RoundTrips,
};

/// An app with the demo data, its statements counted.
async fn demo_app_counting() -> (TestApp, DbTraffic) {
    let (app, traffic) = spawn_app_counting().await;
    assert!(
        demo::seed(&app.db, &app.clock, &app.base_url())
            .await
            .unwrap()
    );
    (app, traffic)
}

/// What one page view cost.
#[derive(Debug)]
struct PageCost {
    statements: Vec<String>,
    wire: Option<RoundTrips>,
}

/// Waits until every pooled connection is back (sqlx takes each one back in
/// a task of its own, after the answer was sent).
async fn settle(db: &DatabaseConnection) {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    let pool = db.get_postgres_connection_pool();
    for _ in 0..1000 {
        if pool.num_idle() == usize::try_from(pool.size()).unwrap() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the pool's connections did not come back");
}

async fn cost_of(
    browser: &Browser,
    db: &DatabaseConnection,
    traffic: &DbTraffic,
    path: &str,
) -> PageCost {
    settle(db).await;
    let statements_before = traffic.statements().len();
    let wire_before = traffic.wire.as_ref().map(|wire| wire.counts());
    let response = browser.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    settle(db).await;
    PageCost {
        statements: traffic.statements()[statements_before..].to_vec(),
        wire: traffic
            .wire
            .as_ref()
            .zip(wire_before)
            .map(|(wire, before)| wire.counts().since(&before)),
    }
}

/// The cost of the second of two views of `path` with no commit in this
/// process across both: the other tests of the suite run in it too, and any
/// commit makes the marketplace read its page again.
async fn cost_between_commits(
    browser: &Browser,
    db: &DatabaseConnection,
    traffic: &DbTraffic,
    path: &str,
) -> PageCost {
    for _ in 0..100 {
        let commits = db::commits();
        cost_of(browser, db, traffic, path).await;
        let cost = cost_of(browser, db, traffic, path).await;
        if db::commits() == commits {
            return cost;
        }
    }
    panic!("GET {path}: a commit landed beside each of 100 pairs of views");
}

fn assert_cost(cost: &PageCost, path: &str, statements: usize) {
    assert_eq!(
        cost.statements.len(),
        statements,
        "GET {path} ran {:#?}",
        cost.statements
    );
    for sql in &cost.statements {
        let verb = sql.split_whitespace().next().unwrap_or("");
        assert!(
            !["INSERT", "UPDATE", "DELETE"].contains(&verb.to_uppercase().as_str()),
            "GET {path} wrote: {sql}"
        );
    }
    if let Some(wire) = cost.wire {
        // Statements prepared on a connection new to them cost one more
        // round trip each; every other trip is the statement itself.
        assert_eq!(wire.executes, statements, "GET {path}: {wire:?}");
        assert!(
            wire.pings <= statements,
            "GET {path}: at most the check of a connection taken back: {wire:?}"
        );
        // A connection the pool opens meanwhile (while the one just taken
        // back has its once-a-second check) sets the tests' search path
        // with one simple query; nothing else goes that way.
        assert!(
            wire.simple_queries <= wire.connections,
            "GET {path}: {wire:?}"
        );
    }
}

#[tokio::test]
async fn busy_pages_run_few_statements_one_round_trip_each_and_write_nothing() {
    let (app, traffic) = demo_app_counting().await;

    let visitor = app.browser();
    let investor = app.browser();
    let response = investor.login("investor@demo.local", DEMO_PASSWORD).await;
    assert_redirects_to(&response, "/investor");

    // name, who, statements: the first view of each page prepares its
    // statements; the counted view is the next one.
    let pages: [(&str, &Browser, usize); 5] = [
        ("/healthz", &visitor, 1),
        ("/marketplace", &visitor, 0),
        ("/login", &visitor, 0),
        ("/investor", &investor, 1),
        ("/wallet", &investor, 1),
    ];
    for (path, browser, _) in pages {
        cost_of(browser, &app.db, &traffic, path).await;
    }
    for (path, browser, statements) in pages {
        let cost = cost_between_commits(browser, &app.db, &traffic, path).await;
        assert_cost(&cost, path, statements);
        if path != "/healthz" {
            assert!(
                cost.statements.iter().all(|sql| !sql.contains("sessions")),
                "GET {path} read the session from the table: {:#?}",
                cost.statements
            );
        }
    }
}

fn listed_ids(html: &str) -> Vec<String> {
    hrefs_at(html, "#listings a[href^='/marketplace/']")
        .iter()
        .map(|href| href.trim_start_matches("/marketplace/").to_owned())
        .collect()
}

async fn marketplace(
    app: &TestApp,
    browser: &Browser,
    traffic: &DbTraffic,
) -> (Vec<String>, usize) {
    settle(&app.db).await;
    let before = traffic.statements().len();
    let html = browser.get_html("/marketplace").await;
    (listed_ids(&html), traffic.statements().len() - before)
}

#[tokio::test]
async fn the_marketplace_is_read_again_after_a_commit_here_or_a_second() {
    let (app, traffic) = demo_app_counting().await;
    let visitor = app.browser();
    let (listed, statements) = marketplace(&app, &visitor, &traffic).await;
    assert_eq!(statements, 1);
    assert!(!listed.is_empty(), "the demo lists loans");
    assert_eq!(
        cost_between_commits(&visitor, &app.db, &traffic, "/marketplace")
            .await
            .statements,
        [] as [String; 0],
        "the page kept from the view before"
    );

    // The first loan's borrower withdraws it: a commit on this instance.
    let leaving: uuid::Uuid = listed[0].parse().unwrap();
    let borrower = loan_requests::Entity::find_by_id(leaving)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .borrower_id;
    funding::withdraw(
        &app.db,
        &app.clock,
        UserId::from_uuid(borrower),
        LoanId::from_uuid(leaving),
        &app.base_url(),
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    let (after_commit, statements) = marketplace(&app, &visitor, &traffic).await;
    assert_eq!(statements, 1, "read again after the commit");
    assert!(!after_commit.contains(&listed[0]), "{after_commit:?}");

    // Another instance's change shows once the kept page is a second old.
    app.clock.advance(LISTINGS_FRESH_FOR);
    let (_, statements) = marketplace(&app, &visitor, &traffic).await;
    assert_eq!(statements, 1, "read again a second later");
}

#[tokio::test]
async fn the_sign_in_form_stores_nothing_and_its_token_signs_in() {
    let (app, traffic) = demo_app_counting().await;
    let sessions_before = app.count("SELECT COUNT(*) FROM sessions").await;
    let visitor = app.browser();

    let before = traffic.statements().len();
    let response = visitor.get("/login").await;
    assert_eq!(response.status(), 200);
    assert!(
        set_cookie(&response, "crowdlend_session").is_none(),
        "no session for a visitor who has not signed in"
    );
    assert!(set_cookie(&response, "crowdlend_csrf").is_some());
    assert_eq!(traffic.statements()[before..], [] as [String; 0]);
    let response = visitor.get("/register").await;
    assert_eq!(response.status(), 200);
    assert_eq!(traffic.statements()[before..], [] as [String; 0]);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions").await,
        sessions_before
    );

    let response = visitor.login("investor@demo.local", DEMO_PASSWORD).await;
    assert_redirects_to(&response, "/investor");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions").await,
        sessions_before + 1,
        "one session, made at sign-in"
    );
}

#[tokio::test]
async fn connections_taken_back_are_tested_at_most_once_a_second() {
    let (app, traffic) = spawn_app_counting().await;
    let Some(wire) = traffic.wire.as_ref() else {
        return; // SQLite: no wire to count on
    };
    let visitor = app.browser();
    cost_of(&visitor, &app.db, &traffic, "/healthz").await;
    let started = std::time::Instant::now();
    let before = wire.counts();
    let views = 40;
    for _ in 0..views {
        cost_of(&visitor, &app.db, &traffic, "/healthz").await;
    }
    let spent = wire.counts().since(&before);
    let seconds = usize::try_from(started.elapsed().as_secs()).unwrap();
    let connections = usize::try_from(app.db.get_postgres_connection_pool().size()).unwrap();
    assert_eq!(spent.executes, views, "{spent:?}");
    assert!(
        spent.pings <= connections * (seconds + 1),
        "{} pings for {views} views over {seconds} s on {connections} connections",
        spent.pings
    );
}
