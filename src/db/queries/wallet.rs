//! The wallet page: balances, bank accounts, and the history of postings.

use crate::domain::ids::UserId;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, IdenStatic,
    Iterable, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait, Value,
    sea_query::{Expr, Query, SelectStatement, UnionType},
};
use uuid::Uuid;

use super::{Page, TOTAL_ROWS, clamp_page, fixed_sql::FixedSql, furthest_page, pages_for};
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

/// The movements of the user's wallet in `currency`, newest first.
fn history_of(user_id: UserId, currency: Currency) -> Select<wallet_transactions::Entity> {
    wallet_transactions::Entity::find()
        .select_only()
        .column(ledger_entries::Column::CreatedAt)
        .column(ledger_entries::Column::Kind)
        .column(ledger_entries::Column::Memo)
        .column(wallet_transactions::Column::Amount)
        .column(wallet_transactions::Column::BalanceAfter)
        .column(ledger_entries::Column::Seq)
        .join(
            JoinType::InnerJoin,
            wallet_transactions::Relation::Entry.def(),
        )
        .join(
            JoinType::InnerJoin,
            wallet_transactions::Relation::Wallet.def(),
        )
        .filter(wallets::Column::UserId.eq(user_id))
        .filter(wallets::Column::Currency.eq(currency.code()))
        .order_by_desc(ledger_entries::Column::Seq)
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

/// The columns of a bank account's or a movement's line: a bank account's
/// four, then a movement's six (`created_at` is the account's or the
/// movement's).
const LINE_COLUMNS: [&str; 10] = [
    "account_id",
    "holder_name",
    "bank_name",
    "account_number",
    "created_at",
    "kind",
    "memo",
    "amount",
    "balance_after",
    "seq",
];

/// One row of the wallet view: the wallet and the count of its movements
/// beside one bank account (or none), or one movement of the page alone.
#[derive(Debug, FromQueryResult)]
struct WalletViewRow {
    #[sea_orm(nested(prefix = "wallet_"))]
    wallet: Option<wallets::Model>,
    total_rows: Option<i64>,
    account_id: Option<Uuid>,
    holder_name: Option<String>,
    bank_name: Option<String>,
    account_number: Option<String>,
    created_at: Option<DateTime<Utc>>,
    kind: Option<String>,
    memo: Option<String>,
    amount: Option<i64>,
    balance_after: Option<i64>,
    seq: Option<i64>,
}

/// A row's bank account or movement.
enum Line {
    Account(BankAccount, DateTime<Utc>),
    Movement(HistoryRow, i64),
}

impl WalletViewRow {
    fn line(self) -> Option<Line> {
        let created_at = self.created_at?;
        if let Some(id) = self.account_id {
            return Some(Line::Account(
                BankAccount {
                    id: BankAccountId::from_uuid(id),
                    holder_name: self.holder_name?,
                    bank_name: self.bank_name?,
                    account_number: self.account_number?,
                },
                created_at,
            ));
        }
        Some(Line::Movement(
            HistoryRow {
                created_at,
                kind: self.kind?,
                memo: self.memo?,
                amount: self.amount?,
                balance_after: self.balance_after?,
            },
            self.seq?,
        ))
    }
}

/// The user's wallet in `currency` with their bank accounts and page `page`
/// of its movements, in one statement: the accounts and the page are one
/// `UNION ALL` joined to the wallet row. A page past the end costs a second
/// statement for the last page.
///
/// # Errors
/// Database failures; a wallet row that does not parse.
pub async fn wallet_view(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    currency: Currency,
    page: Option<u64>,
) -> Result<Option<WalletView>, AppError> {
    let mut page = clamp_page(page).min(furthest_page(HISTORY_PER_PAGE));
    let mut rows = wallet_view_rows(conn, user_id, currency, page).await?;
    let Some((wallet, total)) = wallet_of(&rows) else {
        return Ok(None);
    };
    let pages = pages_for(total, HISTORY_PER_PAGE);
    if page > pages {
        page = pages;
        rows = wallet_view_rows(conn, user_id, currency, page).await?;
    }
    let wallet = wallets_repo::parse(wallet)?;
    let mut accounts = Vec::new();
    let mut movements = Vec::new();
    for line in rows.into_iter().filter_map(WalletViewRow::line) {
        match line {
            Line::Account(account, created_at) => accounts.push((created_at, account)),
            Line::Movement(row, seq) => movements.push((seq, row)),
        }
    }
    // A union keeps no order: each part is put back in its own.
    accounts.sort_by(|(a_at, a), (b_at, b)| (a_at, a.id).cmp(&(b_at, b.id)));
    movements.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
    Ok(Some(WalletView {
        wallet,
        accounts: accounts.into_iter().map(|(_, account)| account).collect(),
        history: Page {
            items: movements.into_iter().map(|(_, row)| row).collect(),
            page,
            pages,
            total,
        },
    }))
}

/// The wallet and its movement count, from the row that carries them (none
/// when the user has no wallet in that currency).
fn wallet_of(rows: &[WalletViewRow]) -> Option<(wallets::Model, u64)> {
    rows.iter().find_map(|row| {
        let wallet = row.wallet.clone()?;
        Some((wallet, u64::try_from(row.total_rows?).unwrap_or(0)))
    })
}

async fn wallet_view_rows(
    conn: &impl ConnectionTrait,
    user_id: UserId,
    currency: Currency,
    page: u64,
) -> Result<Vec<WalletViewRow>, AppError> {
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
    Ok(WalletViewRow::find_by_statement(statement)
        .all(conn)
        .await?)
}

/// The wallet with its movement count, left-joined to the bank accounts
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
    let mut view = with_wallet_columns(wallets::Entity::find().select_only())
        .column_as(
            Expr::SubQuery(None, Box::new(movement_count(user_id, currency).into())),
            TOTAL_ROWS,
        )
        .column_as(bank_accounts::Column::Id, "account_id")
        .column(bank_accounts::Column::HolderName)
        .column(bank_accounts::Column::BankName)
        .column(bank_accounts::Column::AccountNumber)
        .column(bank_accounts::Column::CreatedAt)
        .column_as(null(), "kind")
        .column_as(null(), "memo")
        .column_as(null(), "amount")
        .column_as(null(), "balance_after")
        .column_as(null(), "seq")
        .join(JoinType::LeftJoin, owner_accounts)
        .filter(wallets::Column::UserId.eq(user_id))
        .filter(wallets::Column::Currency.eq(currency.code()))
        .into_query();

    let mut movements = history_of(user_id, currency).into_query();
    movements.limit(HISTORY_PER_PAGE).offset(offset);
    // The wallet's columns, the count and an account's columns are empty.
    let empty_columns = wallets::Column::iter().count() + 1 + 4;
    let mut movements_page = Query::select();
    movements_page
        .exprs(std::iter::repeat_with(null).take(empty_columns))
        .columns(LINE_COLUMNS[4..].iter().copied())
        .from_subquery(movements, "movements");
    view.union(UnionType::All, movements_page);
    view
}

/// `SELECT COUNT(*)` of the user's movements in `currency`: the postings
/// alone (each belongs to a journal entry by its foreign key, so joining
/// the journal would not change the count).
fn movement_count(user_id: UserId, currency: Currency) -> SelectStatement {
    wallet_transactions::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), TOTAL_ROWS)
        .join(
            JoinType::InnerJoin,
            wallet_transactions::Relation::Wallet.def(),
        )
        .filter(wallets::Column::UserId.eq(user_id))
        .filter(wallets::Column::Currency.eq(currency.code()))
        .into_query()
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
