//! Demo data for `serve --demo` and `demo`: a fresh database gets one account
//! per role, and the investors a bank account and 500 000 ₽ in their wallets
//! (more arrive as later features give them something to show).
//! Never runs against a database that already has accounts.

use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    clock::Clock,
    db::{self, entities::users},
    domain::{
        money::{Currency, Money},
        user::{Email, KycStatus, NewPassword, PersonName, Role},
    },
    error::AppError,
    services::{
        RequestMeta,
        auth::{self, NewAccount},
        idempotency::IdempotencyKey,
        wallet::{self, BankTransferRequest, Direction, NewBankAccount},
    },
};

/// What each demo investor starts with: 500 000 ₽.
const DEMO_DEPOSIT_MINOR: i64 = 50_000_000;

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
        let user_id = auth::create_account(db, clock, None, account, &meta).await?;
        if *role == Role::Investor {
            fund_wallet(db, clock, user_id, name, &meta).await?;
        }
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

/// Gives a demo investor a bank account and money to invest, through the same
/// use cases a person would go through.
async fn fund_wallet(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    user_id: Uuid,
    name: &str,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let account = NewBankAccount::parse(name, "Demo Bank", "40817810000000000001")
        .map_err(|e| anyhow::anyhow!("demo bank account: {e:?}"))?;
    let bank_account_id = wallet::add_bank_account(db, clock, user_id, account, meta).await?;
    let request = BankTransferRequest {
        direction: Direction::Deposit,
        amount: Money::from_minor(DEMO_DEPOSIT_MINOR, Currency::Rub)
            .map_err(|e| anyhow::anyhow!("demo deposit: {e}"))?,
        bank_account_id,
        key: IdempotencyKey::parse(&IdempotencyKey::generate())?,
    };
    wallet::transfer(db, clock, user_id, &request).await?;
    Ok(())
}
