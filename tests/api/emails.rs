//! Emails: queued in the transaction of the event they announce, sent by the
//! outbox job over SMTP (a real SMTP server in the test) or written as `.eml`
//! files, retried with backoff when the server refuses, left for staff at
//! `/admin/jobs` after five attempts, and never sent twice.

use chrono::TimeDelta;
use crowdlend::{
    clock::Clock, db::entities::outbox_emails, domain::user::Role, jobs::outbox::OutboxReport,
    mail::messages::KycDecision, services::outbox,
};
use reqwest::StatusCode;
use sea_orm::EntityTrait;

use crate::{
    helpers::{TestApp, assert_redirects_to, spawn_app, spawn_app_with, text_at},
    identity::{decide, pending_user},
    smtp_server::{Behaviour, SmtpServer, header, part_body},
};

async fn only_email(app: &TestApp) -> outbox_emails::Model {
    let mut all = outbox_emails::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(all.len(), 1, "{all:#?}");
    all.remove(0)
}

fn report(sent: u32, retried: u32, failed: u32) -> OutboxReport {
    OutboxReport {
        sent,
        retried,
        failed,
    }
}

#[tokio::test]
async fn a_verified_identity_check_is_emailed_over_smtp_once() {
    // Arrange
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(&[("SMTP_URL", &smtp.url())]).await;
    let (_, email, id) = pending_user(&app, Role::Investor).await;
    let (staff, _) = app.signed_in(Role::Staff).await;
    assert_redirects_to(
        &decide(&staff, id, "verify", "").await,
        &format!("/admin/users/{id}"),
    );
    assert!(
        smtp.received().is_empty(),
        "nothing is sent before the job runs"
    );

    // Act
    let first = app.run_outbox().await;
    let second = app.run_outbox().await;

    // Assert
    assert_eq!(first, report(1, 0, 0));
    assert_eq!(second, report(0, 0, 0), "a sent email is not sent again");
    let message = smtp.single_message();
    assert_eq!(message.to, std::slice::from_ref(&email));
    assert_eq!(message.from, "no-reply@localhost");
    assert_eq!(message.subject(), "Your identity is verified");
    let parsed = message.parsed();
    assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
    assert_eq!(header(&parsed, "To"), email);
    assert_eq!(header(&parsed, "From"), "Crowdlend <no-reply@localhost>");
    assert!(header(&parsed, "Message-ID").contains("@localhost>"));
    let text = message.body("text/plain");
    assert!(text.contains("Hello Test Investor,"), "{text}");
    assert!(text.contains("identity is now verified"), "{text}");
    assert!(text.contains("What happens next"));
    assert!(
        text.contains("/account/identity"),
        "a link back to the identity check"
    );
    let html = message.body("text/html");
    assert!(html.contains("<strong>verified</strong>"), "{html}");
    let row = only_email(&app).await;
    assert_eq!(row.state, "sent");
    assert_eq!(row.kind, "kyc_decision");
    assert_eq!(
        header(&parsed, "Message-ID"),
        format!("<{}@localhost>", row.id),
        "the Message-ID names the queued email"
    );
    assert_eq!(row.sent_at, Some(app.clock.now()));
}

#[tokio::test]
async fn a_rejection_email_gives_the_reason() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(&[("SMTP_URL", &smtp.url())]).await;
    let (_, email, id) = pending_user(&app, Role::Borrower).await;
    let (staff, _) = app.signed_in(Role::Staff).await;
    let reason = "The issue date does not match the document's scan & photo.";
    assert_redirects_to(
        &decide(&staff, id, "reject", reason).await,
        &format!("/admin/users/{id}"),
    );

    assert_eq!(app.run_outbox().await, report(1, 0, 0));

    let message = smtp.single_message();
    assert_eq!(message.to, [email]);
    assert_eq!(message.subject(), "We could not verify your identity");
    assert!(message.body("text/plain").contains(reason));
    let html = message.body("text/html");
    assert!(
        html.contains("The issue date does not match the document&#39;s scan &#38; photo."),
        "escaped in HTML: {html}"
    );
}

#[tokio::test]
async fn without_smtp_emails_are_written_as_eml_files_in_the_data_folder() {
    let app = spawn_app().await;
    let (_, email, id) = pending_user(&app, Role::Borrower).await;
    let (staff, _) = app.signed_in(Role::Staff).await;
    decide(&staff, id, "verify", "").await;
    assert!(app.mail_files().is_empty());

    assert_eq!(app.run_outbox().await, report(1, 0, 0));

    let files = app.mail_files();
    assert_eq!(files.len(), 1);
    let parsed = mailparse::parse_mail(files[0].as_bytes()).unwrap();
    assert_eq!(header(&parsed, "To"), email);
    assert_eq!(header(&parsed, "Subject"), "Your identity is verified");
    assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
    assert!(
        part_body(&parsed, "text/plain")
            .unwrap()
            .contains("Hello Test Borrower,")
    );
    assert!(
        part_body(&parsed, "text/html")
            .unwrap()
            .contains("<p>Hello Test Borrower,</p>")
    );
    assert_eq!(only_email(&app).await.state, "sent");
}

#[tokio::test]
async fn a_refusing_server_gets_five_attempts_with_backoff_then_staff_see_the_failure_and_retry() {
    // Arrange: a verified user whose email the server refuses.
    let smtp = SmtpServer::refusing(554).await;
    let app = spawn_app_with(&[("SMTP_URL", &smtp.url())]).await;
    let (_, email, id) = pending_user(&app, Role::Investor).await;
    let (staff, _) = app.signed_in(Role::Staff).await;
    decide(&staff, id, "verify", "").await;

    // Act and assert: each attempt is recorded and the next one scheduled.
    for (attempt, wait_minutes) in [(1, 1), (2, 5), (3, 30), (4, 120)] {
        assert_eq!(app.run_outbox().await, report(0, 1, 0), "attempt {attempt}");
        let row = only_email(&app).await;
        assert_eq!(row.state, "pending");
        assert_eq!(row.attempts, attempt);
        let error = row.last_error.unwrap();
        assert!(error.contains("554"), "{error}");
        assert!(
            error.contains("Sender refused by the test server"),
            "{error}"
        );
        assert_eq!(
            row.next_attempt_at,
            app.clock.now() + TimeDelta::minutes(wait_minutes)
        );
        assert_eq!(
            app.run_outbox().await,
            report(0, 0, 0),
            "not due before its time"
        );
        app.clock.advance(TimeDelta::minutes(wait_minutes));
    }
    assert_eq!(app.run_outbox().await, report(0, 0, 1));
    let row = only_email(&app).await;
    assert_eq!(row.state, "failed");
    assert_eq!(row.attempts, 5);
    assert_eq!(
        app.run_outbox().await,
        report(0, 0, 0),
        "failed emails wait for staff"
    );
    assert!(smtp.received().is_empty());
    assert_eq!(
        app.user(&email).await.kyc_status,
        "verified",
        "a failed email never undoes the decision"
    );

    // Staff see it, with the error, and put it back in the queue (signing in
    // again: hours have passed).
    let (staff, _) = app.signed_in(Role::Staff).await;
    let jobs = staff.get_html("/admin/jobs").await;
    assert_eq!(
        text_at(&jobs, r#"#outbox-counts [data-state="failed"] .stat-value"#).as_deref(),
        Some("1")
    );
    let table = text_at(&jobs, "#troubled-emails").unwrap();
    assert!(table.contains(&email), "{table}");
    assert!(table.contains("Kyc decision"));
    assert!(table.contains("Failed"));
    assert!(table.contains("Sender refused by the test server"));
    assert!(jobs.contains(&format!("/admin/jobs/emails/{}/retry", row.id)));
    let response = staff
        .submit(
            "/admin/jobs",
            &format!("/admin/jobs/emails/{}/retry", row.id),
            &[],
        )
        .await;
    assert_redirects_to(&response, "/admin/jobs");
    assert!(
        staff
            .get_html("/admin/jobs")
            .await
            .contains(&format!("The email to {email} is back in the queue"))
    );
    let row = only_email(&app).await;
    assert_eq!(row.state, "pending");
    assert_eq!(row.attempts, 5, "attempts are kept");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'email_retry_requested'")
            .await,
        1
    );
    // Retrying what is no longer failed is refused.
    let response = staff
        .submit(
            "/admin/jobs",
            &format!("/admin/jobs/emails/{}/retry", row.id),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Once the server accepts again, the email goes out.
    smtp.set_behaviour(Behaviour::Accept);
    assert_eq!(app.run_outbox().await, report(1, 0, 0));
    assert_eq!(smtp.single_message().to, [email]);
}

#[tokio::test]
async fn an_unreachable_server_counts_as_a_failed_attempt() {
    // A port nothing listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let app = spawn_app_with(&[("SMTP_URL", &format!("smtp://127.0.0.1:{port}"))]).await;
    let (_, _, id) = pending_user(&app, Role::Borrower).await;
    let (staff, _) = app.signed_in(Role::Staff).await;
    decide(&staff, id, "verify", "").await;

    assert_eq!(app.run_outbox().await, report(0, 1, 0));
    let row = only_email(&app).await;
    assert_eq!(row.attempts, 1);
    assert!(!row.last_error.unwrap().is_empty());
}

/// Queues an identity-check email to `to` directly, as a use case would.
async fn queue_email(app: &TestApp, to: &str) {
    outbox::enqueue(
        &app.db,
        app.clock.now(),
        to,
        &KycDecision {
            full_name: "Someone".to_owned(),
            verified: true,
            reason: None,
            account_url: "http://127.0.0.1/account/identity".to_owned(),
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_server_that_accepts_and_never_answers_costs_each_email_one_attempt() {
    // A listener that accepts every connection and never says a word (no
    // greeting): lettre's own timeout covers connecting, not this.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(socket);
        }
    });
    let app = spawn_app_with(&[
        ("SMTP_URL", &format!("smtp://127.0.0.1:{port}")),
        ("SMTP_TIMEOUT", "1"),
    ])
    .await;
    queue_email(&app, "first@example.com").await;
    queue_email(&app, "second@example.com").await;

    // The pass ends (a generous bound, far above the two 1-second timeouts;
    // before the fix it never ended) and each email counts one failed attempt.
    let pass = tokio::time::timeout(std::time::Duration::from_secs(30), app.run_outbox())
        .await
        .expect("the outbox pass ends although the server never answers");
    assert_eq!(pass, report(0, 2, 0));
    assert!(accepted.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    let rows = outbox_emails::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!(row.state, "pending", "back in the queue, not stuck sending");
        assert_eq!(row.attempts, 1);
        let error = row.last_error.unwrap_or_default();
        assert!(error.contains("within 1 second;"), "{error}");
    }
}

#[tokio::test]
async fn two_senders_at_once_send_every_email_exactly_once() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(&[("SMTP_URL", &smtp.url())]).await;
    let count = 12;
    for n in 0..count {
        outbox::enqueue(
            &app.db,
            app.clock.now(),
            &format!("person{n}@example.com"),
            &KycDecision {
                full_name: format!("Person {n}"),
                verified: true,
                reason: None,
                account_url: "http://127.0.0.1/account/identity".to_owned(),
            },
        )
        .await
        .unwrap();
    }

    let (first, second) = tokio::join!(app.run_outbox(), app.run_outbox());

    assert_eq!(first.sent + second.sent, count);
    let mut recipients: Vec<String> = smtp
        .received()
        .into_iter()
        .flat_map(|message| message.to)
        .collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(smtp.received().len(), count as usize, "none sent twice");
    assert_eq!(recipients.len(), count as usize, "none left out");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox_emails WHERE state = 'sent'")
            .await,
        i64::from(count)
    );
}

#[tokio::test]
async fn an_email_whose_sender_died_mid_send_is_sent_once_the_claim_expires() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(&[("SMTP_URL", &smtp.url())]).await;
    outbox::enqueue(
        &app.db,
        app.clock.now(),
        "someone@example.com",
        &KycDecision {
            full_name: "Someone".to_owned(),
            verified: false,
            reason: Some("Unreadable".to_owned()),
            account_url: "http://127.0.0.1/account/identity".to_owned(),
        },
    )
    .await
    .unwrap();
    // A sender claims the email and dies before recording anything.
    let claimed = outbox::claim_next(&app.db, app.clock.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.email.to, "someone@example.com");
    assert_eq!(only_email(&app).await.state, "sending");

    assert_eq!(
        app.run_outbox().await,
        report(0, 0, 0),
        "another sender leaves a fresh claim alone"
    );
    app.clock
        .advance(outbox::CLAIM_TIMEOUT + TimeDelta::seconds(1));
    assert_eq!(app.run_outbox().await, report(1, 0, 0));
    assert_eq!(smtp.single_message().to, ["someone@example.com"]);
    let row = only_email(&app).await;
    assert_eq!(row.state, "sent");
    assert_eq!(row.attempts, 1, "the abandoned attempt counts");
    assert_eq!(row.last_error.as_deref(), Some(outbox::ABANDONED_ERROR));
}

#[tokio::test]
async fn an_email_whose_sender_dies_every_time_fails_after_five_attempts() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(&[("SMTP_URL", &smtp.url())]).await;
    queue_email(&app, "someone@example.com").await;
    for attempt in 1..=5 {
        // A sender claims the email and is killed before it reports back.
        let claimed = outbox::claim_next(&app.db, app.clock.now()).await.unwrap();
        assert!(claimed.is_some(), "attempt {attempt} finds it in the queue");
        app.clock
            .advance(outbox::CLAIM_TIMEOUT + TimeDelta::seconds(1));
        assert_eq!(
            outbox::requeue_abandoned(&app.db, app.clock.now())
                .await
                .unwrap(),
            1
        );
    }
    let row = only_email(&app).await;
    assert_eq!(row.state, "failed", "left for staff, never stuck sending");
    assert_eq!(row.attempts, 5);
    assert_eq!(app.run_outbox().await, report(0, 0, 0));
    assert!(smtp.received().is_empty());
}

#[tokio::test]
async fn the_jobs_page_is_for_staff_and_admins_only() {
    let app = spawn_app().await;
    let (staff, _) = app.signed_in(Role::Staff).await;
    let html = staff.get_html("/admin/jobs").await;
    assert_eq!(
        text_at(&html, "#troubled-emails").is_none(),
        html.contains("No failed emails and none waiting after an error.")
    );
    assert!(
        html.contains(r#"href="/admin/jobs""#),
        "linked in the navigation"
    );
    let (admin, _) = app.signed_in(Role::Admin).await;
    assert_eq!(admin.get("/admin/jobs").await.status(), StatusCode::OK);
    for role in [Role::Borrower, Role::Investor] {
        let (browser, _) = app.signed_in(role).await;
        assert_eq!(
            browser.get("/admin/jobs").await.status(),
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        staff.get("/admin/jobs?page=x").await.status(),
        StatusCode::BAD_REQUEST
    );
    let response = staff
        .submit(
            "/admin/jobs",
            &format!("/admin/jobs/emails/{}/retry", uuid::Uuid::new_v4()),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
