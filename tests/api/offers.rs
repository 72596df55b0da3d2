//! Direct offers (listing mode `offers`): lenders offer, change and
//! withdraw; the borrower accepts the cheapest and the others are released;
//! offers end with the listing; only the right roles reach each step; every
//! reservation adds up (`verify`) after each.

use crowdlend::{
    db::entities::{investments, offers},
    domain::user::Role,
    services::{auto_invest, funding},
};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::{
    applications::{DESCRIPTION, approval, borrower_with_profile, decision, set_kyc},
    helpers::{
        Browser, TestApp, TestUser, assert_redirects_to, field_error, input_value,
        spawn_app_without_money_limit, text_at,
    },
    investing::{assert_verified, emails_of_kind, loan, ready_investor, wallet_of},
    marketplace::listed_loan,
};

/// A borrower's loan of `amount` roubles over 12 months priced by offers,
/// applied for on the form and approved by staff at grade A (rates 12 to
/// 16 %). Returns the loan's id, the borrower's browser and account.
pub async fn offers_loan(app: &TestApp, amount: &str) -> (String, Browser, TestUser) {
    let (borrower, user) = borrower_with_profile(app).await;
    set_kyc(app, &user.email, "verified").await;
    let response = borrower
        .submit(
            "/borrower/loans/new",
            "/borrower/loans",
            &[
                ("amount", amount),
                ("term_months", "12"),
                ("purpose", "car"),
                ("description", DESCRIPTION),
                ("listing_mode", "offers"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = response.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/borrower/loans/")
        .to_owned();
    let (staff, _) = app.signed_in(Role::Staff).await;
    let page = staff.get_html(&format!("/admin/applications/{id}")).await;
    assert!(text_at(&page, "#listing-mode").unwrap().contains("offers"));
    let response = decision(&staff, &id, &approval("A", amount, "12", "14", "Fine.")).await;
    assert_redirects_to(&response, &format!("/admin/applications/{id}"));
    assert_eq!(loan(app, &id).await.status, "funding");
    (id, borrower, user)
}

/// Opens the confirmation for `rate` and confirms it, as the browser does;
/// returns the confirmation page when the rate is refused there.
pub async fn offer(
    lender: &Browser,
    loan_id: &str,
    rate: &str,
) -> Result<reqwest::Response, (StatusCode, String)> {
    let response = lender
        .get(&format!("/marketplace/{loan_id}/offers?rate_annual={rate}"))
        .await;
    let status = response.status();
    let page = response.text().await.unwrap();
    let Some(key) = input_value(&page, "idempotency_key") else {
        return Err((status, page));
    };
    let token = crate::helpers::csrf_token_in(&page);
    let rate = input_value(&page, "rate_annual").unwrap();
    Ok(lender
        .post_raw(
            &format!("/marketplace/{loan_id}/offers"),
            &[
                ("csrf_token", token.as_str()),
                ("rate_annual", rate.as_str()),
                ("idempotency_key", key.as_str()),
            ],
        )
        .await)
}

async fn offers_of(app: &TestApp, loan_id: &str) -> Vec<offers::Model> {
    offers::Entity::find()
        .filter(offers::Column::LoanId.eq(Uuid::parse_str(loan_id).unwrap()))
        .order_by_asc(offers::Column::CreatedAt)
        .all(&app.db)
        .await
        .unwrap()
}

fn status_of(rows: &[offers::Model], lender: Uuid) -> &str {
    &rows.iter().find(|o| o.lender_id == lender).unwrap().status
}

#[tokio::test]
async fn lenders_offer_change_and_withdraw_and_the_borrower_accepts_the_cheapest() {
    let app = spawn_app_without_money_limit().await;
    let (loan_id, borrower, _) = offers_loan(&app, "100000").await;
    let (first, _, first_id) = ready_investor(&app, "Offer First", 150_000, true).await;
    let (second, _, second_id) = ready_investor(&app, "Offer Second", 150_000, true).await;
    let (third, _, third_id) = ready_investor(&app, "Offer Third", 150_000, true).await;
    let (poor, _, _) = ready_investor(&app, "Offer Poor", 50_000, true).await;

    // The marketplace lists it as priced by offers; its page asks for
    // offers, not investments.
    let list = first.get_html("/marketplace").await;
    assert!(text_at(&list, "#listings").unwrap().contains("offers"));
    let page = first.get_html(&format!("/marketplace/{loan_id}")).await;
    assert!(text_at(&page, "#offers").is_some());
    assert!(text_at(&page, "#invest").is_none());

    let listing = format!("/marketplace/{loan_id}");
    assert_redirects_to(&offer(&first, &loan_id, "15").await.unwrap(), &listing);
    assert_redirects_to(&offer(&second, &loan_id, "13,5").await.unwrap(), &listing);
    assert_redirects_to(&offer(&third, &loan_id, "14").await.unwrap(), &listing);
    for id in [first_id, second_id, third_id] {
        assert_eq!(wallet_of(&app, id).await, (15_000_000, 10_000_000));
    }
    assert_eq!(emails_of_kind(&app, "offer_received").await.len(), 3);

    // Refused next to the rate: outside the band, not a rate, too little cash.
    for (lender, rate, says) in [
        (&first, "11", "between 12.00"),
        (&first, "abc", "percent"),
        (&poor, "14", "available"),
    ] {
        let (status, page) = offer(lender, &loan_id, rate).await.unwrap_err();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{rate}");
        let message = field_error(&page, "rate_annual").unwrap();
        assert!(message.contains(says), "{rate}: {message}");
    }

    // The first lender undercuts: the rate changes, the reservation does not.
    assert_redirects_to(&offer(&first, &loan_id, "12.5").await.unwrap(), &listing);
    assert_eq!(wallet_of(&app, first_id).await, (15_000_000, 10_000_000));
    let page = first
        .get_html(&format!("/marketplace/{loan_id}/offers"))
        .await;
    assert!(text_at(&page, "#my-offer").unwrap().contains("12.50"));
    let portfolio = first.get_html("/investor/investments").await;
    let listed = text_at(&portfolio, "#my-offers").unwrap();
    assert!(
        listed.contains("12.50") && listed.contains("Waiting for the borrower"),
        "{listed}"
    );
    // The third withdraws.
    let token = crate::helpers::csrf_token_in(
        &third
            .get_html(&format!("/marketplace/{loan_id}/offers"))
            .await,
    );
    let mine = offers_of(&app, &loan_id)
        .await
        .into_iter()
        .find(|o| o.lender_id == third_id)
        .unwrap();
    let response = third
        .post_raw(
            &format!("/investor/offers/{}/cancel", mine.id),
            &[("csrf_token", &token)],
        )
        .await;
    assert_redirects_to(&response, &listing);
    assert_eq!(wallet_of(&app, third_id).await, (15_000_000, 0));
    // Withdrawn once is withdrawn: again is refused and moves nothing.
    let again = third
        .post_raw(
            &format!("/investor/offers/{}/cancel", mine.id),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wallet_of(&app, third_id).await, (15_000_000, 0));
    assert_verified(&app).await;

    // The borrower sees the cheapest first and accepts it.
    let page = borrower
        .get_html(&format!("/borrower/loans/{loan_id}"))
        .await;
    assert!(text_at(&page, "#best-offer").unwrap().contains("12.50"));
    let best = offers_of(&app, &loan_id)
        .await
        .into_iter()
        .find(|o| o.lender_id == first_id)
        .unwrap();
    let accept = format!("/borrower/loans/{loan_id}/offers/{}/accept", best.id);
    let page = borrower.get_html(&accept).await;
    assert!(text_at(&page, "#offer-rate").unwrap().contains("cheapest"));
    let key = input_value(&page, "idempotency_key").unwrap();
    let token = crate::helpers::csrf_token_in(&page);
    let fields = [
        ("csrf_token", token.as_str()),
        ("idempotency_key", key.as_str()),
    ];
    let response = borrower.post_raw(&accept, &fields).await;
    assert_redirects_to(&response, &format!("/borrower/loans/{loan_id}"));
    // Sent again, it changes nothing.
    let response = borrower.post_raw(&accept, &fields).await;
    assert_redirects_to(&response, &format!("/borrower/loans/{loan_id}"));

    let accepted = loan(&app, &loan_id).await;
    assert_eq!(accepted.status, "active", "funded and paid out");
    assert_eq!(accepted.rate_annual, Some(1_250));
    let stakes = investments::Entity::find()
        .filter(investments::Column::LoanId.eq(accepted.id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(stakes.len(), 1);
    assert_eq!(
        (stakes[0].investor_id, stakes[0].amount),
        (first_id, 10_000_000)
    );
    assert_eq!(stakes[0].status, "active");
    assert_eq!(wallet_of(&app, first_id).await, (5_000_000, 0));
    assert_eq!(wallet_of(&app, second_id).await, (15_000_000, 0));
    let rows = offers_of(&app, &loan_id).await;
    assert_eq!(status_of(&rows, first_id), "accepted");
    assert_eq!(status_of(&rows, second_id), "rejected");
    assert_eq!(status_of(&rows, third_id), "cancelled");
    let decided = emails_of_kind(&app, "offer_decided").await;
    assert_eq!(decided.len(), 2);
    assert!(
        decided
            .iter()
            .any(|e| e.subject == "Your offer was accepted")
    );
    // The schedule is at the accepted rate: 100 000 at 12.5 % over 12 months.
    let page = borrower
        .get_html(&format!("/borrower/loans/{loan_id}"))
        .await;
    assert!(text_at(&page, "#rate").unwrap().contains("12.50"));
    assert!(text_at(&page, "#offers").is_none());
    // Nothing is left to accept.
    let second_offer = rows.iter().find(|o| o.lender_id == second_id).unwrap();
    let late = borrower
        .get(&format!(
            "/borrower/loans/{loan_id}/offers/{}/accept",
            second_offer.id
        ))
        .await;
    assert_eq!(late.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_verified(&app).await;
}

#[tokio::test]
async fn each_side_reaches_only_its_own_steps() {
    let app = spawn_app_without_money_limit().await;
    let (loan_id, borrower, _) = offers_loan(&app, "50000").await;
    let (lender, _, lender_id) = ready_investor(&app, "Offer Lender", 100_000, true).await;
    assert_redirects_to(
        &offer(&lender, &loan_id, "14").await.unwrap(),
        &format!("/marketplace/{loan_id}"),
    );
    let made = offers_of(&app, &loan_id).await.remove(0);
    let accept = format!("/borrower/loans/{loan_id}/offers/{}/accept", made.id);

    // An investor cannot accept; another borrower cannot see it.
    assert_eq!(lender.get(&accept).await.status(), StatusCode::FORBIDDEN);
    let (stranger, _) = app.signed_in(Role::Borrower).await;
    assert_eq!(stranger.get(&accept).await.status(), StatusCode::NOT_FOUND);
    let token = stranger.csrf_token("/borrower").await;
    let response = stranger
        .post_raw(
            &accept,
            &[
                ("csrf_token", &token),
                ("idempotency_key", "abcdefgh12345678"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // A borrower cannot offer; another investor cannot withdraw this offer.
    assert_eq!(
        borrower
            .get(&format!("/marketplace/{loan_id}/offers?rate_annual=14"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let (other, _, _) = ready_investor(&app, "Offer Other", 100_000, true).await;
    let token = other.csrf_token("/investor").await;
    let response = other
        .post_raw(
            &format!("/investor/offers/{}/cancel", made.id),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(wallet_of(&app, lender_id).await, (10_000_000, 5_000_000));

    // An offers loan takes no investments (by hand or by rule), and a loan
    // at the platform's rate takes no offers.
    let page = other
        .get(&format!("/marketplace/{loan_id}/invest?amount=5000"))
        .await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().await.unwrap().contains("make an offer"));
    crate::auto_invest::switched_on_rule(&other, "5000").await;
    auto_invest::run(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap();
    assert_eq!(loan(&app, &loan_id).await.funded_amount, 0);
    let fixed = listed_loan(
        &app,
        20_000,
        6,
        crowdlend::domain::application::Purpose::Car,
        0,
    )
    .await;
    let refused = other
        .get(&format!("/marketplace/{fixed}/offers?rate_annual=14"))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("invest in it"));
    assert_verified(&app).await;
}

#[tokio::test]
async fn offers_end_with_the_listing_and_every_reservation_is_released() {
    let app = spawn_app_without_money_limit().await;
    let (expiring, _, _) = offers_loan(&app, "30000").await;
    let (withdrawn, borrower, _) = offers_loan(&app, "40000").await;
    let (lender, _, lender_id) = ready_investor(&app, "Offer Patient", 100_000, true).await;
    offer(&lender, &expiring, "15").await.unwrap();
    offer(&lender, &withdrawn, "13").await.unwrap();
    assert_eq!(wallet_of(&app, lender_id).await, (10_000_000, 7_000_000));

    // The borrower withdraws the second loan: its offer is released.
    let token = borrower
        .csrf_token(&format!("/borrower/loans/{withdrawn}"))
        .await;
    let response = borrower
        .post_raw(
            &format!("/borrower/loans/{withdrawn}/withdraw"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_redirects_to(&response, &format!("/borrower/loans/{withdrawn}"));
    assert_eq!(
        status_of(&offers_of(&app, &withdrawn).await, lender_id),
        "rejected"
    );
    assert_eq!(wallet_of(&app, lender_id).await, (10_000_000, 3_000_000));

    // The first listing passes its deadline: the expiry job releases it.
    app.clock.advance(chrono::TimeDelta::days(15));
    funding::expire_due(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap();
    assert_eq!(
        status_of(&offers_of(&app, &expiring).await, lender_id),
        "expired"
    );
    assert_eq!(loan(&app, &expiring).await.status, "expired");
    assert_eq!(wallet_of(&app, lender_id).await, (10_000_000, 0));
    let told = emails_of_kind(&app, "offer_decided").await;
    assert_eq!(told.len(), 2);
    assert!(told.iter().all(|e| e.subject.contains("released")));
    assert_verified(&app).await;
}
