//! SeaORM entities; they mirror the migrations in `migration/` and must be changed together with a new migration.
//!
//! One module per table, in the classic `DeriveEntityModel` form. Table and
//! column names are a public contract (outside audit queries read them), so
//! they are never renamed in place. Conventions, as in the migrations: ids are
//! app-generated v7 UUIDs, money is `i64` minor units (kopecks), rates are
//! `i32` basis points, statuses are lowercase strings checked by the database.

pub mod prelude;

pub mod audit_log;
pub mod auto_invest_decisions;
pub mod auto_invest_rules;
pub mod bank_accounts;
pub mod bank_transfers;
pub mod borrower_assets;
pub mod borrower_liabilities;
pub mod borrower_profiles;
pub mod distributions;
pub mod documents;
pub mod idempotency_keys;
pub mod identity_documents;
pub mod investments;
pub mod investor_profiles;
pub mod job_runs;
pub mod ledger_entries;
pub mod ledger_head;
pub mod loan_payments;
pub mod loan_requests;
pub mod login_devices;
pub mod nominees;
pub mod offers;
pub mod outbox_emails;
pub mod penalty_accruals;
pub mod platform_settings;
pub mod repayment_schedule;
pub mod reserve_fund_events;
pub mod schedule_versions;
pub mod scoring_results;
pub mod secondary_listings;
pub mod sessions;
pub mod users;
pub mod wallet_transactions;
pub mod wallets;
