//! Staff's decision on a scored application: approve with terms inside the
//! grade's band (which lists the loan for funding with a deadline), or reject
//! with a reason. Audited with the terms before and after and the comment.

use chrono::{SubsecRound, TimeDelta};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use url::Url;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::{loan_requests, users},
        repo::loans,
    },
    domain::ids::LoanId,
    domain::ids::UserId,
    domain::{
        error::DomainError,
        lifecycle::{LoanEvent, LoanStatus},
        loan::Loan,
        money::{Money, Rate},
        schedule::{self, LoanTerms},
        scoring::Grade,
        settings::Settings,
        user::KycStatus,
    },
    error::{AppError, FieldErrors},
    mail::messages::{ApplicationApproved, ApplicationRejected},
    paths,
    services::{
        RequestMeta,
        applications::{LoanChange, record_loan_event},
        outbox, settings,
    },
};

/// Longest staff comment kept.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// The terms staff approve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedTerms {
    pub grade: Grade,
    pub amount: Money,
    pub term_months: u32,
    pub rate: Rate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve(ApprovedTerms),
    Reject,
}

/// A decision with staff's reasoning (required; a rejection's comment is
/// what the borrower is told).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub decision: Decision,
    pub comment: String,
}

/// Why approved terms cannot stand, field by field.
#[must_use]
pub fn terms_errors(terms: &ApprovedTerms, loan: &Loan, settings: &Settings) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let Some(band) = settings.band(terms.grade) else {
        errors.add("risk_grade", "Choose a grade from A to F.");
        return errors;
    };
    let amount = terms.amount.minor();
    if amount > loan.amount.minor() {
        errors.add(
            "amount",
            format!(
                "The amount may only be lowered: at most {} (what the borrower asked for).",
                loan.amount
            ),
        );
    } else if amount > band.max_amount.minor() {
        errors.add(
            "amount",
            format!(
                "Grade {} may borrow at most {}.",
                terms.grade, band.max_amount
            ),
        );
    } else if amount < settings.min_loan_amount.minor() {
        errors.add(
            "amount",
            format!(
                "The smallest loan the platform lists is {}.",
                settings.min_loan_amount
            ),
        );
    }
    if !settings.loan_terms.contains(&terms.term_months) {
        errors.add("term_months", "Choose one of the platform's terms.");
    } else if terms.term_months > band.max_term_months {
        errors.add(
            "term_months",
            format!(
                "Grade {} may borrow for at most {} months.",
                terms.grade, band.max_term_months
            ),
        );
    }
    if terms.rate < band.min_rate || terms.rate > band.max_rate {
        errors.add(
            "rate_annual",
            format!(
                "For grade {} the rate must be from {} to {}.",
                terms.grade, band.min_rate, band.max_rate
            ),
        );
    }
    errors
}

/// Records staff's decision on `loan_id`. Returns the loan's new status:
/// `funding` after an approval (approved, then listed at once), `rejected`.
///
/// # Errors
/// `Validation` for a missing comment or terms outside the grade's band;
/// `Domain` for a move the lifecycle refuses (e.g. approving a withdrawn
/// application) or a borrower whose identity is not verified while the
/// platform requires it; `NotFound`; database failures.
pub async fn decide(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    staff_id: UserId,
    loan_id: LoanId,
    review: &Review,
    base_url: &Url,
    meta: &RequestMeta,
) -> Result<LoanStatus, AppError> {
    let now = clock.now();
    let decision = &review.decision;
    let comment = review.comment.trim();
    let mut errors = FieldErrors::new();
    if comment.is_empty() {
        errors.add("comment", "Explain the decision: the comment is required.");
    } else if comment.chars().count() > MAX_COMMENT_CHARS {
        errors.add(
            "comment",
            format!("Keep the comment under {MAX_COMMENT_CHARS} characters."),
        );
    }
    let txn = db::begin_write(db).await?;
    let settings = settings::load(&txn).await?;
    let loan = loans::lock(&txn, loan_id).await?;
    if let Decision::Approve(terms) = decision {
        for (field, message) in terms_errors(terms, &loan, &settings).iter() {
            errors.add(field, message);
        }
    }
    errors.into_result()?;

    let borrower = users::Entity::find_by_id(loan.borrower_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let loan_url = outbox::link(base_url, &paths::borrower_loan(loan_id));
    let status = match decision {
        Decision::Approve(terms) => {
            if settings.kyc_required && borrower.kyc_status != KycStatus::Verified.as_str() {
                return Err(DomainError::BorrowerNotVerified.into());
            }
            let approved = loan_requests::ActiveModel {
                risk_grade: Set(Some(terms.grade.as_str().to_owned())),
                amount: Set(terms.amount.minor()),
                term_months: Set(i32::try_from(terms.term_months).unwrap_or(i32::MAX)),
                rate_annual: Set(Some(i32::try_from(terms.rate.bps()).unwrap_or(0))),
                ..Default::default()
            };
            loans::apply(&txn, &loan, LoanEvent::Approve, now, approved).await?;
            let approved_loan = loans::get(&txn, loan_id).await?;
            record_loan_event(
                &txn,
                LoanChange {
                    actor: Some(staff_id),
                    action: "loan_approved",
                    before: Some(&loan),
                    comment: Some(comment),
                },
                &approved_loan,
                meta,
                now,
            )
            .await?;
            // Microseconds, as PostgreSQL keeps them and as the marketplace's
            // cursor carries them: SQLite would keep nanoseconds, and a page
            // cut at a deadline would then repeat its last loan on the next.
            let deadline =
                (now + TimeDelta::days(i64::from(settings.funding_days))).trunc_subsecs(6);
            let listed = loan_requests::ActiveModel {
                listed_at: Set(Some(now)),
                funding_deadline: Set(Some(deadline)),
                ..Default::default()
            };
            let status = loans::apply(&txn, &approved_loan, LoanEvent::List, now, listed).await?;
            let listed_loan = loans::get(&txn, loan_id).await?;
            record_loan_event(
                &txn,
                LoanChange {
                    actor: Some(staff_id),
                    action: "loan_listed",
                    before: Some(&approved_loan),
                    comment: None,
                },
                &listed_loan,
                meta,
                now,
            )
            .await?;
            let monthly_payment = schedule::annuity(&LoanTerms {
                principal: terms.amount,
                rate: terms.rate,
                term_months: terms.term_months,
                start: now.date_naive(),
            })
            .map_err(|err| AppError::Validation(FieldErrors::single("amount", err.to_string())))?
            .payment;
            outbox::enqueue(
                &txn,
                now,
                &borrower.email,
                &ApplicationApproved {
                    full_name: borrower.full_name.clone(),
                    loan_url,
                    amount: terms.amount,
                    term_months: i32::try_from(listed_loan.term_months).unwrap_or(i32::MAX),
                    rate: terms.rate,
                    monthly_payment,
                    grade: terms.grade.as_str().to_owned(),
                    funding_deadline: deadline,
                },
            )
            .await?;
            status
        }
        Decision::Reject => {
            let rejected = loan_requests::ActiveModel {
                rejection_reason: Set(Some(comment.to_owned())),
                closed_at: Set(Some(now)),
                ..Default::default()
            };
            let status = loans::apply(&txn, &loan, LoanEvent::Reject, now, rejected).await?;
            let after = loans::get(&txn, loan_id).await?;
            record_loan_event(
                &txn,
                LoanChange {
                    actor: Some(staff_id),
                    action: "loan_rejected",
                    before: Some(&loan),
                    comment: Some(comment),
                },
                &after,
                meta,
                now,
            )
            .await?;
            outbox::enqueue(
                &txn,
                now,
                &borrower.email,
                &ApplicationRejected {
                    full_name: borrower.full_name.clone(),
                    loan_url,
                    reason: comment.to_owned(),
                },
            )
            .await?;
            status
        }
    };
    db::commit(txn).await?;
    Ok(status)
}
