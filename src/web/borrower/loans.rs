//! The borrower's applications: `GET /borrower/loans/new`, `POST
//! /borrower/loans`, `GET /borrower/loans/{id}` and `POST
//! /borrower/loans/{id}/withdraw`.

use actix_session::Session;
use actix_web::{
    HttpResponse,
    web::{Data, Path},
};
use askama::Template;
use serde::Deserialize;
use validator::Validate;

use crate::{
    db::queries::{applications as queries, investments as investment_queries, users},
    domain::ids::LoanId,
    domain::ids::UserId,
    domain::{
        application::{DESCRIPTION_LENGTH, ListingMode, LoanRequest, Purpose},
        lifecycle::LoanStatus,
        money::{Currency, Money},
        schedule::{self, LoanTerms},
        user::KycStatus,
    },
    error::{AppError, FieldErrors},
    format, paths,
    services::{applications, funding, offers, repayment, settings},
    state::AppState,
    web::{
        error::{WebError, refusal},
        extractors::{ClientMeta, CurrentUser},
        forms::{Choice, Empty, StrictForm, add_validation_errors, choices},
        layout::{BaseCtx, form_status, page, render, see_other},
        loan_facts::{LoanFacts, Servicing},
        repayment_view::RepaymentView,
        scorecard::ScorecardView,
        session::{self, FlashLevel},
    },
};

#[derive(Debug, Default, Clone, Deserialize, Validate)]
#[serde(default, deny_unknown_fields)]
pub struct ApplicationForm {
    amount: String,
    term_months: String,
    purpose: String,
    #[validate(length(
        min = 20,
        max = 2000,
        message = "Describe what the loan is for in 20 to 2000 characters."
    ))]
    description: String,
    listing_mode: String,
}

impl ApplicationForm {
    fn parse(&self) -> Result<LoanRequest, FieldErrors> {
        let mut errors = FieldErrors::new();
        add_validation_errors(&mut errors, self.validate());
        let amount = Money::parse(&self.amount, Currency::Rub)
            .map_err(|err| errors.add("amount", err.to_string()))
            .ok();
        let term = self
            .term_months
            .trim()
            .parse::<u32>()
            .map_err(|_| errors.add("term_months", "Choose a term."))
            .ok();
        let purpose = Purpose::parse(self.purpose.trim());
        if purpose.is_none() {
            errors.add("purpose", "Choose what the loan is for.");
        }
        let listing_mode = match self.listing_mode.trim() {
            "" => Some(ListingMode::Fixed),
            word => ListingMode::parse(word),
        };
        if listing_mode.is_none() {
            errors.add("listing_mode", "Choose how the loan is priced.");
        }
        match (amount, term, purpose, listing_mode) {
            (Some(amount), Some(term_months), Some(purpose), Some(listing_mode))
                if errors.is_empty() =>
            {
                Ok(LoanRequest {
                    amount,
                    term_months,
                    purpose,
                    description: self.description.trim().to_owned(),
                    listing_mode,
                })
            }
            _ => Err(errors),
        }
    }
}

#[derive(Template)]
#[template(path = "borrower/loans/new.html")]
struct NewApplicationPage {
    base: BaseCtx,
    form: ApplicationForm,
    term_choices: Vec<Choice>,
    purpose_choices: Vec<Choice>,
    limits: String,
    blocked: Option<String>,
    errors: FieldErrors,
}

async fn new_page(
    state: &AppState,
    base: BaseCtx,
    user_id: UserId,
    form: ApplicationForm,
    errors: FieldErrors,
) -> Result<NewApplicationPage, WebError> {
    let settings = settings::load(&state.db).await?;
    let blocked = applications::cannot_apply_because(&state.db, user_id)
        .await?
        .map(|reason| refusal(&reason));
    let terms: Vec<String> = settings.loan_terms.iter().map(u32::to_string).collect();
    let term_labels: Vec<String> = terms.iter().map(|t| format!("{t} months")).collect();
    Ok(NewApplicationPage {
        term_choices: choices(
            "Choose…",
            terms
                .iter()
                .zip(&term_labels)
                .map(|(t, label)| (t.as_str(), label.as_str())),
            &form.term_months,
        ),
        purpose_choices: choices(
            "Choose…",
            Purpose::ALL.iter().map(|p| (p.as_str(), p.label())),
            &form.purpose,
        ),
        limits: format!(
            "From {} to {}, for {} months.",
            settings.min_loan_amount,
            settings.max_loan_amount,
            terms.join(", ")
        ),
        base,
        form,
        blocked,
        errors,
    })
}

pub async fn new(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, WebError> {
    let page_data = new_page(
        &state,
        base,
        user.id,
        ApplicationForm::default(),
        FieldErrors::new(),
    )
    .await?;
    page(&page_data)
}

pub async fn create(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    StrictForm(form): StrictForm<ApplicationForm>,
) -> Result<HttpResponse, WebError> {
    let result = match form.parse() {
        Ok(request) => {
            applications::submit(
                &state.db,
                state.clock.as_ref(),
                user.id,
                &request,
                &state.settings.base_url,
                &meta,
            )
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(submitted) => {
            let message = if submitted.status == LoanStatus::Rejected {
                "Your application was scored, and the platform's rules decline it. The page below explains why and what would change it."
            } else {
                "Your application is received and scored. Staff will review it; you will get an email with their decision."
            };
            session::flash(&session, FlashLevel::Success, message);
            Ok(see_other(&paths::borrower_loan(submitted.loan_id)))
        }
        Err(AppError::Validation(errors)) => {
            let page_data = new_page(&state, base, user.id, form, errors).await?;
            render(form_status(&page_data.errors), &page_data)
        }
        Err(other) => Err(other.into()),
    }
}

/// A pending offer as the borrower compares them.
struct OfferLine {
    id: String,
    rate: String,
    monthly_payment: String,
    made: String,
}

#[derive(Template)]
#[template(path = "borrower/loans/show.html")]
struct LoanPage {
    base: BaseCtx,
    loan: LoanFacts,
    /// Lenders' pending offers, cheapest first (listing mode `offers`).
    offers: Vec<OfferLine>,
    card: Option<ScorecardView>,
    /// Staff can approve only once the borrower's identity is verified.
    identity_needed: bool,
    servicing: Servicing,
    repayment: Option<RepaymentView>,
}

pub async fn show(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<LoanId>,
) -> Result<HttpResponse, WebError> {
    let id = path.into_inner();
    let loan = queries::owned_by(&state.db, user.id, id)
        .await?
        .ok_or(WebError::NotFound)?;
    let card = queries::latest_scoring(&state.db, id)
        .await?
        .map(|card| ScorecardView::new(&card, loan.currency()));
    let servicing = Servicing::new(&investment_queries::servicing(&state.db, &loan).await?);
    let facts = LoanFacts::new(&loan);
    let offers = if facts.by_offers && loan.status == LoanStatus::Funding {
        let (_, ranked) = offers::for_borrower(&state.db, user.id, id).await?;
        ranked
            .iter()
            .map(|offer| OfferLine {
                id: offer.id.to_string(),
                rate: offer.rate.to_string(),
                monthly_payment: loan
                    .terms_for(loan.amount, state.clock.today())
                    .map(|terms| LoanTerms {
                        rate: offer.rate,
                        ..terms
                    })
                    .and_then(|terms| schedule::annuity(&terms).ok())
                    .map(|plan| plan.payment.to_string())
                    .unwrap_or_default(),
                made: format::datetime(&offer.made_at),
            })
            .collect()
    } else {
        Vec::new()
    };
    let repayment = repayment::overview(&state.db, state.clock.as_ref(), loan)
        .await?
        .map(|overview| RepaymentView::new(&overview));
    let loan = facts;
    let identity_needed = loan.status == LoanStatus::Scoring
        && settings::load(&state.db).await?.kyc_required
        && users::account(&state.db, user.id)
            .await?
            .is_none_or(|account| account.kyc_status != KycStatus::Verified);
    page(&LoanPage {
        base,
        loan,
        offers,
        card,
        identity_needed,
        servicing,
        repayment,
    })
}

pub async fn withdraw(
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    path: Path<LoanId>,
    StrictForm(_): StrictForm<Empty>,
) -> Result<HttpResponse, WebError> {
    let id = path.into_inner();
    funding::withdraw(
        &state.db,
        state.clock.as_ref(),
        user.id,
        id,
        &state.settings.base_url,
        &meta,
    )
    .await?;
    session::flash(
        &session,
        FlashLevel::Success,
        "Your application is withdrawn. You can apply again whenever you like.",
    );
    Ok(see_other(&paths::borrower_loan(id)))
}

/// The description's allowed length, for the form's hint.
#[must_use]
pub fn description_hint() -> String {
    format!(
        "{} to {} characters: what the money is for and how you will repay it. Investors read it; do not include your name, address or phone number.",
        DESCRIPTION_LENGTH.0, DESCRIPTION_LENGTH.1
    )
}
