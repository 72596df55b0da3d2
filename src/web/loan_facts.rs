//! A loan's figures as pages show them, to its borrower and to staff: one
//! view, so the dashboard, the application page and the review queue never
//! disagree.

use crate::{
    db::queries::investments as queries,
    domain::{
        ids::LoanId,
        lifecycle::LoanStatus,
        loan::Loan,
        schedule::{self, LoanTerms},
    },
    format, paths,
    services::applications,
};

/// A loan's figures as the borrower reads them.
pub struct LoanFacts {
    pub id: LoanId,
    pub status: LoanStatus,
    pub created: String,
    pub requested: String,
    pub amount: String,
    pub amount_changed: bool,
    pub requested_term_months: u32,
    pub term_months: u32,
    pub rate: Option<String>,
    /// What the monthly payment is computed from, when a page asks for it
    /// (lists do not: they would build a whole schedule per row for nothing).
    payment_terms: Option<LoanTerms>,
    pub grade: Option<String>,
    pub purpose: String,
    pub description: String,
    pub funding_deadline: Option<String>,
    pub rejection_reason: Option<String>,
    pub funded_percent: u32,
    /// Priced by lenders' offers (listing mode `offers`).
    pub by_offers: bool,
}

impl LoanFacts {
    #[must_use]
    pub fn new(loan: &Loan) -> Self {
        Self {
            id: loan.id,
            status: loan.status,
            created: format::date(&loan.created_at),
            requested: loan.requested_amount.to_string(),
            amount: loan.amount.to_string(),
            amount_changed: loan.amount != loan.requested_amount,
            requested_term_months: loan.requested_term_months,
            term_months: loan.term_months,
            rate: loan.rate.map(|rate| rate.to_string()),
            payment_terms: loan.terms_for(loan.amount, loan.created_at.date_naive()),
            grade: loan.grade.map(|g| g.as_str().to_owned()),
            purpose: loan.purpose.label().to_owned(),
            description: loan.description.clone(),
            funding_deadline: loan.funding_deadline.as_ref().map(format::datetime),
            rejection_reason: loan.rejection_reason.clone(),
            funded_percent: loan.funded_percent(),
            by_offers: loan.listing_mode == crate::domain::application::ListingMode::Offers,
        }
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
            LoanStatus::Rejected | LoanStatus::Defaulted | LoanStatus::Expired => "error",
            LoanStatus::Withdrawn => "neutral",
            LoanStatus::Pending | LoanStatus::Scoring | LoanStatus::Approved => "warn",
            LoanStatus::Funding | LoanStatus::Funded | LoanStatus::Active | LoanStatus::Repaid => {
                "ok"
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
            LoanStatus::Approved | LoanStatus::Funding if self.by_offers => {
                "Your loan is on the marketplace. Lenders offer their rates for the whole loan; accept the offer you want before funding closes, and the money reaches your wallet."
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
            LoanStatus::Approved | LoanStatus::Funding if self.by_offers => {
                "Guide rate (the accepted offer sets yours)"
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
    pub number: u32,
    pub due_date: String,
    pub principal: String,
    pub interest: String,
    pub total: String,
    /// Principal and interest paid so far (empty when none).
    pub paid: String,
    /// Penalties charged and not yet paid (empty when none).
    pub penalty: String,
    pub status: &'static str,
    /// The status word, for the row's class.
    pub status_word: &'static str,
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
    #[must_use]
    pub fn new(servicing: &queries::Servicing) -> Self {
        let schedule = servicing
            .schedule
            .iter()
            .map(|row| InstallmentView {
                number: row.number,
                due_date: format::day(row.due_date),
                principal: row.principal.to_string(),
                interest: row.interest.to_string(),
                total: row
                    .principal
                    .checked_add(row.interest)
                    .map_or_else(|_| String::new(), |total| total.to_string()),
                paid: row
                    .paid_principal
                    .checked_add(row.paid_interest)
                    .ok()
                    .filter(|paid| paid.is_positive())
                    .map_or_else(String::new, |paid| paid.to_string()),
                penalty: row
                    .penalty_accrued
                    .checked_sub(row.penalty_paid)
                    .ok()
                    .filter(|left| left.is_positive())
                    .map_or_else(String::new, |left| left.to_string()),
                status: row.status.label(),
                status_word: row.status.as_str(),
            })
            .collect();
        let agreements = servicing
            .agreements
            .iter()
            .filter(|a| a.has_agreement)
            .map(|a| AgreementLink {
                href: paths::agreement(a.investment_id),
                label: format!(
                    "{}: {}, accepted {}",
                    a.investor_name.as_deref().unwrap_or("Investor"),
                    a.amount,
                    format::datetime(&a.accepted_at)
                ),
            })
            .collect();
        Self {
            schedule,
            agreements,
        }
    }
}
