//! Database migrations for Crowdlend.
//!
//! Migrations are append-only: never edit one that has landed on `main`,
//! add a new one instead (see `migration/README.md`). The entities in
//! `src/db/entities` mirror the resulting schema and must be changed together
//! with any new migration.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_users_and_sessions;
mod m20261122_000002_create_profiles;
mod m20261122_000003_create_loans;
mod m20261122_000004_create_ledger;
mod m20261122_000005_create_audit_and_settings;
mod m20261123_000006_create_banking_and_idempotency;
mod m20261125_000007_make_ledger_append_only;
mod m20261126_000008_create_scoring_results;
mod m20261126_000009_create_outbox_and_identity;
mod m20261126_000010_create_nominees;
mod m20261126_000011_index_marketplace_sorts;
mod m20261126_000012_create_documents;
mod m20261126_000013_index_marketplace_funded;
mod m20261130_000014_create_login_devices;
mod m20261130_000015_installment_statuses;
mod m20261130_000016_create_servicing;
mod m20261130_000017_index_distributions_loan;
mod m20261130_000018_compress_outbox_bodies;
mod m20261130_000019_cover_distributions_principal;
mod m20261130_000020_create_auto_invest;
mod m20261130_000021_create_offers;
mod m20261130_000022_create_secondary_listings;
mod m20261130_000023_index_secondary_queue;
mod m20261201_000024_index_wallet_history;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_users_and_sessions::Migration),
            Box::new(m20261122_000002_create_profiles::Migration),
            Box::new(m20261122_000003_create_loans::Migration),
            Box::new(m20261122_000004_create_ledger::Migration),
            Box::new(m20261122_000005_create_audit_and_settings::Migration),
            Box::new(m20261123_000006_create_banking_and_idempotency::Migration),
            Box::new(m20261125_000007_make_ledger_append_only::Migration),
            Box::new(m20261126_000008_create_scoring_results::Migration),
            Box::new(m20261126_000009_create_outbox_and_identity::Migration),
            Box::new(m20261126_000010_create_nominees::Migration),
            Box::new(m20261126_000011_index_marketplace_sorts::Migration),
            Box::new(m20261126_000012_create_documents::Migration),
            Box::new(m20261126_000013_index_marketplace_funded::Migration),
            Box::new(m20261130_000014_create_login_devices::Migration),
            Box::new(m20261130_000015_installment_statuses::Migration),
            Box::new(m20261130_000016_create_servicing::Migration),
            Box::new(m20261130_000017_index_distributions_loan::Migration),
            Box::new(m20261130_000018_compress_outbox_bodies::Migration),
            Box::new(m20261130_000019_cover_distributions_principal::Migration),
            Box::new(m20261130_000020_create_auto_invest::Migration),
            Box::new(m20261130_000021_create_offers::Migration),
            Box::new(m20261130_000022_create_secondary_listings::Migration),
            Box::new(m20261130_000023_index_secondary_queue::Migration),
            Box::new(m20261201_000024_index_wallet_history::Migration),
        ]
    }
}
