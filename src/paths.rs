//! The site's addresses (the public routes of DESIGN.md section 10) as
//! functions, for the links pages show, the redirects handlers answer and the
//! links emails carry. The route table in `web` serves them; this is the one
//! place that spells them with their ids.

use crate::domain::ids::{InvestmentId, LoanId, RuleId};

/// The marketplace of loans open for investment.
pub const MARKETPLACE: &str = "/marketplace";

/// The wallet: balances, bank accounts, history.
pub const WALLET: &str = "/wallet";

/// Where a person sends and follows their identity check.
pub const IDENTITY: &str = "/account/identity";

/// The investor's portfolio: every investment.
pub const INVESTMENTS: &str = "/investor/investments";

/// The investor's auto-invest rules, and the form for a new one.
pub const AUTO_INVEST: &str = "/investor/auto-invest";

/// One of the investor's auto-invest rules: what it invested, what it passed over.
#[must_use]
pub fn auto_invest_rule(id: RuleId) -> String {
    format!("/investor/auto-invest/{id}")
}

/// One of the investor's investments.
#[must_use]
pub fn investment(id: InvestmentId) -> String {
    format!("/investor/investments/{id}")
}

/// An investment's loan agreement as PDF.
#[must_use]
pub fn agreement(id: InvestmentId) -> String {
    format!("/investor/investments/{id}/agreement.pdf")
}

/// A borrower's loan (application, schedule, agreements).
#[must_use]
pub fn borrower_loan(id: LoanId) -> String {
    format!("/borrower/loans/{id}")
}

/// A loan on the marketplace.
#[must_use]
pub fn listing(id: LoanId) -> String {
    format!("/marketplace/{id}")
}

/// An application in the back office's review queue.
#[must_use]
pub fn application_review(id: LoanId) -> String {
    format!("/admin/applications/{id}")
}
