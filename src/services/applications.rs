//! The borrower's use cases: keeping the profile, applying for a loan (which
//! scores it at once) and withdrawing an application.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QuerySelect, sea_query::OnConflict,
};
use serde_json::json;
use url::Url;
use uuid::Uuid;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::{
            borrower_assets, borrower_liabilities, borrower_profiles, loan_requests,
            scoring_results, users,
        },
        queries::applications::{self as queries, StoredFactor, StoredFailure, StoredImprovement},
        repo::loans,
    },
    domain::ids::LoanId,
    domain::ids::UserId,
    domain::{
        application::{Assessment, LoanRequest, Profile, assess},
        error::DomainError,
        lifecycle::{LoanEvent, LoanStatus},
        loan::Loan,
        money::{Currency, Rate},
        scoring::Grade,
    },
    error::{AppError, FieldErrors},
    mail::messages::{ApplicationReceived, ApplicationRejected},
    paths,
    services::{
        RequestMeta,
        audit::{self, AuditEvent},
        outbox, settings,
    },
};

/// Statuses in which an application is still open: a borrower has at most one.
pub const OPEN_STATUSES: [LoanStatus; 4] = [
    LoanStatus::Pending,
    LoanStatus::Scoring,
    LoanStatus::Approved,
    LoanStatus::Funding,
];

fn problems_to_errors(problems: Vec<crate::domain::application::Problem>) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for problem in problems {
        errors.add(problem.field, problem.message);
    }
    errors
}

/// Saves the borrower's profile, replacing the listed debts and assets.
///
/// # Errors
/// `Validation` when a rule between fields fails; database failures.
pub async fn save_profile(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    user_id: UserId,
    profile: &Profile,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let now = clock.now();
    problems_to_errors(profile.problems(now.date_naive())).into_result()?;
    let txn = db::begin_write(db).await?;
    let existed = queries::has_profile(&txn, user_id).await?;
    borrower_profiles::Entity::insert(borrower_profiles::ActiveModel {
        user_id: Set(user_id.into()),
        birth_date: Set(profile.birth_date),
        employment_status: Set(profile.employment.as_str().to_owned()),
        employer: Set(profile.employer.clone()),
        position: Set(profile.position.clone()),
        employed_since: Set(profile.employed_since),
        monthly_income: Set(profile.monthly_income.minor()),
        monthly_expenses: Set(profile.monthly_expenses.minor()),
        currency: Set(profile.monthly_income.currency().code().to_owned()),
        education: Set(profile.education.as_str().to_owned()),
        university: Set(profile.university.clone()),
        graduation_year: Set(profile.graduation_year),
        credit_score: Set(Some(i32::try_from(profile.credit_score).unwrap_or(0))),
        avg_bank_balance: Set(profile.avg_bank_balance.minor()),
        defaults_12m: Set(i32::try_from(profile.defaults_12m).unwrap_or(i32::MAX)),
        inquiries_12m: Set(i32::try_from(profile.inquiries_12m).unwrap_or(i32::MAX)),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(borrower_profiles::Column::UserId)
            .update_columns([
                borrower_profiles::Column::BirthDate,
                borrower_profiles::Column::EmploymentStatus,
                borrower_profiles::Column::Employer,
                borrower_profiles::Column::Position,
                borrower_profiles::Column::EmployedSince,
                borrower_profiles::Column::MonthlyIncome,
                borrower_profiles::Column::MonthlyExpenses,
                borrower_profiles::Column::Currency,
                borrower_profiles::Column::Education,
                borrower_profiles::Column::University,
                borrower_profiles::Column::GraduationYear,
                borrower_profiles::Column::CreditScore,
                borrower_profiles::Column::AvgBankBalance,
                borrower_profiles::Column::Defaults12m,
                borrower_profiles::Column::Inquiries12m,
                borrower_profiles::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    borrower_liabilities::Entity::delete_many()
        .filter(borrower_liabilities::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    borrower_assets::Entity::delete_many()
        .filter(borrower_assets::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    for liability in &profile.liabilities {
        borrower_liabilities::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user_id.into()),
            kind: Set(liability.kind.as_str().to_owned()),
            outstanding: Set(liability.outstanding.minor()),
            monthly_payment: Set(liability.monthly_payment.minor()),
            start_date: Set(liability.start_date),
            end_date: Set(liability.end_date),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    for asset in &profile.assets {
        borrower_assets::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user_id.into()),
            kind: Set(asset.kind.as_str().to_owned()),
            value: Set(asset.value.minor()),
            ownership_pct: Set(i32::try_from(asset.ownership_pct).unwrap_or(100)),
            held_since: Set(asset.held_since),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    audit::record(
        &txn,
        AuditEvent {
            actor_id: Some(user_id),
            action: if existed {
                "borrower_profile_updated"
            } else {
                "borrower_profile_created"
            },
            entity: Some(("borrower_profile", user_id.to_string())),
            before: None,
            after: Some(json!({
                "liabilities": profile.liabilities.len(),
                "assets": profile.assets.len(),
            })),
            meta,
            at: now,
        },
    )
    .await?;
    db::commit(txn).await?;
    Ok(())
}

/// The borrower's open application, if any.
///
/// # Errors
/// On database failure.
pub async fn open_application(
    conn: &impl ConnectionTrait,
    borrower_id: UserId,
) -> Result<Option<Loan>, AppError> {
    loan_requests::Entity::find()
        .filter(loan_requests::Column::BorrowerId.eq(borrower_id))
        .filter(loan_requests::Column::Status.is_in(OPEN_STATUSES.map(LoanStatus::as_str)))
        .one(conn)
        .await?
        .map(loans::parse)
        .transpose()
}

/// Why a borrower cannot apply, from what is known about them.
#[must_use]
pub fn apply_blocker(has_profile: bool, has_open_application: bool) -> Option<DomainError> {
    if !has_profile {
        Some(DomainError::ProfileMissing)
    } else if has_open_application {
        Some(DomainError::ApplicationOpen)
    } else {
        None
    }
}

/// Why a borrower cannot apply right now, if they cannot.
///
/// # Errors
/// On database failure.
pub async fn cannot_apply_because(
    conn: &impl ConnectionTrait,
    borrower_id: UserId,
) -> Result<Option<DomainError>, AppError> {
    let has_profile = queries::has_profile(conn, borrower_id).await?;
    let has_open = has_profile && open_application(conn, borrower_id).await?.is_some();
    Ok(apply_blocker(has_profile, has_open))
}

/// What `submit` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    pub loan_id: LoanId,
    pub status: LoanStatus,
}

/// Applies for a loan: the application is recorded, scored at once, and
/// either waits for staff review (`scoring`) or is declined by a hard rule
/// (`rejected`).
///
/// # Errors
/// `Validation` for a request outside the platform's limits; `Domain`
/// when the borrower has no profile or already an open application;
/// database failures.
pub async fn submit(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    borrower_id: UserId,
    request: &LoanRequest,
    base_url: &Url,
    meta: &RequestMeta,
) -> Result<Submitted, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let settings = settings::load(&txn).await?;
    problems_to_errors(request.problems(&settings)).into_result()?;
    // Locking the borrower's row makes "one open application" hold when the
    // same borrower submits twice at once (FOR UPDATE on PostgreSQL; SQLite's
    // write transaction already runs alone, and sea-query leaves the clause out).
    let borrower = users::Entity::find_by_id(borrower_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(reason) = cannot_apply_because(&txn, borrower_id).await? {
        return Err(reason.into());
    }
    let profile = queries::profile(&txn, borrower_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let assessment = assess(&profile, request, &settings, now.date_naive())
        .map_err(|err| AppError::Validation(FieldErrors::single("amount", err.to_string())))?;

    let loan_id = LoanId::new();
    let amount = request.amount.minor();
    let term = i32::try_from(request.term_months).unwrap_or(i32::MAX);
    let inserted = loan_requests::ActiveModel {
        id: Set(loan_id.into()),
        borrower_id: Set(borrower_id.into()),
        amount: Set(amount),
        currency: Set(Currency::Rub.code().to_owned()),
        term_months: Set(term),
        rate_annual: Set(None),
        requested_amount: Set(amount),
        requested_term_months: Set(term),
        purpose: Set(request.purpose.as_str().to_owned()),
        description: Set(request.description.clone()),
        status: Set(LoanStatus::Pending.as_str().to_owned()),
        funded_amount: Set(0),
        risk_grade: Set(None),
        scoring_score: Set(None),
        listing_mode: Set(request.listing_mode.as_str().to_owned()),
        funding_deadline: Set(None),
        listed_at: Set(None),
        funded_at: Set(None),
        disbursed_at: Set(None),
        closed_at: Set(None),
        rejection_reason: Set(None),
        default_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let mut loan = loans::parse(inserted)?;
    record_loan_event(
        &txn,
        LoanChange {
            actor: Some(borrower_id),
            action: "loan_submitted",
            before: None,
            comment: None,
        },
        &loan,
        meta,
        now,
    )
    .await?;

    store_scorecard(&txn, loan_id, &assessment, now).await?;
    let before = loan.clone();
    let scored = loan_requests::ActiveModel {
        risk_grade: Set(Some(assessment.scorecard.grade.as_str().to_owned())),
        scoring_score: Set(Some(i32::try_from(assessment.scorecard.score).unwrap_or(0))),
        rate_annual: Set(Some(
            i32::try_from(assessment.suggested_rate.bps()).unwrap_or(0),
        )),
        ..Default::default()
    };
    let loan_url = outbox::link(base_url, &paths::borrower_loan(loan_id));
    outbox::enqueue(
        &txn,
        now,
        &borrower.email,
        &ApplicationReceived {
            full_name: borrower.full_name.clone(),
            loan_url: loan_url.clone(),
            amount: request.amount,
            term_months: term,
            purpose: request.purpose.label().to_owned(),
        },
    )
    .await?;
    let mut status = loans::apply(&txn, &loan, LoanEvent::StartScoring, now, scored).await?;
    loan = loans::get(&txn, loan_id).await?;
    record_loan_event(
        &txn,
        LoanChange {
            actor: None,
            action: "loan_scored",
            before: Some(&before),
            comment: None,
        },
        &loan,
        meta,
        now,
    )
    .await?;

    if assessment.scorecard.declined() {
        let reason = assessment
            .scorecard
            .hard_rule_failures
            .iter()
            .map(|failure| failure.message.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        outbox::enqueue(
            &txn,
            now,
            &borrower.email,
            &ApplicationRejected {
                full_name: borrower.full_name.clone(),
                loan_url,
                reason: reason.clone(),
            },
        )
        .await?;
        let before = loan.clone();
        let declined = loan_requests::ActiveModel {
            rejection_reason: Set(Some(reason)),
            closed_at: Set(Some(now)),
            ..Default::default()
        };
        status = loans::apply(&txn, &loan, LoanEvent::Reject, now, declined).await?;
        loan = loans::get(&txn, loan_id).await?;
        record_loan_event(
            &txn,
            LoanChange {
                actor: None,
                action: "loan_rejected",
                before: Some(&before),
                comment: None,
            },
            &loan,
            meta,
            now,
        )
        .await?;
    }
    db::commit(txn).await?;
    Ok(Submitted { loan_id, status })
}

/// The audited facts of a loan, for before/after (stored words and minor
/// units, as the columns hold them).
fn loan_snapshot(loan: &Loan) -> serde_json::Value {
    json!({
        "status": loan.status.as_str(),
        "amount": loan.amount.minor(),
        "term_months": loan.term_months,
        "rate_annual": loan.rate.map(Rate::bps),
        "risk_grade": loan.grade.map(Grade::as_str),
        "scoring_score": loan.score,
        "funding_deadline": loan.funding_deadline,
        "rejection_reason": loan.rejection_reason,
    })
}

/// What happened to a loan, for its audit record.
pub(crate) struct LoanChange<'a> {
    /// `None` for the platform itself (the scorecard).
    pub actor: Option<UserId>,
    pub action: &'static str,
    pub before: Option<&'a Loan>,
    /// Staff's reasoning, kept with the record.
    pub comment: Option<&'a str>,
}

/// An audit record about `loan` as it is now.
pub(crate) async fn record_loan_event(
    conn: &impl ConnectionTrait,
    change: LoanChange<'_>,
    loan: &Loan,
    meta: &RequestMeta,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    let LoanChange {
        actor,
        action,
        before,
        comment,
    } = change;
    let mut after = loan_snapshot(loan);
    if let (Some(comment), Some(fields)) = (comment, after.as_object_mut()) {
        fields.insert("comment".to_owned(), comment.into());
    }
    audit::record(
        conn,
        AuditEvent {
            actor_id: actor,
            action,
            entity: Some(("loan_request", loan.id.to_string())),
            before: before.map(loan_snapshot),
            after: Some(after),
            meta,
            at,
        },
    )
    .await?;
    Ok(())
}

async fn store_scorecard(
    conn: &impl ConnectionTrait,
    loan_id: LoanId,
    assessment: &Assessment,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    let card = &assessment.scorecard;
    let factors: Vec<StoredFactor> = card
        .factors
        .iter()
        .map(|f| StoredFactor {
            key: f.key.to_owned(),
            name: f.name.to_owned(),
            input: f.input.clone(),
            points: f.points,
            max_points: f.max_points,
        })
        .collect();
    let failures: Vec<StoredFailure> = card
        .hard_rule_failures
        .iter()
        .map(|f| StoredFailure {
            key: f.key.to_owned(),
            message: f.message.clone(),
        })
        .collect();
    // A declined borrower first needs to know what lifts each rule; then
    // which single change would raise the grade.
    let improvements: Vec<StoredImprovement> = card
        .hard_rule_failures
        .iter()
        .map(|f| StoredImprovement {
            factor: f.key.to_owned(),
            grade: String::new(),
            text: f.remedy.clone(),
        })
        .chain(card.improvements().into_iter().map(|i| StoredImprovement {
            factor: i.factor.to_owned(),
            grade: i.new_grade.as_str().to_owned(),
            text: i.to_string(),
        }))
        .collect();
    scoring_results::ActiveModel {
        id: Set(Uuid::now_v7()),
        loan_id: Set(loan_id.into()),
        model_version: Set(card.model_version.to_owned()),
        score: Set(i32::try_from(card.score).unwrap_or(0)),
        grade: Set(card.grade.as_str().to_owned()),
        suggested_rate: Set(i32::try_from(assessment.suggested_rate.bps()).unwrap_or(0)),
        max_amount: Set(assessment.band.max_amount.minor()),
        max_term_months: Set(i32::try_from(assessment.band.max_term_months).unwrap_or(0)),
        new_installment: Set(assessment.new_installment.minor()),
        factors: Set(json_text(&factors)?),
        hard_rule_failures: Set(json_text(&failures)?),
        improvements: Set(json_text(&improvements)?),
        computed_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}

fn json_text(value: &impl serde::Serialize) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|err| AppError::Unexpected(err.into()))
}
