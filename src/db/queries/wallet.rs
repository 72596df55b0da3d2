//! The wallet page: balances, bank accounts, and the history of postings.

use crate::domain::ids::UserId;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, JoinType,
    QueryFilter, QueryOrder, QuerySelect, RelationTrait,
};

use super::{Page, fetch_page};
use crate::{
    db::{
        entities::{bank_accounts, bank_transfers, ledger_entries, wallet_transactions, wallets},
        repo::wallets as wallets_repo,
    },
    domain::{
        ids::{BankAccountId, WalletId},
        money::Currency,
        wallet::{Direction, Wallet},
    },
    error::AppError,
};
use sea_orm::{QueryTrait, Select, SelectModel};

pub const HISTORY_PER_PAGE: u64 = 20;

/// The user's wallet in `currency` (also read inside a use case's transaction).
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn user_wallet(
    db: &impl ConnectionTrait,
    user_id: UserId,
    currency: Currency,
) -> Result<Option<Wallet>, AppError> {
    wallets_repo::of_user(db, user_id, currency).await
}

/// What `user_id` has withdrawn to their bank accounts since `since`, in
/// minor units (also read inside a use case's transaction).
///
/// # Errors
/// On database failure.
pub async fn withdrawn_since(
    db: &impl ConnectionTrait,
    user_id: UserId,
    since: DateTime<Utc>,
) -> Result<i64, AppError> {
    let total: Option<Option<i64>> = bank_transfers::Entity::find()
        .select_only()
        // PostgreSQL sums BIGINT as NUMERIC; the cast reads back as i64 on both.
        .column_as(
            sea_orm::sea_query::Expr::cust("CAST(SUM(bank_transfers.amount) AS BIGINT)"),
            "total",
        )
        .join(
            JoinType::InnerJoin,
            bank_transfers::Relation::BankAccount.def(),
        )
        .filter(bank_accounts::Column::UserId.eq(user_id))
        .filter(bank_transfers::Column::Direction.eq(Direction::Withdrawal.as_str()))
        .filter(bank_transfers::Column::CreatedAt.gte(since))
        .into_tuple()
        .one(db)
        .await?;
    Ok(total.flatten().unwrap_or(0))
}

/// A registered bank account as the wallet pages list it.
#[derive(Debug, Clone)]
pub struct BankAccount {
    pub id: BankAccountId,
    pub holder_name: String,
    pub bank_name: String,
    pub account_number: String,
}

impl From<bank_accounts::Model> for BankAccount {
    fn from(account: bank_accounts::Model) -> Self {
        Self {
            id: BankAccountId::from_uuid(account.id),
            holder_name: account.holder_name,
            bank_name: account.bank_name,
            account_number: account.account_number,
        }
    }
}

/// The user's bank accounts, oldest first.
///
/// # Errors
/// On database failure.
pub async fn bank_accounts(
    db: &DatabaseConnection,
    user_id: UserId,
) -> Result<Vec<BankAccount>, AppError> {
    Ok(bank_accounts::Entity::find()
        .filter(bank_accounts::Column::UserId.eq(user_id))
        .order_by_asc(bank_accounts::Column::CreatedAt)
        .order_by_asc(bank_accounts::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(BankAccount::from)
        .collect())
}

/// The user's wallet in `currency` and their bank accounts, oldest first,
/// in one statement (the wallet's columns repeated on each account's row).
///
/// # Errors
/// Database failures; a wallet row that does not parse.
pub async fn wallet_and_accounts(
    db: &DatabaseConnection,
    user_id: UserId,
    currency: Currency,
) -> Result<Option<(Wallet, Vec<BankAccount>)>, AppError> {
    let owner_accounts = wallets::Entity::belongs_to(bank_accounts::Entity)
        .from(wallets::Column::UserId)
        .to(bank_accounts::Column::UserId)
        .into();
    let rows = wallets::Entity::find()
        .select_also(bank_accounts::Entity)
        .join(JoinType::LeftJoin, owner_accounts)
        .filter(wallets::Column::UserId.eq(user_id))
        .filter(wallets::Column::Currency.eq(currency.code()))
        .order_by_asc(bank_accounts::Column::CreatedAt)
        .order_by_asc(bank_accounts::Column::Id)
        .all(db)
        .await?;
    let Some((wallet, _)) = rows.first() else {
        return Ok(None);
    };
    let wallet = wallets_repo::parse(wallet.clone())?;
    let accounts = rows
        .into_iter()
        .filter_map(|(_, account)| account.map(BankAccount::from))
        .collect();
    Ok(Some((wallet, accounts)))
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct HistoryRow {
    pub created_at: DateTime<Utc>,
    pub kind: String,
    pub memo: String,
    pub amount: i64,
    pub balance_after: i64,
}

fn history_query(wallet_id: WalletId) -> Select<wallet_transactions::Entity> {
    wallet_transactions::Entity::find()
        .select_only()
        .column(ledger_entries::Column::CreatedAt)
        .column(ledger_entries::Column::Kind)
        .column(ledger_entries::Column::Memo)
        .column(wallet_transactions::Column::Amount)
        .column(wallet_transactions::Column::BalanceAfter)
        .join(
            JoinType::InnerJoin,
            wallet_transactions::Relation::Entry.def(),
        )
        .filter(wallet_transactions::Column::WalletId.eq(wallet_id))
        .order_by_desc(ledger_entries::Column::Seq)
}

/// One page of the wallet's movements, newest first.
///
/// # Errors
/// On database failure.
pub async fn history(
    db: &DatabaseConnection,
    wallet_id: WalletId,
    page: Option<u64>,
) -> Result<Page<HistoryRow>, AppError> {
    fetch_page::<SelectModel<HistoryRow>>(
        db,
        history_query(wallet_id).into_query(),
        HISTORY_PER_PAGE,
        page,
    )
    .await
}

/// Every movement of the wallet, newest first (for the CSV export).
///
/// # Errors
/// On database failure.
pub async fn full_history(
    db: &DatabaseConnection,
    wallet_id: WalletId,
) -> Result<Vec<HistoryRow>, AppError> {
    history_query(wallet_id)
        .into_model::<HistoryRow>()
        .all(db)
        .await
        .map_err(AppError::from)
}

/// The platform's own wallets (settlement, fees, reserve fund), by currency.
///
/// # Errors
/// On database failure.
pub async fn platform_wallets(db: &DatabaseConnection) -> Result<Vec<Wallet>, AppError> {
    wallets::Entity::find()
        .filter(wallets::Column::UserId.is_null())
        .order_by_asc(wallets::Column::Currency)
        .order_by_asc(wallets::Column::Kind)
        .all(db)
        .await?
        .into_iter()
        .map(wallets_repo::parse)
        .collect()
}

/// What all user wallets hold together, per currency.
///
/// # Errors
/// On database failure.
pub async fn user_wallet_totals(db: &DatabaseConnection) -> Result<Vec<(String, i64)>, AppError> {
    wallets::Entity::find()
        .select_only()
        .column(wallets::Column::Currency)
        // PostgreSQL sums BIGINT as NUMERIC; the cast reads back as i64 on both.
        .column_as(
            sea_orm::sea_query::Expr::cust("CAST(SUM(balance) AS BIGINT)"),
            "total",
        )
        .filter(wallets::Column::UserId.is_not_null())
        .group_by(wallets::Column::Currency)
        .order_by_asc(wallets::Column::Currency)
        .into_tuple::<(String, Option<i64>)>()
        .all(db)
        .await
        .map(|rows| rows.into_iter().map(|(c, t)| (c, t.unwrap_or(0))).collect())
        .map_err(AppError::from)
}
