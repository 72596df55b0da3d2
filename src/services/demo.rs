//! Demo data for `serve --demo` and `demo`: a fresh database gets one account
//! per role (more arrive as later features give them something to show).
//! Never runs against a database that already has accounts.

use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr,
};

use crate::{
    clock::Clock,
    db::{self, entities::users},
    domain::user::{Email, KycStatus, NewPassword, PersonName, Role},
    error::AppError,
    services::{
        RequestMeta,
        auth::{self, NewAccount},
    },
};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "demo-password";

/// The accounts `demo` creates: (email, name, role).
pub const DEMO_ACCOUNTS: &[(&str, &str, Role)] = &[
    ("admin@demo.local", "Alexandra Admin", Role::Admin),
    ("staff@demo.local", "Sergei Analyst", Role::Staff),
    ("borrower@demo.local", "Boris Borrower", Role::Borrower),
    ("borrower2@demo.local", "Daria Kuznetsova", Role::Borrower),
    ("investor@demo.local", "Irina Investor", Role::Investor),
    ("investor2@demo.local", "Ivan Petrov", Role::Investor),
];

/// Fills an empty database; returns `false` (and changes nothing) when there
/// are accounts already.
///
/// # Errors
/// On storage failures.
pub async fn seed(db: &DatabaseConnection, clock: &dyn Clock) -> Result<bool, AppError> {
    if users::Entity::find().count(db).await? > 0 {
        return Ok(false);
    }
    let meta = RequestMeta::default();
    for (email, name, role) in DEMO_ACCOUNTS {
        let email = Email::parse(email).map_err(|e| anyhow::anyhow!("demo email: {e}"))?;
        let account = NewAccount {
            password: NewPassword::parse(DEMO_PASSWORD, Some(&email))
                .map_err(|e| anyhow::anyhow!("demo password: {e}"))?,
            email,
            full_name: PersonName::parse(name).map_err(|e| anyhow::anyhow!("demo name: {e}"))?,
            role: *role,
        };
        auth::create_account(db, clock, None, account, &meta).await?;
    }
    // Demo people have passed the identity check, so every feature is open to them.
    let txn = db::begin_write(db).await?;
    users::Entity::update_many()
        .col_expr(
            users::Column::KycStatus,
            Expr::value(KycStatus::Verified.as_str()),
        )
        .filter(users::Column::Role.is_in([Role::Borrower.as_str(), Role::Investor.as_str()]))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(true)
}
