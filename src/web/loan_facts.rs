//! A loan's figures as pages show them, to its borrower and to staff: one
//! view, so the dashboard, the application page and the review queue never
//! disagree.

use uuid::Uuid;

use crate::{
    db::entities::loan_requests,
    domain::{
        application::Purpose,
        lifecycle::LoanStatus,
        money::{Currency, Money, Rate},
        schedule::{self, LoanTerms},
    },
    error::AppError,
    services::{applications, loans},
    web::format,
};

/// A loan's figures as the borrower reads them.
pub struct LoanFacts {
    pub id: Uuid,
    pub status: LoanStatus,
    pub created: String,
    pub requested: String,
    pub amount: String,
    pub amount_changed: bool,
    pub requested_term_months: i32,
    pub term_months: i32,
    pub rate: Option<String>,
    /// What the monthly payment is computed from, when a page asks for it
    /// (lists do not: they would build a whole schedule per row for nothing).
    payment_terms: Option<LoanTerms>,
    pub grade: Option<String>,
    pub purpose: String,
    pub description: String,
    pub funding_deadline: Option<String>,
    pub rejection_reason: Option<String>,
    pub funded_percent: i64,
}

impl LoanFacts {
    /// # Errors
    /// When the stored status or currency is unknown.
    pub fn new(loan: &loan_requests::Model) -> Result<Self, AppError> {
        let currency = Currency::parse(&loan.currency).unwrap_or(Currency::Rub);
        let status = loans::status_of(loan)?;
        let payment_terms = loan.rate_annual.and_then(|bps| {
            Some(LoanTerms {
                principal: Money::from_minor(loan.amount, currency).ok()?,
                rate: Rate::from_bps(u32::try_from(bps).ok()?).ok()?,
                term_months: u32::try_from(loan.term_months).ok()?,
                start: loan.created_at.date_naive(),
            })
        });
        Ok(Self {
            id: loan.id,
            status,
            created: format::date(&loan.created_at),
            requested: format::money(loan.requested_amount, currency),
            amount: format::money(loan.amount, currency),
            amount_changed: loan.amount != loan.requested_amount,
            requested_term_months: loan.requested_term_months,
            term_months: loan.term_months,
            rate: loan.rate_annual.map(format::rate),
            payment_terms,
            grade: loan.risk_grade.clone(),
            purpose: Purpose::parse(&loan.purpose)
                .map_or_else(|| loan.purpose.clone(), |p| p.label().to_owned()),
            description: loan.description.clone(),
            funding_deadline: loan.funding_deadline.as_ref().map(format::datetime),
            rejection_reason: loan.rejection_reason.clone(),
            funded_percent: (loan.funded_amount * 100)
                .checked_div(loan.amount)
                .unwrap_or(0),
        })
    }

    /// The level monthly payment of the loan's terms, once it has a rate.
    #[must_use]
    pub fn monthly_payment(&self) -> Option<String> {
        let terms = self.payment_terms.as_ref()?;
        Some(schedule::annuity(terms).ok()?.payment.to_string())
    }

    /// The status word used for the badge's class.
    #[must_use]
    pub fn badge(&self) -> &'static str {
        match self.status {
            LoanStatus::Rejected | LoanStatus::Defaulted | LoanStatus::Expired => "rejected",
            LoanStatus::Withdrawn => "none",
            LoanStatus::Pending | LoanStatus::Scoring | LoanStatus::Approved => "pending",
            LoanStatus::Funding | LoanStatus::Funded | LoanStatus::Active | LoanStatus::Repaid => {
                "verified"
            }
        }
    }

    /// What happens next, in one sentence.
    #[must_use]
    pub fn next_step(&self) -> &'static str {
        match self.status {
            LoanStatus::Pending | LoanStatus::Scoring => {
                "Staff are reviewing your application. You will get an email with their decision."
            }
            LoanStatus::Approved | LoanStatus::Funding => {
                "Your loan is on the marketplace. Investors are funding it; the money reaches your wallet when it is fully funded."
            }
            LoanStatus::Funded => "Your loan is fully funded and is being paid out.",
            LoanStatus::Active => "Your loan is paid out. Pay each installment by its due date.",
            LoanStatus::Repaid => "This loan is repaid in full. Thank you.",
            LoanStatus::Rejected => "This application was declined.",
            LoanStatus::Withdrawn => "You withdrew this application.",
            LoanStatus::Expired => {
                "The funding period ended before investors covered the whole amount."
            }
            LoanStatus::Defaulted => "This loan is in default.",
        }
    }

    /// Before staff decide, the rate is only the scorecard's suggestion.
    #[must_use]
    pub fn rate_label(&self) -> &'static str {
        match self.status {
            LoanStatus::Pending | LoanStatus::Scoring | LoanStatus::Rejected => {
                "Suggested annual rate"
            }
            _ => "Annual rate",
        }
    }

    #[must_use]
    pub fn can_withdraw(&self) -> bool {
        applications::OPEN_STATUSES.contains(&self.status)
    }
}

/// One installment of a paid-out loan's schedule.
pub struct InstallmentView {
    pub number: i32,
    pub due_date: String,
    pub principal: String,
    pub interest: String,
    pub total: String,
    pub status: String,
}

/// One investment's agreement, for the loan's parties.
pub struct AgreementLink {
    pub href: String,
    pub label: String,
}

/// A paid-out loan's schedule and agreements (empty before the payout).
pub struct Servicing {
    pub schedule: Vec<InstallmentView>,
    pub agreements: Vec<AgreementLink>,
}

impl Servicing {
    /// # Errors
    /// On database failure.
    pub async fn load(
        db: &sea_orm::DatabaseConnection,
        loan: &loan_requests::Model,
    ) -> Result<Self, crate::web::error::WebError> {
        use crate::db::queries::investments as queries;
        let currency = Currency::parse(&loan.currency).unwrap_or(Currency::Rub);
        let schedule = queries::schedule(db, loan.id)
            .await?
            .iter()
            .map(|row| InstallmentView {
                number: row.payment_num,
                due_date: format::day(row.due_date),
                principal: format::money(row.principal, currency),
                interest: format::money(row.interest, currency),
                total: format::money(row.principal + row.interest, currency),
                status: row.status.replace('_', " "),
            })
            .collect();
        let agreements = queries::with_investors(db, loan.id)
            .await?
            .iter()
            .filter_map(|(investment, investor)| {
                let href = investment.agreement_path.clone()?;
                Some(AgreementLink {
                    href,
                    label: format!(
                        "{}: {}, accepted {}",
                        investor
                            .as_ref()
                            .map_or("Investor", |u| u.full_name.as_str()),
                        format::money(investment.amount, currency),
                        format::datetime(&investment.accepted_at)
                    ),
                })
            })
            .collect();
        Ok(Self {
            schedule,
            agreements,
        })
    }
}
