//! Use cases: one public async fn per user intent, each in exactly one database
//! transaction (or none for pure reads). The only code that changes state.

pub mod applications;
pub mod audit;
pub mod auth;
pub mod auto_invest;
pub mod books;
pub mod defaults;
pub mod demo;
pub mod documents;
pub mod funding;
pub mod idempotency;
pub mod identity;
pub mod investing;
pub mod investor;
pub mod kyc;
pub mod marketplace;
pub mod offers;
pub mod outbox;
pub mod password;
pub mod penalties;
pub mod portfolio;
pub mod receipts;
pub mod repayment;
pub mod review;
pub mod secondary;
pub mod settings;
pub mod wallet;

/// Where a request came from, for the audit log and throttling.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}
