//! Servicing: installments falling due and collected from the borrower's
//! wallet, every payment shared among the investors to the kopeck, paying
//! more than the next installment, paying off, and the loan's end.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use crowdlend::{
    db::entities::{
        distributions, investments, loan_payments, outbox_emails, repayment_schedule, users,
    },
    domain::application::Purpose,
    jobs::due_payments,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crowdlend::domain::user::Role;

use crate::{
    helpers::{Browser, TestApp, TestUser, spawn_app},
    investing::{
        assert_verified, emails_of_kind, fund, invest, loan, platform_balance, ready_investor,
        wallet_of,
    },
    marketplace::listed_loan_for,
};

pub async fn schedule(app: &TestApp, loan_id: Uuid) -> Vec<repayment_schedule::Model> {
    repayment_schedule::Entity::find()
        .filter(repayment_schedule::Column::LoanId.eq(loan_id))
        .order_by_asc(repayment_schedule::Column::PaymentNum)
        .all(&app.db)
        .await
        .unwrap()
}

pub async fn run_due_payments(app: &TestApp, day: NaiveDate) -> due_payments::Report {
    app.clock.set(
        day.and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap())
            .and_utc(),
    );
    due_payments::run(&app.db, &app.clock, &app.base_url())
        .await
        .unwrap()
}

/// A 100 000 ₽ loan over 12 months funded by three investors (one holding
/// two stakes), paid out; returns its id, the borrower's and the investors'.
async fn active_loan(app: &TestApp) -> (Uuid, Uuid, Vec<Uuid>) {
    let loan = repaying_loan(app).await;
    (loan.id, loan.borrower_id, loan.investors)
}

/// A loan being repaid, with its borrower's browser.
pub struct Repaying {
    pub id: Uuid,
    pub borrower_id: Uuid,
    pub borrower: Browser,
    pub investors: Vec<Uuid>,
    /// The browser of the investor holding two stakes.
    pub first_investor: Browser,
    pub users: [TestUser; 2],
}

impl Repaying {
    /// Signs the borrower and the first investor in again (after the test's
    /// clock moved past their sessions' idle timeout).
    pub async fn sign_in_again(&self) {
        for (browser, user) in [&self.borrower, &self.first_investor]
            .into_iter()
            .zip(&self.users)
        {
            let response = browser.login(&user.email, &user.password).await;
            assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
        }
    }
}

/// As [`active_loan`], with the borrower signed in.
pub async fn repaying_loan(app: &TestApp) -> Repaying {
    let user = TestUser::new(Role::Borrower);
    let borrower = app.browser();
    borrower.register(&user).await;
    let loan_id = listed_loan_for(
        app,
        &borrower,
        &user,
        (100_000, 12, Purpose::HomeImprovement, 0),
    )
    .await;
    let (investors, [first_investor, _, _], a_user) = fund_by_three(app, &loan_id).await;
    let loan = loan(app, &loan_id).await;
    Repaying {
        id: loan.id,
        borrower_id: loan.borrower_id,
        borrower,
        investors,
        first_investor,
        users: [user, a_user],
    }
}

/// Funds the listed 100 000 ₽ loan `loan_id` by three new investors (the
/// first holding two stakes), which pays it out; returns the investors' ids,
/// browsers and the first one's account.
async fn fund_by_three(app: &TestApp, loan_id: &str) -> (Vec<Uuid>, [Browser; 3], TestUser) {
    let (a, a_user, a_id) = ready_investor(app, "Анна Кузнецова", 100_000, false).await;
    let (b, _, b_id) = ready_investor(app, "Bob Lender", 100_000, false).await;
    let (c, _, c_id) = ready_investor(app, "Chen Wei", 100_000, false).await;
    let investors = [a, b, c];
    fund_by(app, loan_id, &investors).await;
    (vec![a_id, b_id, c_id], investors, a_user)
}

/// Funds the listed 100 000 ₽ loan `loan_id` by `investors` (the first
/// holding two stakes), which pays it out.
async fn fund_by(app: &TestApp, loan_id: &str, [a, b, c]: &[Browser; 3]) {
    invest(a, loan_id, "33333,33").await.investment_id();
    invest(b, loan_id, "33333,33").await.investment_id();
    invest(a, loan_id, "10000").await.investment_id();
    invest(c, loan_id, "23333,34").await.investment_id();
    assert_eq!(loan(app, loan_id).await.status, "active");
}

/// Withdraws all but `keep` kopecks of the user's wallet to a new bank account.
pub async fn withdraw_all_but(app: &TestApp, user_id: Uuid, keep: i64) {
    use crowdlend::{
        domain::{
            ids::UserId,
            money::{Currency, Money},
        },
        services::{
            RequestMeta,
            idempotency::IdempotencyKey,
            wallet::{self, BankTransferRequest, Direction, NewBankAccount},
        },
    };
    let user = UserId::from_uuid(user_id);
    let account = wallet::add_bank_account(
        &app.db,
        &app.clock,
        user,
        NewBankAccount::parse("Test Holder", "Test Bank", "40817810000000000002").unwrap(),
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    let balance = wallet_of(app, user_id).await.0;
    wallet::transfer(
        &app.db,
        &app.clock,
        user,
        &BankTransferRequest {
            direction: Direction::Withdrawal,
            amount: Money::from_minor(balance - keep, Currency::Rub).unwrap(),
            bank_account_id: account,
            key: IdempotencyKey::parse(&IdempotencyKey::generate()).unwrap(),
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_loan_repaid_on_time_pays_every_investor_their_exact_share_to_the_end() {
    let app = spawn_app().await;
    let (loan_id, borrower_id, investors) = active_loan(&app).await;
    // The payout brought 97 000; the schedule asks for more than 100 000.
    fund(&app, borrower_id, 20_000).await;
    let rows = schedule(&app, loan_id).await;
    assert_eq!(rows.len(), 12);
    let before: BTreeMap<Uuid, i64> = {
        let mut map = BTreeMap::new();
        for id in &investors {
            map.insert(*id, wallet_of(&app, *id).await.0);
        }
        map
    };
    let fees_before = platform_balance(&app, "fees").await;

    for (index, row) in rows.iter().enumerate() {
        let report = run_due_payments(&app, row.due_date).await;
        assert_eq!(report.collected, 1, "installment {}", index + 1);
        assert_eq!(report.overdue, 0);
        let again = run_due_payments(&app, row.due_date).await;
        assert_eq!(again.collected, 0, "a second run that day moves nothing");
        assert_verified(&app).await;
    }

    let after = schedule(&app, loan_id).await;
    assert!(after.iter().all(|r| r.status == "paid"));
    assert!(
        after
            .iter()
            .zip(&rows)
            .all(|(a, b)| a.principal == b.principal && a.interest == b.interest),
        "paid on time, the schedule never changed"
    );
    assert_eq!(loan(&app, &loan_id.to_string()).await.status, "repaid");
    let stakes = investments::Entity::find()
        .filter(investments::Column::LoanId.eq(loan_id))
        .all(&app.db)
        .await
        .unwrap();
    assert!(stakes.iter().all(|s| s.status == "repaid"));

    // Every payment is the installment, shared to the kopeck.
    let payments = loan_payments::Entity::find()
        .filter(loan_payments::Column::LoanId.eq(loan_id))
        .order_by_asc(loan_payments::Column::CreatedAt)
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(payments.len(), 12);
    let shares = distributions::Entity::find()
        .filter(distributions::Column::LoanId.eq(loan_id))
        .all(&app.db)
        .await
        .unwrap();
    for (payment, row) in payments.iter().zip(&rows) {
        assert_eq!(payment.kind, "collection");
        assert_eq!(payment.amount, row.principal + row.interest);
        assert_eq!(payment.principal, row.principal);
        assert_eq!(payment.interest, row.interest);
        let mine: Vec<&distributions::Model> = shares
            .iter()
            .filter(|d| d.payment_id == payment.id)
            .collect();
        assert_eq!(mine.len(), 4, "one share per stake");
        assert_eq!(mine.iter().map(|d| d.principal).sum::<i64>(), row.principal);
        assert_eq!(mine.iter().map(|d| d.interest).sum::<i64>(), row.interest);
        assert_eq!(mine.iter().map(|d| d.fee).sum::<i64>(), payment.fee);
        // The fee: 1 % of the interest, half-up.
        assert_eq!(payment.fee, (row.interest + 50) / 100);
    }
    // Each stake got back exactly its principal.
    for stake in &stakes {
        let principal: i64 = shares
            .iter()
            .filter(|d| d.investment_id == stake.id)
            .map(|d| d.principal)
            .sum();
        assert_eq!(principal, stake.amount, "stake {}", stake.id);
    }
    // And the wallets hold exactly what the shares say.
    for id in &investors {
        let received: i64 = shares
            .iter()
            .filter(|d| d.investor_id == *id)
            .map(|d| d.principal + d.interest + d.penalty - d.fee)
            .sum();
        assert_eq!(wallet_of(&app, *id).await.0, before[id] + received);
    }
    let fees: i64 = payments.iter().map(|p| p.fee).sum();
    assert_eq!(platform_balance(&app, "fees").await, fees_before + fees);
    let total: i64 = rows.iter().map(|r| r.principal + r.interest).sum();
    assert_eq!(
        wallet_of(&app, borrower_id).await.0,
        9_700_000 + 2_000_000 - total
    );
    assert_verified(&app).await;
}

#[tokio::test]
async fn an_installment_the_wallet_cannot_cover_is_collected_in_part_and_becomes_overdue() {
    let app = spawn_app().await;
    let (loan_id, borrower_id, _) = active_loan(&app).await;
    let rows = schedule(&app, loan_id).await;
    let installment = rows[0].principal + rows[0].interest;
    // Leave the borrower 1 000 ₽ of the payout.
    withdraw_all_but(&app, borrower_id, 100_000).await;
    let report = run_due_payments(&app, rows[0].due_date).await;
    assert_eq!((report.collected, report.overdue), (1, 1));
    let first = &schedule(&app, loan_id).await[0];
    assert_eq!(first.status, "overdue");
    assert_eq!(first.paid_interest, first.interest, "interest first");
    assert_eq!(first.paid_interest + first.paid_principal, 100_000);
    assert_eq!(wallet_of(&app, borrower_id).await.0, 0);

    // The next day the borrower tops up; the job takes the arrears and the
    // day's penalties (the late fee and one day's penalty interest), which
    // are charged first.
    fund(&app, borrower_id, 20_000).await;
    let next_day = rows[0].due_date.succ_opt().unwrap();
    let report = run_due_payments(&app, next_day).await;
    assert_eq!((report.collected, report.overdue), (1, 0));
    let first = &schedule(&app, loan_id).await[0];
    assert_eq!(first.status, "paid");
    let unpaid = installment - 100_000;
    let daily = (unpaid + 500) / 1_000;
    assert_eq!(
        first.penalty_accrued,
        30_000 + daily,
        "300 ₽ late fee, 0.1 % of a day"
    );
    assert_eq!(first.penalty_paid, first.penalty_accrued);
    assert_eq!(
        wallet_of(&app, borrower_id).await.0,
        2_000_000 - unpaid - first.penalty_accrued
    );
    assert_eq!(schedule(&app, loan_id).await[1].status, "scheduled");
    assert_verified(&app).await;
}

#[tokio::test]
async fn one_pass_collects_many_loans_at_once_each_as_if_alone_and_a_wallet_pays_its_loans_in_turn()
{
    let app = spawn_app().await;
    let user = TestUser::new(Role::Borrower);
    let borrower = app.browser();
    borrower.register(&user).await;
    let terms = (100_000, 12, Purpose::HomeImprovement, 0);
    let first_id = listed_loan_for(&app, &borrower, &user, terms).await;
    let (investors, browsers, _) = fund_by_three(&app, &first_id).await;
    let first = loan(&app, &first_id).await;
    let second_id = listed_loan_for(&app, &borrower, &user, terms).await;
    // The same three investors hold both loans of this borrower.
    fund_by(&app, &second_id, &browsers).await;
    let second = loan(&app, &second_id).await.id;
    let other = repaying_loan(&app).await;
    let rows = schedule(&app, first.id).await;
    let installment = rows[0].principal + rows[0].interest;
    assert_eq!(
        schedule(&app, second).await[0].principal + schedule(&app, second).await[0].interest,
        installment
    );
    // The borrower of two loans keeps one and a half installments.
    withdraw_all_but(&app, first.borrower_id, installment + installment / 2).await;

    let report = run_due_payments(&app, rows[0].due_date).await;
    assert_eq!(
        (report.loans, report.collected, report.overdue),
        (3, 3, 1),
        "three loans, three payments, one installment short"
    );
    let paid_first = &schedule(&app, first.id).await[0];
    assert_eq!(paid_first.status, "paid", "the earlier loan is paid first");
    let short = &schedule(&app, second).await[0];
    assert_eq!(short.status, "overdue");
    assert_eq!(short.paid_interest + short.paid_principal, installment / 2);
    assert_eq!(short.paid_interest, short.interest, "interest first");
    assert_eq!(schedule(&app, other.id).await[0].status, "paid");
    assert_eq!(wallet_of(&app, first.borrower_id).await.0, 0);

    // Every payment shared among all four stakes of its loan, to the kopeck.
    for (loan_id, amount) in [
        (first.id, installment),
        (second, installment / 2),
        (other.id, installment),
    ] {
        let payments = loan_payments::Entity::find()
            .filter(loan_payments::Column::LoanId.eq(loan_id))
            .all(&app.db)
            .await
            .unwrap();
        assert_eq!(payments.len(), 1);
        assert_eq!(payments[0].amount, amount);
        let shares = distributions::Entity::find()
            .filter(distributions::Column::PaymentId.eq(payments[0].id))
            .all(&app.db)
            .await
            .unwrap();
        assert_eq!(shares.len(), 4, "loan {loan_id}: one share per stake");
        assert_eq!(
            shares.iter().map(|s| s.principal + s.interest).sum::<i64>(),
            amount
        );
    }
    // Each investor is told once of the payments made together: the three
    // holding both loans in one email about two loans.
    let notes = emails_of_kind(&app, "distribution_received").await;
    assert_eq!(notes.len(), 6, "one per investor");
    for investor in &investors {
        let note = only_email_to(&app, &notes, *investor).await;
        assert!(note.subject.contains("from 2 loans"), "{}", note.subject);
        assert!(note.text_body.contains("/investor/investments\n"));
    }
    assert_verified(&app).await;
    // Nothing left to do that day.
    let again = run_due_payments(&app, rows[0].due_date).await;
    assert_eq!((again.collected, again.overdue), (0, 0));

    // With money enough, all three end on the last due date, in one pass:
    // each investor is told once of the loans ending together.
    fund(&app, first.borrower_id, 300_000).await;
    fund(&app, other.borrower_id, 100_000).await;
    for row in &rows[1..] {
        run_due_payments(&app, row.due_date).await;
    }
    for loan_id in [first.id, second, other.id] {
        assert_eq!(loan(&app, &loan_id.to_string()).await.status, "repaid");
    }
    let ended = emails_of_kind(&app, "loan_repaid").await;
    assert_eq!(
        ended.len(),
        3 + 3 + 2 + 1,
        "investors once each, borrowers per loan"
    );
    for investor in &investors {
        let note = only_email_to(&app, &ended, *investor).await;
        assert!(note.subject.starts_with("2 loans"), "{}", note.subject);
    }
    assert_verified(&app).await;
}

/// The one email among `emails` sent to the account `user`.
async fn only_email_to<'a>(
    app: &TestApp,
    emails: &'a [outbox_emails::Model],
    user: Uuid,
) -> &'a outbox_emails::Model {
    let address = users::Entity::find_by_id(user)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .email;
    let theirs: Vec<_> = emails.iter().filter(|e| e.to_address == address).collect();
    assert_eq!(theirs.len(), 1, "one email to {address}");
    theirs[0]
}
