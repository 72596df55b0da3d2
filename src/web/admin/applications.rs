//! The review queue (`GET /admin/applications`), one application with
//! everything staff decide on (`GET /admin/applications/{id}`), and the
//! decision (`POST /admin/applications/{id}/decision`). Staff and admins.

use actix_session::Session;
use actix_web::{
    HttpResponse,
    web::{Data, Path, Query},
};
use askama::Template;
use serde::Deserialize;
use validator::Validate;

use crate::{
    db::queries::{
        Page,
        applications::{self as queries, QueueFilter},
        investments as investment_queries,
    },
    domain::{
        application::Profile,
        ids::LoanId,
        lifecycle::LoanStatus,
        loan::Loan,
        money::{Currency, Money, Rate},
        scoring::Grade,
        settings::Settings,
        user::User,
    },
    error::{AppError, FieldErrors},
    format,
    services::{
        auto_invest::{self, Allocated},
        review::{self, ApprovedTerms, Decision, Review},
        settings,
    },
    state::AppState,
    web::{
        admin::audit::humanize,
        error::{WebError, refusal},
        extractors::{ClientMeta, CurrentUser},
        forms::{Choice, StrictForm, add_validation_errors, choices},
        layout::{BaseCtx, form_status, page, render, see_other},
        loan_facts::{LoanFacts, Servicing},
        scorecard::ScorecardView,
        session::{self, FlashLevel},
    },
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    status: Option<String>,
    grade: Option<String>,
    page: Option<u64>,
}

struct QueueLine {
    loan: LoanFacts,
    borrower: String,
    score: String,
}

#[derive(Template)]
#[template(path = "admin/applications/index.html")]
struct QueuePage {
    base: BaseCtx,
    lines: Page<QueueLine>,
    status_choices: Vec<Choice>,
    grade_choices: Vec<Choice>,
    status: String,
    grade: String,
}

impl QueuePage {
    fn page_link(&self, page: u64) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("status", &self.status);
        if !self.grade.is_empty() {
            query.append_pair("grade", &self.grade);
        }
        query.append_pair("page", &page.to_string());
        format!("/admin/applications?{}", query.finish())
    }
}

/// The queue shows applications awaiting review unless told otherwise;
/// `status=all` shows every status.
const DEFAULT_STATUS: LoanStatus = LoanStatus::Scoring;

pub async fn index(
    base: BaseCtx,
    state: Data<AppState>,
    Query(query): Query<QueueQuery>,
) -> Result<HttpResponse, WebError> {
    let status = query
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| *s == "all" || LoanStatus::parse(s).is_some())
        .unwrap_or(DEFAULT_STATUS.as_str())
        .to_owned();
    let grade = query
        .grade
        .as_deref()
        .and_then(|g| Grade::parse(g.trim()))
        .map(|g| g.as_str().to_owned())
        .unwrap_or_default();
    let filter = QueueFilter {
        status: (status != "all").then(|| status.clone()),
        grade: (!grade.is_empty()).then(|| grade.clone()),
    };
    let rows = queries::queue(&state.db, &filter, query.page).await?;
    let lines = Page {
        items: rows
            .items
            .iter()
            .map(|(loan, borrower)| QueueLine {
                loan: LoanFacts::new(loan),
                borrower: borrower
                    .as_ref()
                    .map(|u| format!("{} <{}>", u.full_name, u.email))
                    .unwrap_or_default(),
                score: loan.score.map_or_else(|| "–".to_owned(), |s| s.to_string()),
            })
            .collect(),
        page: rows.page,
        pages: rows.pages,
        total: rows.total,
    };
    let mut statuses: Vec<(&str, &str)> = vec![("all", "All statuses")];
    statuses.extend(LoanStatus::ALL.iter().map(|s| (s.as_str(), s.label())));
    page(&QueuePage {
        base,
        lines,
        status_choices: choices("", statuses, &status),
        grade_choices: choices(
            "All grades",
            Grade::ALL.iter().map(|g| (g.as_str(), g.as_str())),
            &grade,
        ),
        status,
        grade,
    })
}

/// The decision form as typed.
#[derive(Debug, Default, Clone, Deserialize, Validate)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionForm {
    decision: String,
    risk_grade: String,
    amount: String,
    term_months: String,
    rate_annual: String,
    #[validate(length(
        min = 1,
        max = 2000,
        message = "Explain the decision in 1 to 2000 characters: the comment is required."
    ))]
    comment: String,
}

impl DecisionForm {
    fn prefilled(loan: &Loan) -> Self {
        Self {
            decision: String::new(),
            risk_grade: loan
                .grade
                .map(|g| g.as_str().to_owned())
                .unwrap_or_default(),
            amount: loan.amount.amount().normalize().to_string(),
            term_months: loan.term_months.to_string(),
            rate_annual: loan
                .rate
                .map(|r| r.percent().normalize().to_string())
                .unwrap_or_default(),
            comment: String::new(),
        }
    }

    fn parse(&self, currency: Currency) -> Result<Review, FieldErrors> {
        let mut errors = FieldErrors::new();
        add_validation_errors(&mut errors, self.validate());
        let decision = match self.decision.as_str() {
            "reject" => Some(Decision::Reject),
            "approve" => {
                let grade = Grade::parse(self.risk_grade.trim());
                if grade.is_none() {
                    errors.add("risk_grade", "Choose a grade from A to F.");
                }
                let amount = Money::parse(&self.amount, currency)
                    .map_err(|err| errors.add("amount", err.to_string()))
                    .ok();
                let term = self
                    .term_months
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| errors.add("term_months", "Choose a term."))
                    .ok();
                let rate = Rate::parse_percent(&self.rate_annual)
                    .map_err(|err| errors.add("rate_annual", err.to_string()))
                    .ok();
                match (grade, amount, term, rate) {
                    (Some(grade), Some(amount), Some(term_months), Some(rate)) => {
                        Some(Decision::Approve(ApprovedTerms {
                            grade,
                            amount,
                            term_months,
                            rate,
                        }))
                    }
                    _ => None,
                }
            }
            _ => {
                errors.add("decision", "Choose whether to approve or reject.");
                None
            }
        };
        match decision {
            Some(decision) if errors.is_empty() => Ok(Review {
                decision,
                comment: self.comment.clone(),
            }),
            _ => Err(errors),
        }
    }
}

struct HistoryLine {
    at: String,
    who: String,
    what: String,
    comment: String,
}

struct BandLine {
    grade: String,
    rates: String,
    max_amount: String,
    max_term_months: u32,
}

struct ProfileFacts {
    age: u32,
    employment: String,
    employer: String,
    employed_since: String,
    income: String,
    expenses: String,
    education: String,
    credit_score: u32,
    avg_bank_balance: String,
    defaults_12m: u32,
    inquiries_12m: u32,
    liabilities: Vec<String>,
    assets: Vec<String>,
}

impl ProfileFacts {
    fn new(profile: &Profile, today: chrono::NaiveDate) -> Self {
        Self {
            age: crate::domain::application::age_on(profile.birth_date, today),
            employment: profile.employment.label().to_owned(),
            employer: [profile.employer.clone(), profile.position.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
            employed_since: profile.employed_since.map(format::day).unwrap_or_default(),
            income: profile.monthly_income.to_string(),
            expenses: profile.monthly_expenses.to_string(),
            education: match (&profile.university, profile.graduation_year) {
                (Some(uni), Some(year)) => format!("{} ({uni}, {year})", profile.education.label()),
                (Some(uni), None) => format!("{} ({uni})", profile.education.label()),
                _ => profile.education.label().to_owned(),
            },
            credit_score: profile.credit_score,
            avg_bank_balance: profile.avg_bank_balance.to_string(),
            defaults_12m: profile.defaults_12m,
            inquiries_12m: profile.inquiries_12m,
            liabilities: profile
                .liabilities
                .iter()
                .map(|l| {
                    format!(
                        "{}: {} owed, {} a month, since {}{}",
                        l.kind.label(),
                        l.outstanding,
                        l.monthly_payment,
                        l.start_date,
                        l.end_date
                            .map(|d| format!(" until {d}"))
                            .unwrap_or_default()
                    )
                })
                .collect(),
            assets: profile
                .assets
                .iter()
                .map(|a| {
                    format!(
                        "{}: {} ({} % owned){}",
                        a.kind.label(),
                        a.value,
                        a.ownership_pct,
                        a.held_since
                            .map(|d| format!(", since {d}"))
                            .unwrap_or_default()
                    )
                })
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/applications/show.html")]
struct ApplicationPage {
    base: BaseCtx,
    loan: LoanFacts,
    borrower: User,
    profile: Option<ProfileFacts>,
    card: Option<ScorecardView>,
    history: Vec<HistoryLine>,
    other_loans: Vec<LoanFacts>,
    servicing: Servicing,
    bands: Vec<BandLine>,
    can_decide: bool,
    form: DecisionForm,
    grade_choices: Vec<Choice>,
    term_choices: Vec<Choice>,
    errors: FieldErrors,
}

impl ApplicationPage {
    fn is_decision(&self, value: &str) -> bool {
        self.form.decision == value
    }
}

async fn application_page(
    state: &AppState,
    base: BaseCtx,
    loan_id: LoanId,
    form: Option<DecisionForm>,
    errors: FieldErrors,
) -> Result<ApplicationPage, WebError> {
    let (loan, borrower) = queries::with_borrower(&state.db, loan_id)
        .await?
        .ok_or(WebError::NotFound)?;
    let currency = loan.currency();
    let settings: Settings = settings::load(&state.db).await?;
    let today = state.clock.today();
    let profile = queries::profile(&state.db, borrower.id)
        .await?
        .map(|p| ProfileFacts::new(&p, today));
    let card = queries::latest_scoring(&state.db, loan_id)
        .await?
        .map(|card| ScorecardView::new(&card, currency));
    let history = queries::history(&state.db, loan_id)
        .await?
        .into_iter()
        .map(|row| HistoryLine {
            at: format::datetime(&row.at),
            who: row.actor_email.unwrap_or_else(|| "Platform".to_owned()),
            what: humanize(&row.action),
            comment: row
                .after
                .as_ref()
                .and_then(|after| after.get("comment"))
                .and_then(|c| c.as_str())
                .unwrap_or_default()
                .to_owned(),
        })
        .collect();
    let other_loans = queries::for_borrower(&state.db, borrower.id)
        .await?
        .iter()
        .filter(|other| other.id != loan_id)
        .map(LoanFacts::new)
        .collect();
    let bands = settings
        .bands
        .iter()
        .map(|band| BandLine {
            grade: band.grade.as_str().to_owned(),
            rates: format!("{} – {}", band.min_rate, band.max_rate),
            max_amount: band.max_amount.to_string(),
            max_term_months: band.max_term_months,
        })
        .collect();
    let form = form.unwrap_or_else(|| DecisionForm::prefilled(&loan));
    let terms: Vec<String> = settings.loan_terms.iter().map(u32::to_string).collect();
    let term_labels: Vec<String> = terms.iter().map(|t| format!("{t} months")).collect();
    Ok(ApplicationPage {
        grade_choices: choices(
            "",
            Grade::ALL.iter().map(|g| (g.as_str(), g.as_str())),
            &form.risk_grade,
        ),
        term_choices: choices(
            "",
            terms
                .iter()
                .zip(&term_labels)
                .map(|(t, l)| (t.as_str(), l.as_str())),
            &form.term_months,
        ),
        can_decide: loan.status == LoanStatus::Scoring,
        servicing: Servicing::new(&investment_queries::servicing(&state.db, &loan).await?),
        loan: LoanFacts::new(&loan),
        base,
        borrower,
        profile,
        card,
        history,
        other_loans,
        bands,
        form,
        errors,
    })
}

pub async fn show(
    base: BaseCtx,
    state: Data<AppState>,
    path: Path<LoanId>,
) -> Result<HttpResponse, WebError> {
    page(&application_page(&state, base, path.into_inner(), None, FieldErrors::new()).await?)
}

pub async fn decide(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    path: Path<LoanId>,
    StrictForm(form): StrictForm<DecisionForm>,
) -> Result<HttpResponse, WebError> {
    let loan_id = path.into_inner();
    let result = match form.parse(Currency::Rub) {
        Ok(decision) => {
            review::decide(
                &state.db,
                state.clock.as_ref(),
                user.id,
                loan_id,
                &decision,
                &state.settings.base_url,
                &meta,
            )
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    let errors = match result {
        Ok(status) => {
            let message = if status == LoanStatus::Rejected {
                "Application rejected. The borrower is told the reason by email.".to_owned()
            } else {
                let placed = auto_invest::offer_listed(
                    &state.db,
                    state.clock.as_ref(),
                    loan_id,
                    &state.settings.base_url,
                )
                .await;
                let listed = "Application approved and listed on the marketplace. The borrower is told the terms by email.";
                match placed {
                    Allocated {
                        filled: true,
                        investments,
                        ..
                    } => format!(
                        "{listed} Investors' auto-invest rules funded it at once ({investments} investment(s))."
                    ),
                    Allocated { investments: 0, .. } => listed.to_owned(),
                    Allocated {
                        investments,
                        amount,
                        ..
                    } => format!(
                        "{listed} Investors' auto-invest rules invested {} ({investments} investment(s)).",
                        Money::from_minor(amount, Currency::Rub)
                            .unwrap_or(Money::zero(Currency::Rub))
                    ),
                }
            };
            session::flash(&session, FlashLevel::Success, message);
            return Ok(see_other(&format!("/admin/applications/{loan_id}")));
        }
        Err(AppError::Validation(errors)) => errors,
        Err(AppError::Domain(reason)) => FieldErrors::single("decision", refusal(&reason)),
        Err(other) => return Err(other.into()),
    };
    let page_data = application_page(&state, base, loan_id, Some(form), errors).await?;
    render(form_status(&page_data.errors), &page_data)
}
