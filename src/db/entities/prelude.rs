//! `use crate::db::entities::prelude::*;` brings every entity in as `Users`, `Wallets`, ...

pub use super::audit_log::Entity as AuditLog;
pub use super::auto_invest_decisions::Entity as AutoInvestDecisions;
pub use super::auto_invest_rules::Entity as AutoInvestRules;
pub use super::bank_accounts::Entity as BankAccounts;
pub use super::bank_transfers::Entity as BankTransfers;
pub use super::borrower_assets::Entity as BorrowerAssets;
pub use super::borrower_liabilities::Entity as BorrowerLiabilities;
pub use super::borrower_profiles::Entity as BorrowerProfiles;
pub use super::documents::Entity as Documents;
pub use super::idempotency_keys::Entity as IdempotencyKeys;
pub use super::identity_documents::Entity as IdentityDocuments;
pub use super::investments::Entity as Investments;
pub use super::investor_profiles::Entity as InvestorProfiles;
pub use super::ledger_entries::Entity as LedgerEntries;
pub use super::ledger_head::Entity as LedgerHead;
pub use super::loan_requests::Entity as LoanRequests;
pub use super::login_devices::Entity as LoginDevices;
pub use super::nominees::Entity as Nominees;
pub use super::outbox_emails::Entity as OutboxEmails;
pub use super::platform_settings::Entity as PlatformSettings;
pub use super::repayment_schedule::Entity as RepaymentSchedule;
pub use super::scoring_results::Entity as ScoringResults;
pub use super::sessions::Entity as Sessions;
pub use super::users::Entity as Users;
pub use super::wallet_transactions::Entity as WalletTransactions;
pub use super::wallets::Entity as Wallets;
