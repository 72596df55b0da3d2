//! The emails of the application flow: received, approved with the terms,
//! rejected with the reason; queued with the decision, sent by the outbox
//! job, and a decision that stands when the mail server refuses.

use crowdlend::domain::{scoring::Grade, settings::Settings, user::Role};
use reqwest::StatusCode;

use crate::{
    applications::{apply, approval, borrower_with_profile, decision, set_kyc},
    helpers::{TestApp, spawn_app, spawn_app_with},
    smtp_server::SmtpServer,
};

async fn grade_of(app: &TestApp) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT risk_grade FROM loan_requests",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<String>(0).unwrap()
}

#[tokio::test]
async fn the_borrower_is_emailed_on_receipt_and_on_approval_with_the_approved_terms() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(&[("SMTP_URL", &smtp.url())]).await;
    let (borrower, user) = borrower_with_profile(&app).await;
    set_kyc(&app, &user.email, "verified").await;
    let id = apply(&borrower, "300000", "24").await;
    assert_eq!(app.run_outbox().await.sent, 1);
    let received = smtp.single_message();
    assert_eq!(received.to, std::slice::from_ref(&user.email));
    assert_eq!(received.subject(), "We have received your loan application");
    let text = received.body("text/plain");
    assert!(text.contains("300\u{a0}000,00\u{a0}₽"), "{text}");
    assert!(text.contains(&format!("/borrower/loans/{id}")), "{text}");

    let grade = grade_of(&app).await;
    let band = *Settings::default()
        .band(Grade::parse(&grade).unwrap())
        .unwrap();
    let rate = band.max_rate.percent().normalize().to_string();
    let (staff, _) = app.signed_in(Role::Staff).await;
    let response = decision(
        &staff,
        &id,
        &approval(
            &grade,
            "250000",
            "18",
            &rate,
            "Approved at the top of the band.",
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.run_outbox().await.sent, 1);
    let all = smtp.received();
    let approval = all.last().unwrap();
    assert_eq!(approval.subject(), "Your loan application is approved");
    let text = approval.body("text/plain").replace('\u{a0}', " ");
    assert!(text.contains("Amount:           250 000,00 ₽"), "{text}");
    assert!(text.contains("Term:             18 months"), "{text}");
    assert!(
        text.contains(
            &format!("Interest rate:    {} a year", band.max_rate).replace('\u{a0}', " ")
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!("Risk grade:       {grade}")),
        "{text}"
    );
    assert!(
        text.contains("7 Dec 2026, 09:30 UTC"),
        "the funding deadline: {text}"
    );
    // The monthly payment is the annuity of the approved terms.
    let payment = crowdlend::domain::schedule::annuity(&crowdlend::domain::schedule::LoanTerms {
        principal: crowdlend::domain::money::Money::from_minor(
            25_000_000,
            crowdlend::domain::money::Currency::Rub,
        )
        .unwrap(),
        rate: band.max_rate,
        term_months: 18,
        start: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
    })
    .unwrap()
    .payment;
    assert!(
        text.contains(&format!("Monthly payment:  {payment}").replace('\u{a0}', " ")),
        "{text}"
    );
    assert!(approval.body("text/html").contains("250\u{a0}000,00"));
}

#[tokio::test]
async fn a_rejection_is_written_as_an_eml_file_with_the_reason() {
    let app = spawn_app().await;
    let (borrower, _) = borrower_with_profile(&app).await;
    let id = apply(&borrower, "300000", "24").await;
    let (staff, _) = app.signed_in(Role::Staff).await;
    let response = decision(
        &staff,
        &id,
        &[
            ("decision", "reject"),
            (
                "comment",
                "The income could not be confirmed by the employer.",
            ),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.run_outbox().await.sent, 2, "received and rejected");
    let files = app.mail_files();
    let rejection = files
        .iter()
        .find(|eml| eml.contains("About your loan application"))
        .expect("the rejection email");
    let parsed = mailparse::parse_mail(rejection.as_bytes()).unwrap();
    let text = crate::smtp_server::part_body(&parsed, "text/plain").unwrap();
    assert!(
        text.contains("could not be confirmed by the employer"),
        "{text}"
    );
}

#[tokio::test]
async fn a_hard_rule_decline_is_emailed_with_the_rules_reason() {
    let app = spawn_app().await;
    let (borrower, _) = app.signed_in(Role::Borrower).await;
    let mut fields = crate::applications::PROFILE.to_vec();
    fields
        .iter_mut()
        .find(|(k, _)| *k == "defaults_12m")
        .unwrap()
        .1 = "4";
    crate::applications::save_profile(&borrower, &fields).await;
    apply(&borrower, "300000", "24").await;
    assert_eq!(app.run_outbox().await.sent, 2);
    let files = app.mail_files();
    assert!(
        files
            .iter()
            .any(|eml| eml.contains("About your loan application") && eml.contains("4 defaults"))
    );
}

#[tokio::test]
async fn a_refusing_mail_server_does_not_undo_the_decision_and_a_refused_decision_sends_nothing() {
    let smtp = SmtpServer::refusing(554).await;
    let app = spawn_app_with(&[("SMTP_URL", &smtp.url())]).await;
    let (borrower, user) = borrower_with_profile(&app).await;
    set_kyc(&app, &user.email, "verified").await;
    let id = apply(&borrower, "300000", "24").await;
    let grade = grade_of(&app).await;
    let band = *Settings::default()
        .band(Grade::parse(&grade).unwrap())
        .unwrap();
    let (staff, _) = app.signed_in(Role::Staff).await;
    let queued = || app.count("SELECT COUNT(*) FROM outbox_emails");
    assert_eq!(queued().await, 1);

    // Outside the band: refused, and nothing is queued.
    let too_high = format!("{}", band.max_rate.bps() / 100 + 1);
    let response = decision(
        &staff,
        &id,
        &approval(&grade, "300000", "24", &too_high, "Too dear."),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(queued().await, 1);

    let rate = band.min_rate.percent().normalize().to_string();
    let response = decision(
        &staff,
        &id,
        &approval(&grade, "300000", "24", &rate, "Fine."),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(queued().await, 2);
    let report = app.run_outbox().await;
    assert_eq!((report.sent, report.retried), (0, 2));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox_emails WHERE state = 'pending' AND attempts = 1 AND last_error IS NOT NULL")
            .await,
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM loan_requests WHERE status = 'funding'")
            .await,
        1,
        "the approval stands"
    );
    let jobs = staff.get_html("/admin/jobs").await;
    assert!(jobs.contains("554"), "the error is visible to staff");
}
