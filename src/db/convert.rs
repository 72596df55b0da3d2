//! Domain types as query values: a typed id compares with its column as
//! the `Uuid` it wraps (`users::Column::Id.eq(user_id)`), so queries need no
//! conversion at each use. The domain itself knows nothing of sea-orm; the
//! ids stay plain `Uuid` in the entities (see `domain::ids`).

use sea_orm::Value;

use crate::domain::ids::{
    BankAccountId, DocumentId, EmailId, InstallmentId, InvestmentId, ListingId, LoanId, OfferId,
    RuleId, UserId, WalletId,
};

macro_rules! id_values {
    ($($id:ty),+) => {$(
        impl From<$id> for Value {
            fn from(id: $id) -> Self {
                id.as_uuid().into()
            }
        }
    )+};
}

id_values!(
    UserId,
    LoanId,
    InvestmentId,
    WalletId,
    InstallmentId,
    BankAccountId,
    DocumentId,
    EmailId,
    RuleId,
    OfferId,
    ListingId
);
