//! The account facts every dashboard starts with.

use crate::{
    db::queries::users::{self, AccountSummary},
    domain::{ids::UserId, money::Money},
    format,
    state::AppState,
    web::error::WebError,
};

/// An account as the dashboards show it.
#[derive(Debug, Clone)]
pub struct AccountView {
    pub email: String,
    pub kyc_status: &'static str,
    pub kyc_label: &'static str,
    pub member_since: String,
    pub balance: String,
    pub reserved: String,
    pub available: String,
}

impl From<AccountSummary> for AccountView {
    fn from(account: AccountSummary) -> Self {
        let (balance, reserved, available) = account.wallet.map_or_else(
            || (None, None, None),
            |w| (Some(w.balance), Some(w.reserved), Some(w.available())),
        );
        let show = |money: Option<Money>| money.map(|m| m.to_string()).unwrap_or_default();
        Self {
            email: account.email,
            kyc_status: account.kyc_status.as_str(),
            kyc_label: account.kyc_status.label(),
            member_since: format::date(&account.created_at),
            balance: show(balance),
            reserved: show(reserved),
            available: show(available),
        }
    }
}

/// Loads the signed-in user's account for a dashboard.
///
/// # Errors
/// `NotFound` when the account no longer exists; database failures.
pub async fn load(state: &AppState, user_id: UserId) -> Result<AccountView, WebError> {
    users::account(&state.db, user_id)
        .await?
        .map(AccountView::from)
        .ok_or(WebError::NotFound)
}
