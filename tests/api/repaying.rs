//! Servicing as the borrower, the investors and staff see it: paying from
//! the loan page (the next installment, more, the payoff), late payment and
//! its penalties day by day, the default with the reserve fund paying the
//! investors (fully and in part) and the recoveries after it, reminders,
//! the back office's arrears and jobs; and the races: one confirmation sent
//! five times, a payment by hand while the job collects.

use chrono::{Days, NaiveDate, NaiveTime};
use crowdlend::{
    db::entities::{
        audit_log, distributions, investments, loan_payments, penalty_accruals,
        reserve_fund_events, schedule_versions,
    },
    domain::user::Role,
    jobs::{defaults, penalties, reminders},
};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::{
    helpers::{
        Browser, TestApp, assert_redirects_to, csrf_token_in, field_error, input_value, spawn_app,
        spawn_app_without_money_limit, text_at,
    },
    investing::{assert_verified, emails_of_kind, fund, loan, platform_balance, wallet_of},
    servicing::{repaying_loan, run_due_payments, schedule, withdraw_all_but},
};

fn at_nine(day: NaiveDate) -> chrono::DateTime<chrono::Utc> {
    day.and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap())
        .and_utc()
}

/// The confirmation page for `amount` (with `payoff=1` when `payoff`).
async fn confirmation(browser: &Browser, loan_id: Uuid, amount: &str, payoff: bool) -> String {
    let extra = if payoff { "&payoff=1" } else { "" };
    browser
        .get_html(&format!(
            "/borrower/loans/{loan_id}/pay?amount={amount}{extra}"
        ))
        .await
}

/// Posts the confirmation form of `page` to its action.
async fn confirm(browser: &Browser, loan_id: Uuid, page: &str) -> reqwest::Response {
    let token = csrf_token_in(page);
    let amount = input_value(page, "amount").expect("an amount to confirm");
    let key = input_value(page, "idempotency_key").expect("a confirmation");
    let action = if page.contains(&format!("/borrower/loans/{loan_id}/payoff")) {
        "payoff"
    } else {
        "pay"
    };
    browser
        .post_raw(
            &format!("/borrower/loans/{loan_id}/{action}"),
            &[
                ("csrf_token", token.as_str()),
                ("amount", amount.as_str()),
                ("idempotency_key", key.as_str()),
            ],
        )
        .await
}

/// "1234.56" for a number of kopecks.
fn roubles(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

async fn payments(app: &TestApp, loan_id: Uuid) -> Vec<loan_payments::Model> {
    loan_payments::Entity::find()
        .filter(loan_payments::Column::LoanId.eq(loan_id))
        .order_by_asc(loan_payments::Column::CreatedAt)
        .all(&app.db)
        .await
        .unwrap()
}

async fn shares_of(app: &TestApp, payment: Uuid) -> Vec<distributions::Model> {
    distributions::Entity::find()
        .filter(distributions::Column::PaymentId.eq(payment))
        .all(&app.db)
        .await
        .unwrap()
}

/// The principal the stake's holder received in distributions.
async fn principal_back(app: &TestApp, stake: Uuid) -> i64 {
    distributions::Entity::find()
        .filter(distributions::Column::InvestmentId.eq(stake))
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|d| d.principal)
        .sum()
}

async fn stakes(app: &TestApp, loan_id: Uuid) -> Vec<investments::Model> {
    investments::Entity::find()
        .filter(investments::Column::LoanId.eq(loan_id))
        .order_by_asc(investments::Column::CreatedAt)
        .all(&app.db)
        .await
        .unwrap()
}

/// Sets servicing settings as an admin does at `/admin/settings`.
async fn set_settings(app: &TestApp, fields: &[(&str, &str)]) {
    let (admin, _) = app.signed_in(Role::Admin).await;
    let mut all = vec![("kyc_required", "true"), ("disbursement_automatic", "true")];
    all.extend_from_slice(fields);
    let response = admin
        .submit("/admin/settings", "/admin/settings", &all)
        .await;
    assert_redirects_to(&response, "/admin/settings");
}

/// Runs the servicing jobs of `day` in order.
async fn run_day(app: &TestApp, day: NaiveDate) {
    run_due_payments(app, day).await;
    penalties::run(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap();
    defaults::run(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_borrower_pays_the_next_installment_from_the_loan_page_after_a_confirmation() {
    let app = spawn_app().await;
    let loan = repaying_loan(&app).await;
    let rows = schedule(&app, loan.id).await;
    let installment = rows[0].principal + rows[0].interest;

    let page = loan
        .borrower
        .get_html(&format!("/borrower/loans/{}", loan.id))
        .await;
    assert!(text_at(&page, "#next-due").unwrap().contains(&format!(
        "{},{:02}",
        installment / 100 % 1000,
        installment % 100
    )));
    assert!(text_at(&page, "#payoff").is_some());
    assert!(text_at(&page, "#no-payments").is_some());

    // The pay page offers the next installment as a ready amount.
    let pay = loan
        .borrower
        .get_html(&format!("/borrower/loans/{}/pay", loan.id))
        .await;
    assert!(
        text_at(&pay, "#quick-amounts")
            .unwrap()
            .contains("Pay the next installment now")
    );
    let page = confirmation(&loan.borrower, loan.id, &roubles(installment), false).await;
    let allocation = text_at(&page, "#allocation").expect("the allocation");
    assert!(allocation.contains("Interest now due"), "{allocation}");
    assert!(allocation.contains("Principal now due"), "{allocation}");
    assert_eq!(
        wallet_of(&app, loan.borrower_id).await.0,
        9_700_000,
        "the confirmation moves nothing"
    );

    let response = confirm(&loan.borrower, loan.id, &page).await;
    assert_redirects_to(&response, &format!("/borrower/loans/{}", loan.id));
    let paid = payments(&app, loan.id).await;
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0].kind, "payment");
    assert_eq!(paid[0].amount, installment);
    assert_eq!(schedule(&app, loan.id).await[0].status, "paid");
    let shares = shares_of(&app, paid[0].id).await;
    assert_eq!(
        shares.iter().map(|d| d.principal + d.interest).sum::<i64>(),
        installment
    );
    assert_eq!(
        wallet_of(&app, loan.borrower_id).await.0,
        9_700_000 - installment
    );
    // The same confirmation again pays nothing more.
    let again = confirm(&loan.borrower, loan.id, &page).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(payments(&app, loan.id).await.len(), 1);
    // On the due date the job finds nothing left to take.
    let report = run_due_payments(&app, rows[0].due_date).await;
    assert_eq!(report.collected, 0);
    loan.sign_in_again().await;
    let page = loan
        .borrower
        .get_html(&format!("/borrower/loans/{}", loan.id))
        .await;
    assert!(text_at(&page, "#payment-rows").unwrap().contains("Payment"));
    assert_eq!(emails_of_kind(&app, "payment_received").await.len(), 1);
    assert_eq!(
        emails_of_kind(&app, "distribution_received").await.len(),
        3,
        "one per investor"
    );
    assert_verified(&app).await;
}

#[tokio::test]
async fn bad_amounts_get_a_message_next_to_the_field_and_others_loans_are_not_found() {
    let app = spawn_app().await;
    let loan = repaying_loan(&app).await;
    let rows = schedule(&app, loan.id).await;
    let installment = rows[0].principal + rows[0].interest;
    for (amount, message) in [
        ("0", "more than zero"),
        ("-5", ""),
        ("abc", ""),
        ("1e3", ""),
        ("100.001", ""),
        ("100", "next installment"),
        ("500000", "payoff"),
    ] {
        let response = loan
            .borrower
            .get(&format!("/borrower/loans/{}/pay?amount={amount}", loan.id))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{amount}"
        );
        let page = response.text().await.unwrap();
        let error = field_error(&page, "amount").unwrap_or_else(|| panic!("{amount}: {page}"));
        assert!(error.to_lowercase().contains(message), "{amount}: {error}");
        assert!(input_value(&page, "idempotency_key").is_none());
    }
    // More than the wallet holds: said next to the amount.
    withdraw_all_but(&app, loan.borrower_id, 1_000).await;
    let response = loan
        .borrower
        .get(&format!(
            "/borrower/loans/{}/pay?amount={}",
            loan.id,
            roubles(installment)
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(field_error(&page, "amount").unwrap().contains("Top it up"));
    // A posted malformed amount is refused the same way, and moves nothing.
    let token = csrf_token_in(&page);
    let response = loan
        .borrower
        .post_raw(
            &format!("/borrower/loans/{}/pay", loan.id),
            &[
                ("csrf_token", token.as_str()),
                ("amount", "-1"),
                ("idempotency_key", "0f5e2b1c-3a4d-4e5f-8a9b-0c1d2e3f4a5b"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(payments(&app, loan.id).await.is_empty());

    // Another borrower's loan is not found; an investor may not pay at all.
    let (other, _) = app.signed_in(Role::Borrower).await;
    let response = other
        .get(&format!("/borrower/loans/{}/pay?amount=100", loan.id))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (investor, _) = app.signed_in(Role::Investor).await;
    let response = investor
        .get(&format!("/borrower/loans/{}/pay", loan.id))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_verified(&app).await;
}

#[tokio::test]
async fn a_prepayment_lowers_the_remaining_installments_and_keeps_the_old_schedule() {
    let app = spawn_app().await;
    let loan = repaying_loan(&app).await;
    let rows = schedule(&app, loan.id).await;
    let installment = rows[0].principal + rows[0].interest;
    let page = confirmation(
        &loan.borrower,
        loan.id,
        &roubles(installment + 2_000_000),
        false,
    )
    .await;
    assert!(
        text_at(&page, "#allocation")
            .unwrap()
            .contains("Principal paid ahead")
    );
    let response = confirm(&loan.borrower, loan.id, &page).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let after = schedule(&app, loan.id).await;
    assert_eq!(after.len(), 12, "the term stays");
    assert_eq!(after[0].status, "paid");
    assert_eq!(after[0].principal, rows[0].principal + 2_000_000);
    let old_payment = rows[1].principal + rows[1].interest;
    let new_payment = after[1].principal + after[1].interest;
    assert!(new_payment < old_payment, "{new_payment} < {old_payment}");
    assert_eq!(
        after.iter().map(|r| r.principal).sum::<i64>(),
        10_000_000,
        "the schedule still repays the whole principal"
    );
    let versions = schedule_versions::Entity::find()
        .filter(schedule_versions::Column::LoanId.eq(loan.id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(versions.len(), 1);
    assert!(
        versions[0]
            .installments
            .contains(&format!("\"principal\":{}", rows[1].principal))
    );
    let page = loan
        .borrower
        .get_html(&format!("/borrower/loans/{}", loan.id))
        .await;
    assert!(
        text_at(&page, "#schedule-versions")
            .unwrap()
            .contains("Version 1")
    );
    // Every stake got its share of the principal paid ahead.
    let paid = payments(&app, loan.id).await;
    assert_eq!(paid[0].prepaid_principal, 2_000_000);
    let shares = shares_of(&app, paid[0].id).await;
    assert_eq!(
        shares.iter().map(|d| d.principal).sum::<i64>(),
        rows[0].principal + 2_000_000
    );
    // The rest of the loan then runs to the end, each stake repaid exactly.
    fund(&app, loan.borrower_id, 100_000).await;
    for row in &after[1..] {
        run_due_payments(&app, row.due_date).await;
    }
    assert_eq!(
        crate::investing::loan(&app, &loan.id.to_string())
            .await
            .status,
        "repaid"
    );
    for stake in stakes(&app, loan.id).await {
        let principal = principal_back(&app, stake.id).await;
        assert_eq!(principal, stake.amount);
    }
    assert_verified(&app).await;
}

#[tokio::test]
async fn an_early_payoff_settles_the_loan_to_the_day_and_repays_every_stake() {
    let app = spawn_app().await;
    let loan = repaying_loan(&app).await;
    let rows = schedule(&app, loan.id).await;
    fund(&app, loan.borrower_id, 20_000).await;
    // Two installments collected, then ten days into the third period.
    run_due_payments(&app, rows[0].due_date).await;
    run_due_payments(&app, rows[1].due_date).await;
    let day = rows[1].due_date.checked_add_days(Days::new(10)).unwrap();
    app.clock.set(at_nine(day));
    loan.sign_in_again().await;
    let page = loan
        .borrower
        .get_html(&format!("/borrower/loans/{}/pay", loan.id))
        .await;
    let quick = text_at(&page, "#quick-amounts").unwrap();
    assert!(quick.contains("Pay off the whole loan today"), "{quick}");
    let left: i64 = rows[2..].iter().map(|r| r.principal).sum();
    let payoff_page = confirmation(&loan.borrower, loan.id, &roubles(left + 1), true).await;
    // Not the payoff: refused with the exact figure.
    let response = confirm(&loan.borrower, loan.id, &payoff_page).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = response.text().await.unwrap();
    assert!(
        field_error(&refused, "amount")
            .unwrap()
            .contains("takes exactly"),
        "{refused}"
    );

    // The payoff the page offers: principal left and interest to the day.
    let href = scraper::Html::parse_document(&page)
        .select(&scraper::Selector::parse("#quick-amounts a").unwrap())
        .map(|a| a.value().attr("href").unwrap().to_owned())
        .find(|href| href.contains("payoff=1"))
        .unwrap();
    let confirm_page = loan.borrower.get_html(&href).await;
    let amount = input_value(&confirm_page, "amount").unwrap();
    let payoff_minor = (amount.parse::<f64>().unwrap() * 100.0).round() as i64;
    // 12 % a year on the principal left, for 10 days of a 30/31-day period.
    let period = (rows[2].due_date - rows[1].due_date).num_days();
    let interest = (left * 1_200 * 10 * 2 + 120_000 * period) / (120_000 * period * 2);
    assert_eq!(payoff_minor, left + interest, "{amount}");
    let response = confirm(&loan.borrower, loan.id, &confirm_page).await;
    assert_redirects_to(&response, &format!("/borrower/loans/{}", loan.id));

    assert_eq!(
        crate::investing::loan(&app, &loan.id.to_string())
            .await
            .status,
        "repaid"
    );
    let paid = payments(&app, loan.id).await;
    assert_eq!(paid.last().unwrap().kind, "payoff");
    for stake in stakes(&app, loan.id).await {
        assert_eq!(stake.status, "repaid");
        let principal = principal_back(&app, stake.id).await;
        assert_eq!(principal, stake.amount, "each stake gets back what it lent");
    }
    assert_eq!(emails_of_kind(&app, "loan_repaid").await.len(), 4);
    // A repaid loan takes no more payments.
    let response = loan
        .borrower
        .get(&format!("/borrower/loans/{}/pay?amount=100", loan.id))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_verified(&app).await;
}

#[tokio::test]
async fn the_same_confirmation_sent_five_times_at_once_pays_once() {
    let app = spawn_app_without_money_limit().await;
    let loan = repaying_loan(&app).await;
    let rows = schedule(&app, loan.id).await;
    let installment = rows[0].principal + rows[0].interest;
    let page = confirmation(&loan.borrower, loan.id, &roubles(installment), false).await;
    let answers =
        futures_util::future::join_all((0..5).map(|_| confirm(&loan.borrower, loan.id, &page)))
            .await;
    for answer in &answers {
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(payments(&app, loan.id).await.len(), 1);
    assert_eq!(
        wallet_of(&app, loan.borrower_id).await.0,
        9_700_000 - installment
    );
    assert_verified(&app).await;
}

#[tokio::test]
async fn a_payment_by_hand_while_the_job_collects_takes_the_installment_once() {
    let app = spawn_app_without_money_limit().await;
    let loan = repaying_loan(&app).await;
    let rows = schedule(&app, loan.id).await;
    let installment = rows[0].principal + rows[0].interest;
    // The wallet holds exactly one installment.
    withdraw_all_but(&app, loan.borrower_id, installment).await;
    app.clock.set(at_nine(rows[0].due_date));
    loan.sign_in_again().await;
    let page = confirmation(&loan.borrower, loan.id, &roubles(installment), false).await;
    let base_url = app.base_url();
    let (by_hand, job) = tokio::join!(
        confirm(&loan.borrower, loan.id, &page),
        crowdlend::jobs::due_payments::run(&app.db, &app.clock, &base_url),
    );
    job.unwrap();
    assert!(
        by_hand.status() == StatusCode::SEE_OTHER
            || by_hand.status() == StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        by_hand.status()
    );
    let paid = payments(&app, loan.id).await;
    assert_eq!(paid.len(), 1, "collected once");
    assert_eq!(paid[0].amount, installment);
    assert_eq!(schedule(&app, loan.id).await[0].status, "paid");
    assert_eq!(wallet_of(&app, loan.borrower_id).await.0, 0);
    assert_verified(&app).await;
}

#[tokio::test]
async fn a_late_installment_is_charged_penalties_day_by_day_and_the_investors_receive_them() {
    let app = spawn_app().await;
    let loan = repaying_loan(&app).await;
    let rows = schedule(&app, loan.id).await;
    let installment = rows[0].principal + rows[0].interest;
    withdraw_all_but(&app, loan.borrower_id, 0).await;
    run_day(&app, rows[0].due_date).await;
    assert_eq!(schedule(&app, loan.id).await[0].status, "overdue");
    assert_eq!(emails_of_kind(&app, "installment_overdue").await.len(), 1);

    // Five days late, run twice each day: one late fee, one charge a day.
    for days in 1..=5 {
        let day = rows[0].due_date.checked_add_days(Days::new(days)).unwrap();
        run_day(&app, day).await;
        run_day(&app, day).await;
    }
    let charges = penalty_accruals::Entity::find()
        .filter(penalty_accruals::Column::LoanId.eq(loan.id))
        .order_by_asc(penalty_accruals::Column::AccruedOn)
        .all(&app.db)
        .await
        .unwrap();
    let daily = (installment + 500) / 1_000;
    let kinds: Vec<(&str, i64)> = charges
        .iter()
        .map(|c| (c.kind.as_str(), c.amount))
        .collect();
    assert_eq!(kinds.len(), 6, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|(k, _)| *k == "late_fee").count(), 1);
    assert!(
        charges
            .iter()
            .filter(|c| c.kind == "daily")
            .all(|c| c.amount == daily && c.base == installment)
    );
    let total = 30_000 + 5 * daily;
    assert_eq!(schedule(&app, loan.id).await[0].penalty_accrued, total);
    assert_eq!(emails_of_kind(&app, "penalty_started").await.len(), 1);
    loan.sign_in_again().await;
    let page = loan
        .borrower
        .get_html(&format!("/borrower/loans/{}", loan.id))
        .await;
    assert!(
        text_at(&page, "#penalty-rows")
            .unwrap()
            .contains("Late fee")
    );
    assert!(text_at(&page, "#overdue-note").is_some());

    // The borrower pays what is due: penalties first, then the installment.
    fund(&app, loan.borrower_id, 20_000).await;
    let page = confirmation(
        &loan.borrower,
        loan.id,
        &roubles(installment + total),
        false,
    )
    .await;
    assert!(text_at(&page, "#allocation").unwrap().contains("Penalties"));
    let response = confirm(&loan.borrower, loan.id, &page).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let paid = payments(&app, loan.id).await;
    let last = paid.last().unwrap();
    assert_eq!(last.penalty, total);
    let shares = shares_of(&app, last.id).await;
    assert_eq!(shares.iter().map(|d| d.penalty).sum::<i64>(), total);
    // The fee: 1 % of interest and penalties together.
    assert_eq!(last.fee, (rows[0].interest + total + 50) / 100);
    assert_eq!(schedule(&app, loan.id).await[0].status, "paid");
    // Paid: no more penalties the next day.
    run_day(
        &app,
        rows[0].due_date.checked_add_days(Days::new(6)).unwrap(),
    )
    .await;
    assert_eq!(
        penalty_accruals::Entity::find()
            .filter(penalty_accruals::Column::LoanId.eq(loan.id))
            .all(&app.db)
            .await
            .unwrap()
            .len(),
        6
    );
    assert_verified(&app).await;
}

/// Lets the loan's first installment go unpaid until the `defaults` job
/// declares it defaulted, 91 days later.
async fn default_by_the_job(app: &TestApp, loan_id: Uuid, borrower_id: Uuid, paid: usize) {
    let rows = schedule(app, loan_id).await;
    for row in &rows[..paid] {
        run_day(app, row.due_date).await;
    }
    withdraw_all_but(app, borrower_id, 0).await;
    let due = rows[paid].due_date;
    run_day(app, due).await;
    run_day(app, due.checked_add_days(Days::new(90)).unwrap()).await;
    assert_eq!(
        loan(app, &loan_id.to_string()).await.status,
        "active",
        "90 days overdue is not yet a default"
    );
    run_day(app, due.checked_add_days(Days::new(91)).unwrap()).await;
    assert_eq!(loan(app, &loan_id.to_string()).await.status, "defaulted");
}

#[tokio::test]
async fn a_default_with_a_full_reserve_pays_every_investor_their_outstanding_principal() {
    let app = spawn_app().await;
    // A reserve contribution of 25 % leaves the fund more than the
    // principal still lent after ten installments.
    set_settings(&app, &[("reserve_contribution_percent", "25")]).await;
    let loan = repaying_loan(&app).await;
    assert_eq!(platform_balance(&app, "reserve_fund").await, 2_500_000);
    fund(&app, loan.borrower_id, 20_000).await;
    default_by_the_job(&app, loan.id, loan.borrower_id, 10).await;

    let rows = schedule(&app, loan.id).await;
    assert!(rows[10..].iter().all(|r| r.status == "written_off"));
    let outstanding: i64 = rows[10..].iter().map(|r| r.principal).sum();
    let covered = reserve_fund_events::Entity::find()
        .filter(reserve_fund_events::Column::LoanId.eq(loan.id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(covered.len(), 4, "one payout per stake");
    assert_eq!(covered.iter().map(|e| e.amount).sum::<i64>(), outstanding);
    for event in &covered {
        assert_eq!(event.kind, "covered");
        assert_eq!(event.amount, event.outstanding, "fully covered");
    }
    assert_eq!(
        platform_balance(&app, "reserve_fund").await,
        2_500_000 - outstanding
    );
    for stake in stakes(&app, loan.id).await {
        assert_eq!(stake.status, "defaulted");
        let principal = principal_back(&app, stake.id).await;
        let event = covered
            .iter()
            .find(|e| e.investment_id == stake.id)
            .unwrap();
        assert_eq!(principal + event.amount, stake.amount, "nothing lost");
    }
    assert_eq!(emails_of_kind(&app, "loan_defaulted").await.len(), 4);
    let default_reason = crate::investing::loan(&app, &loan.id.to_string()).await;
    assert!(
        default_reason
            .default_reason
            .unwrap()
            .contains("more than 90 days")
    );
    assert_verified(&app).await;
}

#[tokio::test]
async fn a_default_with_a_short_reserve_covers_part_and_a_recovery_repays_the_fund_first() {
    let app = spawn_app().await;
    let loan = repaying_loan(&app).await;
    // The fund holds this loan's 2 % contribution: 2 000 ₽.
    assert_eq!(platform_balance(&app, "reserve_fund").await, 200_000);
    fund(&app, loan.borrower_id, 20_000).await;
    default_by_the_job(&app, loan.id, loan.borrower_id, 2).await;
    let events = reserve_fund_events::Entity::find()
        .filter(reserve_fund_events::Column::LoanId.eq(loan.id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(events.iter().map(|e| e.amount).sum::<i64>(), 200_000);
    assert!(events.iter().all(|e| e.amount < e.outstanding), "partial");
    assert_eq!(platform_balance(&app, "reserve_fund").await, 0);

    // The first investor's page shows the payout and the loss.
    loan.sign_in_again().await;
    let stake = stakes(&app, loan.id).await[0].clone();
    let page = loan
        .first_investor
        .get_html(&format!("/investor/investments/{}", stake.id))
        .await;
    let covered = events.iter().find(|e| e.investment_id == stake.id).unwrap();
    assert_eq!(
        text_at(&page, "#received-reserve").unwrap(),
        crowdlend::format::money(covered.amount, crowdlend::domain::money::Currency::Rub)
    );
    assert!(text_at(&page, "#loss").is_some());
    assert!(
        text_at(&page, "#flow-rows")
            .unwrap()
            .contains("Reserve fund payout")
    );

    // The borrower pays 10 000 ₽ back: the fund gets its 2 000 ₽ first.
    fund(&app, loan.borrower_id, 10_000).await;
    let page = loan
        .borrower
        .get_html(&format!("/borrower/loans/{}", loan.id))
        .await;
    assert!(text_at(&page, "#claim-remaining").is_some());
    let page = confirmation(&loan.borrower, loan.id, "10000", false).await;
    let allocation = text_at(&page, "#allocation").unwrap();
    assert!(allocation.contains("reserve fund"), "{allocation}");
    let response = confirm(&loan.borrower, loan.id, &page).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let recovery = payments(&app, loan.id).await.pop().unwrap();
    assert_eq!(recovery.kind, "recovery");
    assert_eq!(recovery.reserve_repaid, 200_000);
    assert_eq!(platform_balance(&app, "reserve_fund").await, 200_000);
    let shares = shares_of(&app, recovery.id).await;
    assert_eq!(
        shares.iter().map(|d| d.principal + d.interest).sum::<i64>(),
        1_000_000 - 200_000
    );
    assert!(
        stakes(&app, loan.id)
            .await
            .iter()
            .all(|s| s.status == "defaulted")
    );
    assert_eq!(emails_of_kind(&app, "recovery_received").await.len(), 3);
    // Paying more than is owed is refused.
    let response = loan
        .borrower
        .get(&format!("/borrower/loans/{}/pay?amount=10000000", loan.id))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_verified(&app).await;
}

#[tokio::test]
async fn staff_declare_a_default_with_a_reason_which_is_audited_and_loans_in_arrears_are_grouped() {
    let app = spawn_app().await;
    let loan = repaying_loan(&app).await;
    let rows = schedule(&app, loan.id).await;
    withdraw_all_but(&app, loan.borrower_id, 0).await;
    run_day(&app, rows[0].due_date).await;
    run_day(
        &app,
        rows[0].due_date.checked_add_days(Days::new(20)).unwrap(),
    )
    .await;
    loan.sign_in_again().await;

    let (staff, staff_user) = app.signed_in(Role::Staff).await;
    let page = staff.get_html("/admin/loans?status=active").await;
    let bucket = scraper::Html::parse_document(&page)
        .select(&scraper::Selector::parse(r#"[data-bucket="16-30"] .stat-value"#).unwrap())
        .next()
        .map(|n| n.text().collect::<String>())
        .unwrap();
    assert_eq!(bucket, "1");
    assert!(text_at(&page, "#arrears-rows").unwrap().contains("20"));

    let page = staff.get_html(&format!("/admin/loans/{}", loan.id)).await;
    assert!(text_at(&page, "#declare-default").is_some());
    let token = csrf_token_in(&page);
    let refused = staff
        .post_raw(
            &format!("/admin/loans/{}/default", loan.id),
            &[("csrf_token", token.as_str()), ("reason", "  ")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = refused.text().await.unwrap();
    assert!(field_error(&refused, "reason").is_some());
    assert_eq!(
        crate::investing::loan(&app, &loan.id.to_string())
            .await
            .status,
        "active"
    );

    let response = staff
        .post_raw(
            &format!("/admin/loans/{}/default", loan.id),
            &[
                ("csrf_token", token.as_str()),
                ("reason", "The borrower was declared insolvent."),
            ],
        )
        .await;
    assert_redirects_to(&response, &format!("/admin/loans/{}", loan.id));
    let defaulted = crate::investing::loan(&app, &loan.id.to_string()).await;
    assert_eq!(defaulted.status, "defaulted");
    assert_eq!(
        defaulted.default_reason.as_deref(),
        Some("The borrower was declared insolvent.")
    );
    let audit = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("loan.default"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        audit[0].actor_id,
        Some(app.user(&staff_user.email).await.id)
    );
    // Twice is refused: it is no longer being repaid.
    let again = staff
        .post_raw(
            &format!("/admin/loans/{}/default", loan.id),
            &[("csrf_token", token.as_str()), ("reason", "Again.")],
        )
        .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Borrowers and investors cannot.
    let response = loan
        .borrower
        .post_raw(
            &format!("/admin/loans/{}/default", loan.id),
            &[("reason", "Mine.")],
        )
        .await;
    assert!(response.status().is_client_error());
    assert_verified(&app).await;
}

#[tokio::test]
async fn borrowers_are_reminded_once_before_a_due_date() {
    let app = spawn_app().await;
    let loan = repaying_loan(&app).await;
    let rows = schedule(&app, loan.id).await;
    let four_before = rows[0].due_date.checked_sub_days(Days::new(4)).unwrap();
    app.clock.set(at_nine(four_before));
    let sent = reminders::run(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap();
    assert_eq!(sent, 0, "the default is three days before");
    for days in [3, 2, 1] {
        app.clock.set(at_nine(
            rows[0].due_date.checked_sub_days(Days::new(days)).unwrap(),
        ));
        reminders::run(&app.db, &app.clock, &app.base_url())
            .await
            .unwrap();
    }
    let emails = emails_of_kind(&app, "payment_reminder").await;
    assert_eq!(emails.len(), 1, "reminded once");
    assert!(emails[0].text_body.contains("enough to cover it"));
    assert_verified(&app).await;
}

#[tokio::test]
async fn staff_see_every_job_and_its_runs_and_can_run_one_now() {
    let app = spawn_app().await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let page = admin.get_html("/admin/jobs").await;
    for job in [
        "due-payments",
        "penalties",
        "defaults",
        "reminders",
        "outbox",
    ] {
        assert!(page.contains(&format!(r#"data-job="{job}""#)), "{job}");
    }
    assert!(text_at(&page, "#no-runs").is_some());
    let token = csrf_token_in(&page);
    let response = admin
        .post_raw(
            "/admin/jobs/run",
            &[("csrf_token", token.as_str()), ("name", "penalties")],
        )
        .await;
    assert_redirects_to(&response, "/admin/jobs");
    let page = admin.get_html("/admin/jobs").await;
    let runs = text_at(&page, "#job-run-rows").unwrap();
    assert!(
        runs.contains("penalties") && runs.contains("succeeded"),
        "{runs}"
    );
    let response = admin
        .post_raw(
            "/admin/jobs/run",
            &[("csrf_token", token.as_str()), ("name", "no-such-job")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// The URL another process uses to reach the test's database (on
/// PostgreSQL, its schema as the search path).
async fn database_url_for_a_process(app: &TestApp) -> String {
    use sea_orm::ConnectionTrait;
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let row = app
                .db
                .query_one_raw(sea_orm::Statement::from_string(
                    app.db.get_database_backend(),
                    "SELECT current_schema()",
                ))
                .await
                .unwrap()
                .unwrap();
            let schema: String = row.try_get_by_index(0).unwrap();
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}options=-c%20search_path%3D{schema}")
        }
        _ => format!(
            "sqlite://{}?mode=rw",
            app.data_dir().join("app.db").display()
        ),
    }
}

/// Three loans, each with its first installment covered by the wallet.
async fn three_loans_due(app: &TestApp) -> (Vec<Uuid>, NaiveDate) {
    let mut ids = Vec::new();
    let mut due = None;
    for _ in 0..3 {
        let loan = repaying_loan(app).await;
        let rows = schedule(app, loan.id).await;
        due = due.max(Some(rows[0].due_date));
        ids.push(loan.id);
    }
    (ids, due.unwrap())
}

async fn assert_first_installments_collected_once(app: &TestApp, loans: &[Uuid]) {
    for loan_id in loans {
        let paid = payments(app, *loan_id).await;
        assert_eq!(paid.len(), 1, "loan {loan_id}: one payment");
        let rows = schedule(app, *loan_id).await;
        assert_eq!(rows[0].status, "paid");
        assert_eq!(paid[0].amount, rows[0].principal + rows[0].interest);
        assert!(rows[1..].iter().all(|r| r.status == "scheduled"));
    }
    assert_verified(app).await;
}

#[tokio::test]
async fn a_due_payments_run_killed_midway_and_run_again_collects_each_installment_once() {
    let app = spawn_app().await;
    let (loans, due) = three_loans_due(&app).await;
    app.clock.set(at_nine(due));
    // Abort the pass, a loan per batch, as soon as the first batch has
    // committed.
    let (db, clock, base_url) = (app.db.clone(), app.clock.clone(), app.base_url());
    let pass = tokio::spawn(async move {
        crowdlend::jobs::due_payments::run_in_batches(&db, &clock, &base_url, 1).await
    });
    loop {
        let done = loan_payments::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .len();
        if done >= 1 || pass.is_finished() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    pass.abort();
    let _ = pass.await;
    assert!(
        loan_payments::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .len()
            <= loans.len()
    );
    let again = run_due_payments(&app, due).await;
    assert!(again.collected <= 3);
    assert_first_installments_collected_once(&app, &loans).await;
    assert_eq!(run_due_payments(&app, due).await.collected, 0);
}

#[tokio::test]
async fn two_processes_running_due_payments_for_the_same_day_collect_each_installment_once() {
    let app = spawn_app().await;
    let (loans, due) = three_loans_due(&app).await;
    let url = database_url_for_a_process(&app).await;
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_crowdlend"))
            .args(["jobs", "run", "due-payments", "--date", &due.to_string()])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATA_DIR", app.data_dir())
            .env("DATABASE_URL", &url)
            .env("SECRET_KEY", "s".repeat(64))
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_first_installments_collected_once(&app, &loans).await;
}
