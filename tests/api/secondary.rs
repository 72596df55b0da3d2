//! The secondary market's use cases (the pages come next): list part or all
//! of a stake, buy it, the price and the fee through the ledger, repayments
//! following the principal exactly, the refusals (band, leftover, own
//! listing, cash), fifty buyers racing for one listing, and listings of an
//! overdue loan withdrawn; `verify` after each.

use crowdlend::{
    db::entities::{distributions, investments, secondary_listings},
    domain::{
        application::Purpose,
        error::DomainError,
        ids::{InvestmentId, ListingId, UserId},
        money::TypedAmount,
        secondary::Markup,
    },
    error::AppError,
    jobs::due_payments,
    services::{
        idempotency::IdempotencyKey,
        secondary::{self, SaleRequest},
    },
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    helpers::{
        Browser, TestApp, assert_redirects_to, field_error, href_at, hrefs_at, input_value,
        spawn_app_without_money_limit, text_at,
    },
    investing::{assert_verified, invest, loan, platform_balance, ready_investor, wallet_of},
    marketplace::listed_loan,
};

fn key() -> IdempotencyKey {
    IdempotencyKey::parse(&IdempotencyKey::generate()).unwrap()
}

async fn stake_of(app: &TestApp, loan_id: &str, investor: Uuid) -> investments::Model {
    investments::Entity::find()
        .filter(investments::Column::LoanId.eq(Uuid::parse_str(loan_id).unwrap()))
        .filter(investments::Column::InvestorId.eq(investor))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

async fn sell(
    app: &TestApp,
    seller: Uuid,
    stake: Uuid,
    (roubles, markup_bps): (&str, i32),
) -> Result<ListingId, AppError> {
    secondary::list(
        &app.db,
        &app.clock,
        UserId::from_uuid(seller),
        &SaleRequest {
            investment_id: InvestmentId::from_uuid(stake),
            principal: TypedAmount::parse(roubles).unwrap(),
            markup: Markup::from_bps(markup_bps),
            key: key(),
        },
    )
    .await
}

async fn buy(
    app: &TestApp,
    buyer: Uuid,
    listing: ListingId,
) -> Result<secondary::Bought, AppError> {
    secondary::buy(
        &app.db,
        &app.clock,
        UserId::from_uuid(buyer),
        listing,
        &key(),
        &app.base_url(),
    )
    .await
}

/// A 20 000 loan of 12 months funded half each by two investors and paid
/// out. Returns the loan and the two investors' ids.
async fn repaying_loan(app: &TestApp) -> (String, Uuid, Uuid) {
    let (loan_id, (_, a_id), (_, b_id)) = repaying_loan_with_browsers(app).await;
    (loan_id, a_id, b_id)
}

/// As [`repaying_loan`], with the two investors' browsers.
pub async fn repaying_loan_with_browsers(
    app: &TestApp,
) -> (String, (Browser, Uuid), (Browser, Uuid)) {
    let loan_id = listed_loan(app, 20_000, 12, Purpose::Car, 0).await;
    let (a, _, a_id) = ready_investor(app, "Seller Anna", 50_000, true).await;
    let (b, _, b_id) = ready_investor(app, "Holder Boris", 50_000, true).await;
    invest(&a, &loan_id, "10000").await.investment_id();
    invest(&b, &loan_id, "10000").await.investment_id();
    assert_eq!(loan(app, &loan_id).await.status, "active");
    (loan_id, (a, a_id), (b, b_id))
}

/// Takes all of a user's available money out to a bank account.
async fn withdraw_everything(app: &TestApp, user: Uuid) {
    use crowdlend::{
        domain::money::{Currency, Money},
        services::{
            RequestMeta,
            wallet::{self, BankTransferRequest, Direction, NewBankAccount},
        },
    };
    let id = UserId::from_uuid(user);
    let account = wallet::add_bank_account(
        &app.db,
        &app.clock,
        id,
        NewBankAccount::parse("Late Payer", "Test Bank", "40817810000000000002").unwrap(),
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    let (balance, reserved) = wallet_of(app, user).await;
    wallet::transfer(
        &app.db,
        &app.clock,
        id,
        &BankTransferRequest {
            direction: Direction::Withdrawal,
            amount: Money::from_minor(balance - reserved, Currency::Rub).unwrap(),
            bank_account_id: account,
            key: key(),
        },
    )
    .await
    .unwrap();
    assert_eq!(wallet_of(app, user).await.0, reserved);
}

fn field_of(err: AppError) -> String {
    match err {
        AppError::Validation(errors) => errors.iter().map(|(f, _)| f.to_owned()).collect(),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[tokio::test]
async fn part_of_a_stake_is_sold_through_the_ledger_and_repayments_follow_the_principal() {
    let app = spawn_app_without_money_limit().await;
    let (loan_id, a_id, b_id) = repaying_loan(&app).await;
    let (_, _, c_id) = ready_investor(&app, "Buyer Clara", 50_000, true).await;
    let stake = stake_of(&app, &loan_id, a_id).await.id;

    // Outside the band, and a part that leaves less than a ticket: refused.
    assert_eq!(
        field_of(sell(&app, a_id, stake, ("4000", 600)).await.unwrap_err()),
        "markup_percent"
    );
    assert_eq!(
        field_of(sell(&app, a_id, stake, ("9500", 0)).await.unwrap_err()),
        "amount"
    );
    assert_eq!(
        field_of(sell(&app, a_id, stake, ("10001", 0)).await.unwrap_err()),
        "amount"
    );
    // 4 000 at +2 %: 4 080.
    let listing = sell(&app, a_id, stake, ("4000", 200)).await.unwrap();
    assert!(matches!(
        sell(&app, a_id, stake, ("2000", 0)).await,
        Err(AppError::Domain(DomainError::AlreadyListed))
    ));
    assert!(matches!(
        buy(&app, a_id, listing).await,
        Err(AppError::Domain(DomainError::OwnListing))
    ));
    let fees_before = platform_balance(&app, "fees").await;
    let bought = buy(&app, c_id, listing).await.unwrap();
    assert_eq!(bought.price.minor(), 408_000);
    assert_eq!(wallet_of(&app, c_id).await, (5_000_000 - 408_000, 0));
    // The seller receives the price less the 1 % fee (40,80).
    assert_eq!(
        wallet_of(&app, a_id).await,
        (4_000_000 + 408_000 - 4_080, 0)
    );
    assert_eq!(platform_balance(&app, "fees").await - fees_before, 4_080);
    let told = crate::investing::emails_of_kind(&app, "secondary_sale").await;
    assert_eq!(told.len(), 2);
    assert!(told.iter().any(|e| e.subject.starts_with("You sold 4")));
    assert!(told.iter().any(|e| e.subject.starts_with("You bought 4")));
    assert_eq!(stake_of(&app, &loan_id, a_id).await.amount, 600_000);
    let c_stake = stake_of(&app, &loan_id, c_id).await;
    assert_eq!(
        (
            c_stake.amount,
            c_stake.status.as_str(),
            c_stake.source.as_str()
        ),
        (400_000, "active", "secondary")
    );
    // Sold once: a second buyer is refused.
    assert!(matches!(
        buy(&app, b_id, listing).await,
        Err(AppError::Domain(DomainError::ListingClosed))
    ));
    assert_verified(&app).await;

    // The first installment: Anna and Clara together get what Boris gets.
    app.clock.advance(chrono::TimeDelta::days(31));
    due_payments::run(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap();
    let received = |who: Uuid| {
        let db = app.db.clone();
        async move {
            distributions::Entity::find()
                .filter(distributions::Column::InvestorId.eq(who))
                .all(&db)
                .await
                .unwrap()
                .iter()
                .fold((0, 0), |(p, i), d| (p + d.principal, i + d.interest))
        }
    };
    let (a, b, c) = (
        received(a_id).await,
        received(b_id).await,
        received(c_id).await,
    );
    assert!(b.0 > 0);
    assert!(
        (a.0 + c.0 - b.0).abs() <= 1,
        "principal {a:?} + {c:?} vs {b:?}"
    );
    assert!(
        (a.1 + c.1 - b.1).abs() <= 1,
        "interest {a:?} + {c:?} vs {b:?}"
    );
    assert!(
        (c.0 * 10 - b.0 * 4).abs() <= 10,
        "Clara holds 4/10 of Boris's share"
    );
    assert_verified(&app).await;
}

#[tokio::test]
async fn fifty_buyers_race_for_one_listing_one_wins_and_nobody_pays_twice() {
    let app = spawn_app_without_money_limit().await;
    let (loan_id, a_id, _) = repaying_loan(&app).await;
    let stake = stake_of(&app, &loan_id, a_id).await.id;
    // The whole stake, at a 5 % discount: 9 500.
    let listing = sell(&app, a_id, stake, ("10000", -500)).await.unwrap();
    let mut buyers = Vec::new();
    for n in 0..50 {
        let (_, _, id) = ready_investor(&app, &format!("Racing Buyer{n}"), 10_000, true).await;
        buyers.push(id);
    }
    let attempts = buyers.iter().map(|buyer| {
        let (db, clock, buyer, base) = (app.db.clone(), app.clock.clone(), *buyer, app.base_url());
        async move {
            secondary::buy(
                &db,
                &clock,
                UserId::from_uuid(buyer),
                listing,
                &key(),
                &base,
            )
            .await
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    let won: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(won.len(), 1, "{results:?}");
    for result in &results {
        if let Err(err) = result {
            assert!(
                matches!(
                    err,
                    AppError::Domain(DomainError::ListingClosed) | AppError::Conflict
                ),
                "{err:?}"
            );
        }
    }
    let winner = buyers[won[0]];
    let mut paid = 0;
    for buyer in &buyers {
        let (balance, _) = wallet_of(&app, *buyer).await;
        if *buyer == winner {
            assert_eq!(balance, 1_000_000 - 950_000);
        } else {
            assert_eq!(balance, 1_000_000);
        }
        paid += 1_000_000 - balance;
    }
    assert_eq!(paid, 950_000);
    // A whole sale hands the stake itself over; the listing keeps who sold it.
    let held = investments::Entity::find_by_id(stake)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((held.investor_id, held.amount), (winner, 1_000_000));
    let row = secondary_listings::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.seller_id, row.buyer_id, row.status.as_str()),
        (a_id, Some(winner), "sold")
    );
    assert_verified(&app).await;
}

#[tokio::test]
async fn listings_of_a_loan_that_falls_overdue_are_withdrawn_and_no_more_are_taken() {
    let app = spawn_app_without_money_limit().await;
    let (loan_id, a_id, b_id) = repaying_loan(&app).await;
    let (_, _, c_id) = ready_investor(&app, "Buyer Late", 50_000, true).await;
    let stake = stake_of(&app, &loan_id, b_id).await.id;
    let listing = sell(&app, b_id, stake, ("5000", 0)).await.unwrap();
    // The borrower's wallet is emptied: the first installment falls overdue.
    let borrower = loan(&app, &loan_id).await.borrower_id;
    withdraw_everything(&app, borrower).await;
    // The due-payments job marks it overdue and withdraws the listing.
    app.clock.advance(chrono::TimeDelta::days(31));
    let (_, summary) = crowdlend::jobs::run_named(
        crowdlend::jobs::JobName::DuePayments,
        &app.db,
        &app.clock,
        &app.base_url(),
        None,
    )
    .await
    .unwrap();
    assert!(
        summary.contains("1 secondary listing(s) withdrawn"),
        "{summary}"
    );
    assert!(matches!(
        buy(&app, c_id, listing).await,
        Err(AppError::Domain(DomainError::ListingClosed))
    ));
    let row = secondary_listings::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "withdrawn");
    let a_stake = stake_of(&app, &loan_id, a_id).await.id;
    assert_eq!(
        field_of(sell(&app, a_id, a_stake, ("5000", 0)).await.unwrap_err()),
        "amount"
    );
    assert_verified(&app).await;
}

#[tokio::test]
async fn an_investor_sells_part_of_a_stake_on_its_page_and_another_buys_it_from_the_market() {
    let app = spawn_app_without_money_limit().await;
    let (loan_id, (seller, a_id), _) = repaying_loan_with_browsers(&app).await;
    let (buyer, _, c_id) = ready_investor(&app, "Market Buyer", 50_000, true).await;
    let (poor, _, _) = ready_investor(&app, "Poor Buyer", 1_000, true).await;
    let stake = stake_of(&app, &loan_id, a_id).await.id;
    let page = seller
        .get_html(&format!("/investor/investments/{stake}"))
        .await;
    assert!(text_at(&page, "#sell").is_some());

    // A markup outside the band is refused next to it.
    let sell = format!("/investor/investments/{stake}/sell");
    let refused = seller
        .get(&format!("{sell}?amount=4000&markup_percent=6"))
        .await;
    assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&refused.text().await.unwrap(), "markup_percent").is_some());
    // The confirmation states the price and what the seller receives.
    let page = seller
        .get_html(&format!("{sell}?amount=4000&markup_percent=2"))
        .await;
    assert_eq!(
        text_at(&page, "#confirm-price").unwrap(),
        "4\u{a0}080,00\u{a0}₽"
    );
    assert_eq!(
        text_at(&page, "#confirm-proceeds").unwrap(),
        "4\u{a0}039,20\u{a0}₽"
    );
    let token = crate::helpers::csrf_token_in(&page);
    let fields = [
        ("csrf_token", token.as_str()),
        ("amount", &input_value(&page, "amount").unwrap()),
        (
            "markup_percent",
            &input_value(&page, "markup_percent").unwrap(),
        ),
        (
            "idempotency_key",
            &input_value(&page, "idempotency_key").unwrap(),
        ),
    ];
    let response = seller.post_raw(&sell, &fields).await;
    assert_redirects_to(&response, &format!("/investor/investments/{stake}"));
    let page = seller.get_html(&sell).await;
    assert!(text_at(&page, "#queue-place").unwrap().contains("place 1"));

    // Anyone sees it on the market; filters narrow it.
    let market = app.browser().get_html("/secondary").await;
    let listed = text_at(&market, "#listings").unwrap();
    assert!(listed.contains("4\u{a0}080,00"), "{listed}");
    let filtered = app.browser().get_html("/secondary?grade=F").await;
    assert!(text_at(&filtered, "#no-listings").is_some());
    let bad = app.browser().get("/secondary?max_markup=lots").await;
    assert_eq!(bad.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let listing = secondary_listings::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let buy = format!("/secondary/{listing}/buy");

    // The seller cannot buy it, a buyer without the money is told so, a
    // borrower cannot reach it.
    let (borrower, _) = app.signed_in(crowdlend::domain::user::Role::Borrower).await;
    assert_eq!(
        borrower.get(&buy).await.status(),
        reqwest::StatusCode::FORBIDDEN
    );
    for (who, says) in [(&seller, "your own listing"), (&poor, "less available")] {
        let page = who.get_html(&buy).await;
        let token = crate::helpers::csrf_token_in(&page);
        let key = input_value(&page, "idempotency_key").unwrap();
        let response = who
            .post_raw(
                &buy,
                &[
                    ("csrf_token", token.as_str()),
                    ("idempotency_key", key.as_str()),
                ],
            )
            .await;
        assert_eq!(response.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(response.text().await.unwrap().contains(says), "{says}");
    }

    // The buyer confirms and holds the principal.
    let page = buyer.get_html(&buy).await;
    assert_eq!(text_at(&page, "#price").unwrap(), "4\u{a0}080,00\u{a0}₽");
    let token = crate::helpers::csrf_token_in(&page);
    let key = input_value(&page, "idempotency_key").unwrap();
    let response = buyer
        .post_raw(
            &buy,
            &[
                ("csrf_token", token.as_str()),
                ("idempotency_key", key.as_str()),
            ],
        )
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
    let bought = stake_of(&app, &loan_id, c_id).await;
    assert_eq!(
        (bought.amount, bought.source.as_str()),
        (400_000, "secondary")
    );
    assert_eq!(wallet_of(&app, c_id).await.0, 5_000_000 - 408_000);
    let market = app.browser().get_html("/secondary").await;
    assert!(text_at(&market, "#no-listings").is_some());
    assert_verified(&app).await;
}

/// The listings' ids in the order the market page shows them.
fn listing_ids_on(html: &str) -> Vec<String> {
    hrefs_at(html, "#listings a[href^='/secondary/']")
        .iter()
        .map(|href| {
            href.trim_start_matches("/secondary/")
                .trim_end_matches("/buy")
                .to_owned()
        })
        .collect()
}

/// The market's pages are cut by key, as the marketplace's: a listing sold
/// while a visitor reads the first page does not push another one past the
/// second, listings made at the same moment keep their order by id, and the
/// time the cursor carries loses nothing to a clock with nanoseconds.
#[tokio::test]
async fn market_pages_are_cut_by_key_so_a_sale_does_not_hide_a_listing() {
    let app = spawn_app_without_money_limit().await;
    let loan_id = listed_loan(&app, 21_000, 12, Purpose::Car, 0).await;
    let mut sellers = Vec::new();
    for n in 0..21 {
        let (browser, _, id) = ready_investor(&app, &format!("Seller {n}"), 1_000, true).await;
        invest(&browser, &loan_id, "1000").await.investment_id();
        sellers.push(id);
    }
    assert_eq!(loan(&app, &loan_id).await.status, "active");
    let mut listed = Vec::new();
    for (n, seller) in sellers.iter().enumerate() {
        if n % 2 == 0 {
            app.clock
                .advance(chrono::TimeDelta::nanoseconds(1_000_123_457));
        }
        let stake = stake_of(&app, &loan_id, *seller).await.id;
        listed.push(
            sell(&app, *seller, stake, ("1000", 0))
                .await
                .unwrap()
                .to_string(),
        );
    }

    let visitor = app.browser();
    let first = visitor.get_html("/secondary").await;
    assert_eq!(listing_ids_on(&first), listed[..20]);
    assert!(href_at(&first, "nav.pagination a:not([rel])").is_none());
    // The criteria ride along to the next page.
    let grade = crowdlend::db::entities::loan_requests::Entity::find_by_id(
        Uuid::parse_str(&loan_id).unwrap(),
    )
    .one(&app.db)
    .await
    .unwrap()
    .unwrap()
    .risk_grade
    .unwrap();
    let filtered = visitor
        .get_html(&format!("/secondary?grade={grade}&max_markup=0"))
        .await;
    assert_eq!(listing_ids_on(&filtered), listed[..20]);
    let next = href_at(&filtered, "a[rel=next]").unwrap();
    assert!(
        next.contains(&format!("grade={grade}")) && next.contains("max_markup=0"),
        "{next}"
    );
    // Someone buys a listing of the first page before the visitor turns it.
    let (_, _, buyer) = ready_investor(&app, "Quick Buyer", 5_000, true).await;
    buy(&app, buyer, listed[3].parse().unwrap()).await.unwrap();
    let next = href_at(&first, "a[rel=next]").expect("a link to more listings");
    let second = visitor.get_html(&next).await;
    assert_eq!(
        listing_ids_on(&second),
        listed[20..],
        "nothing skipped, nothing repeated"
    );
    assert!(href_at(&second, "a[rel=next]").is_none());
    assert_eq!(
        href_at(&second, "nav.pagination a:not([rel])").as_deref(),
        Some("/secondary?")
    );
    // A damaged link says so and starts at the top.
    let damaged = visitor.get("/secondary?after=yesterday").await;
    assert_eq!(damaged.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let damaged = damaged.text().await.unwrap();
    assert!(damaged.contains("This page link is damaged"));
    assert_eq!(listing_ids_on(&damaged).len(), 20);
    assert_verified(&app).await;
}

/// SQLite as the server runs it has no planner statistics: the market's
/// page must still read open listings in the queue index's order from the
/// cursor on and sort nothing (with migration 22's index it sorted every
/// open listing for each page).
#[tokio::test]
async fn market_pages_read_the_queue_index_on_sqlite() {
    use crowdlend::db::queries::secondary::{Cursor, SecondaryFilter, open_query};
    use sea_orm::{DbBackend, QueryTrait};
    let app = crate::helpers::spawn_app().await;
    if app.db.get_database_backend() != DbBackend::Sqlite {
        return; // PostgreSQL plans from statistics; its figures are in the README.
    }
    let cursor = Cursor {
        key: 1_700_000_000_000_000,
        id: ListingId::from_uuid(Uuid::nil()),
    };
    let grade_b = SecondaryFilter {
        grade: Some("B".to_owned()),
        max_markup: Some(0),
        ..SecondaryFilter::default()
    };
    for filter in [&SecondaryFilter::default(), &grade_b] {
        for after in [None, Some(cursor)] {
            let plan = crate::marketplace::sqlite_plan(
                &app,
                open_query(filter, after).build(DbBackend::Sqlite),
            )
            .await;
            let seek = if after.is_some() {
                "(status=? AND " // the cursor is the index range
            } else {
                "(status=?)"
            };
            assert!(
                plan.contains(&format!(
                    "USING INDEX ix_secondary_listings_status_created_at_id {seek}"
                )) && !plan.contains("TEMP B-TREE"),
                "{filter:?}, after {after:?}: {plan}"
            );
        }
    }
}
