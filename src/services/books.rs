//! The state of the books for the back office (reads only): every ledger
//! invariant checked now, as `crowdlend verify` checks them, and what the
//! platform's own wallets and all user wallets hold.

use sea_orm::DatabaseConnection;

use crate::{
    db::queries::wallet as queries,
    domain::wallet::{Wallet, WalletKind},
    error::AppError,
    ledger::verify,
};

/// One invariant and the rows that break it.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub name: &'static str,
    pub violations: Vec<String>,
}

/// The books as they stand.
#[derive(Debug, Clone)]
pub struct Books {
    pub checks: Vec<CheckResult>,
    /// Journal entries checked.
    pub entries: i64,
    /// The platform's own wallets (settlement, fees, reserve fund) by currency.
    pub platform_wallets: Vec<Wallet>,
    /// What all user wallets hold together: (currency code, minor units).
    pub user_totals: Vec<(String, i64)>,
}

impl Books {
    /// Whether every invariant holds.
    #[must_use]
    pub fn hold(&self) -> bool {
        self.checks.iter().all(|check| check.violations.is_empty())
    }
}

/// Checks the books now.
///
/// # Errors
/// Database failures; a wallet that does not parse.
pub async fn check(db: &DatabaseConnection) -> Result<Books, AppError> {
    let report = verify::verify(db).await?;
    Ok(Books {
        checks: report
            .checks
            .into_iter()
            .map(|check| CheckResult {
                name: check.name,
                violations: check.violations,
            })
            .collect(),
        entries: report.entries,
        platform_wallets: queries::platform_wallets(db)
            .await?
            .into_iter()
            .filter(|wallet| wallet.kind != WalletKind::User)
            .collect(),
        user_totals: queries::user_wallet_totals(db).await?,
    })
}
