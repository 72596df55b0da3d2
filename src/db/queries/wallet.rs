//! The wallet page: balances, bank accounts, and the history of postings.

use crate::domain::ids::UserId;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, IdenStatic,
    Iterable, JoinType, QueryFilter, QueryOrder, QueryResult, QuerySelect, RelationTrait, Value,
    sea_query::{Expr, ExprTrait, Query, SelectStatement, UnionType},
};
use uuid::Uuid;

use super::{Page, clamp_page, fixed_sql::FixedSql, furthest_page, pages_for};
use crate::{
    db::{
        entities::{bank_accounts, bank_transfers, ledger_entries, wallet_transactions, wallets},
        repo::wallets as wallets_repo,
    },
    domain::{
        ids::BankAccountId,
        money::Currency,
        wallet::{Direction, Wallet},
    },
    error::AppError,
};
use sea_orm::{QueryTrait, Select};

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

/// The movements of the user's wallet in `currency`, newest first: read
/// from the index `(wallet_id, seq)` a page at a time, whatever the
/// wallet's length (the wallet is found first, by a subquery, so that
/// neither database joins every movement before it orders them).
fn history_of(user_id: UserId, currency: Currency) -> Select<wallet_transactions::Entity> {
    let wallet_id = wallets::Entity::find()
        .select_only()
        .column(wallets::Column::Id)
        .filter(wallets::Column::UserId.eq(user_id))
        .filter(wallets::Column::Currency.eq(currency.code()))
        .into_query();
    wallet_transactions::Entity::find()
        .select_only()
        .column(ledger_entries::Column::CreatedAt)
        .column(ledger_entries::Column::Kind)
        .column(ledger_entries::Column::Memo)
        .column(wallet_transactions::Column::Amount)
        .column(wallet_transactions::Column::BalanceAfter)
        .column(wallet_transactions::Column::Seq)
        .join(
            JoinType::InnerJoin,
            wallet_transactions::Relation::Entry.def(),
        )
        .filter(
            Expr::col((
                wallet_transactions::Entity,
                wallet_transactions::Column::WalletId,
            ))
            .eq(Expr::SubQuery(None, Box::new(wallet_id.into()))),
        )
        .order_by_desc(wallet_transactions::Column::Seq)
}

/// `select` with every column of the wallet it joins, each named
/// `wallet_<column>`: read back as a field
/// `#[sea_orm(nested(prefix = "wallet_"))] wallet: wallets::Model`.
pub(super) fn with_wallet_columns<E: EntityTrait>(select: Select<E>) -> Select<E> {
    wallets::Column::iter().fold(select, |select, column| {
        select.column_as(column, format!("wallet_{}", column.as_str()))
    })
}

/// What `/wallet` shows: the wallet, the bank accounts (oldest first) and
/// one page of the wallet's movements (newest first).
#[derive(Debug, Clone)]
pub struct WalletView {
    pub wallet: Wallet,
    pub accounts: Vec<BankAccount>,
    pub history: Page<HistoryRow>,
}

/// Which branch of the wallet view's union a row comes from: the wallet
/// with one of its bank accounts, or a movement of the page. Read first, so
/// that each row is decoded as what it is (a NULL read through sea-orm
/// formats an error message; the branches' empty columns are never read).
/// Written into the SQL, not bound, so that they are not taken for inputs.
const PART: &str = "part";
const WALLET_PART: i32 = 0;
const MOVEMENT_PART: i32 = 1;

/// A movement's columns ([`MovementPart`]), empty on the wallet branch.
const MOVEMENT_COLUMNS: [&str; 6] = [
    "created_at",
    "kind",
    "memo",
    "amount",
    "balance_after",
    "seq",
];

/// The wallet, on the wallet branch's rows.
#[derive(Debug, FromQueryResult)]
struct WalletPart {
    #[sea_orm(nested(prefix = "wallet_"))]
    wallet: wallets::Model,
}

/// A bank account beside the wallet (absent when the user has none).
#[derive(Debug, FromQueryResult)]
struct AccountPart {
    account_id: Uuid,
    holder_name: String,
    bank_name: String,
    account_number: String,
    account_created_at: DateTime<Utc>,
}

/// A movement of the page, with its place in the journal.
#[derive(Debug, FromQueryResult)]
struct MovementPart {
    #[sea_orm(nested)]
    movement: HistoryRow,
    seq: i64,
}

/// The wallet view's rows, each decoded as its branch says.
#[derive(Default)]
struct WalletViewParts {
    wallet: Option<WalletPart>,
    accounts: Vec<AccountPart>,
    movements: Vec<MovementPart>,
}

impl WalletViewParts {
    fn decode(rows: &[QueryResult]) -> Result<Self, AppError> {
        let mut parts = Self::default();
        for row in rows {
            if row.try_get::<i32>("", PART)? == MOVEMENT_PART {
                parts
                    .movements
                    .push(MovementPart::from_query_result(row, "")?);
                continue;
            }
            if parts.wallet.is_none() {
                parts.wallet = Some(WalletPart::from_query_result(row, "")?);
            }
            if let Some(account) = Option::<AccountPart>::from_query_result(row, "")? {
                parts.accounts.push(account);
            }
        }
        Ok(parts)
    }
}

/// The user's wallet in `currency` with their bank accounts and page `page`
/// of its movements, in one statement (see [`wallet_view_statement`]). A
/// page past the end costs a second statement for the last page.
///
/// # Errors
/// Database failures; a wallet row that does not parse.
pub async fn wallet_view(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    currency: Currency,
    page: Option<u64>,
) -> Result<Option<WalletView>, AppError> {
    let mut page = std::cmp::min(clamp_page(page), furthest_page(HISTORY_PER_PAGE));
    let mut parts = wallet_view_parts(conn, user_id, currency, page).await?;
    let Some(wallet) = &parts.wallet else {
        return Ok(None);
    };
    let total = u64::try_from(wallet.wallet.posting_count).unwrap_or(0);
    let pages = pages_for(total, HISTORY_PER_PAGE);
    if page > pages {
        page = pages;
        parts = wallet_view_parts(conn, user_id, currency, page).await?;
    }
    let WalletViewParts {
        wallet: Some(WalletPart { wallet, .. }),
        mut accounts,
        mut movements,
    } = parts
    else {
        return Ok(None);
    };
    // A union keeps no order: each part is put back in its own.
    accounts.sort_by_key(|account| (account.account_created_at, account.account_id));
    movements.sort_by_key(|line| std::cmp::Reverse(line.seq));
    Ok(Some(WalletView {
        wallet: wallets_repo::parse(wallet)?,
        accounts: accounts
            .into_iter()
            .map(|account| BankAccount {
                id: BankAccountId::from_uuid(account.account_id),
                holder_name: account.holder_name,
                bank_name: account.bank_name,
                account_number: account.account_number,
            })
            .collect(),
        history: Page {
            items: movements.into_iter().map(|line| line.movement).collect(),
            page,
            pages,
            total,
        },
    }))
}

async fn wallet_view_parts(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    currency: Currency,
    page: u64,
) -> Result<WalletViewParts, AppError> {
    static WALLET_VIEW: FixedSql = FixedSql::new();
    let offset = (page - 1).saturating_mul(HISTORY_PER_PAGE);
    let inputs = [
        Value::from(user_id),
        currency.code().into(),
        HISTORY_PER_PAGE.into(),
        offset.into(),
    ];
    let statement = WALLET_VIEW.statement(conn.get_database_backend(), &inputs, || {
        wallet_view_statement(user_id, currency, offset)
    });
    WalletViewParts::decode(&conn.query_all_raw(statement).await?)
}

/// The wallet (with its posting count), left-joined to the bank accounts
/// (so the wallet comes back when there are none), `UNION ALL` the page of
/// movements (two branches, so PostgreSQL resolves each NULL column against
/// the other branch's type). Nothing is joined to the union, so neither
/// database materialises it, and the wallet's columns come back once per
/// bank account rather than once per line.
fn wallet_view_statement(user_id: UserId, currency: Currency, offset: u64) -> SelectStatement {
    let null = || Expr::cust("NULL");
    let owner_accounts = wallets::Entity::belongs_to(bank_accounts::Entity)
        .from(wallets::Column::UserId)
        .to(bank_accounts::Column::UserId)
        .into();
    let wallet_branch = wallets::Entity::find()
        .select_only()
        .column_as(Expr::cust(WALLET_PART.to_string()), PART);
    let wallet_and_accounts = with_wallet_columns(wallet_branch)
        .column_as(bank_accounts::Column::Id, "account_id")
        .column(bank_accounts::Column::HolderName)
        .column(bank_accounts::Column::BankName)
        .column(bank_accounts::Column::AccountNumber)
        .column_as(bank_accounts::Column::CreatedAt, "account_created_at");
    let mut view = MOVEMENT_COLUMNS
        .into_iter()
        .fold(wallet_and_accounts, |select, name| {
            select.column_as(null(), name)
        })
        .join(JoinType::LeftJoin, owner_accounts)
        .filter(wallets::Column::UserId.eq(user_id))
        .filter(wallets::Column::Currency.eq(currency.code()))
        .into_query();

    let mut movements = history_of(user_id, currency).into_query();
    movements.limit(HISTORY_PER_PAGE).offset(offset);
    // The wallet's columns and an account's five are empty.
    let empty_columns = wallets::Column::iter().count() + 5;
    let mut movements_page = Query::select();
    movements_page
        .expr(Expr::cust(MOVEMENT_PART.to_string()))
        .exprs(std::iter::repeat_with(null).take(empty_columns))
        .columns(MOVEMENT_COLUMNS)
        .from_subquery(movements, "movements");
    view.union(UnionType::All, movements_page);
    view
}

/// Every movement of the user's wallet in `currency`, newest first (for the
/// CSV export).
///
/// # Errors
/// On database failure.
pub async fn full_history(
    db: &DatabaseConnection,
    user_id: UserId,
    currency: Currency,
) -> Result<Vec<HistoryRow>, AppError> {
    history_of(user_id, currency)
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
