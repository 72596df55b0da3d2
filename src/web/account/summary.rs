//! The account facts every dashboard starts with.

use crate::{
    db::queries::users::AccountSummary,
    domain::ids::UserId,
    domain::{money::Currency, user::KycStatus},
    format,
};

/// An account as the dashboards show it.
#[derive(Debug, Clone)]
pub struct AccountView {
    pub email: String,
    pub kyc_status: String,
    pub kyc_label: &'static str,
    pub member_since: String,
    pub balance: String,
    pub reserved: String,
    pub available: String,
}

impl From<AccountSummary> for AccountView {
    fn from(account: AccountSummary) -> Self {
        let kyc = KycStatus::parse(&account.kyc_status).unwrap_or(KycStatus::None);
        let (currency, balance, reserved) = account.wallet.map_or((Currency::Rub, 0, 0), |w| {
            (
                Currency::parse(&w.currency).unwrap_or(Currency::Rub),
                w.balance,
                w.reserved,
            )
        });
        let show = |minor: i64| format::money(minor, currency);
        Self {
            email: account.email,
            kyc_status: kyc.as_str().to_owned(),
            kyc_label: kyc.label(),
            member_since: format::date(&account.created_at),
            balance: show(balance),
            reserved: show(reserved),
            available: show(balance - reserved),
        }
    }
}

/// Loads the signed-in user's account for a dashboard.
///
/// # Errors
/// `NotFound` when the account no longer exists; database failures.
pub async fn load(
    db: &sea_orm::DatabaseConnection,
    user_id: UserId,
) -> Result<AccountView, crate::web::error::WebError> {
    crate::db::queries::users::account(db, user_id)
        .await?
        .map(AccountView::from)
        .ok_or(crate::web::error::WebError::NotFound)
}
