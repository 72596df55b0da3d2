//! Writing the journal. Every function takes the caller's transaction, so
//! the money movement commits or rolls back with the business change.
//!
//! Lock order, the same everywhere (no deadlocks): the wallets an entry
//! touches in ascending id, then (in later features) the loan, then the
//! chain head. On PostgreSQL these are row locks (`SELECT … FOR UPDATE`); on
//! SQLite the write transaction (`BEGIN IMMEDIATE`) already excludes other writers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{CaseStatement, Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    db::{
        self,
        entities::{ledger_entries, ledger_head, wallet_transactions, wallets},
    },
    domain::ids::UserId,
    domain::money::{MAX_MINOR, MoneyError},
    domain::wallet::WalletKind,
    ledger::{HashInput, JournalEntry, LedgerError, entry_hash, ledger_time},
};

/// Why a posting failed: a rule of the ledger, or the database.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Locks the wallets `ids` (`SELECT … FOR UPDATE`) in the platform's one
/// order, by id, and returns them in that order. A use case that must decide
/// on a wallet's state before posting to it (e.g. a daily limit) locks the
/// wallets it will post to through this first, so locks are never taken out
/// of order.
///
/// # Errors
/// On database failure.
pub async fn lock_wallets(
    txn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<wallets::Model>, DbErr> {
    wallets::Entity::find()
        .filter(wallets::Column::Id.is_in(ids.to_vec()))
        .order_by_asc(wallets::Column::Id)
        .lock_exclusive()
        .all(txn)
        .await
}

/// Posts `entry`: locks its wallets, refuses to take a user wallet below what
/// it has reserved (so never below zero), updates balances, writes the entry
/// with its chained hash and each posting with the wallet's balance after it.
/// Returns the entry's id.
///
/// # Errors
/// `InsufficientFunds`, `UnknownWallet`, `MixedCurrencies`, or a database error.
pub async fn post(
    txn: &impl ConnectionTrait,
    entry: &JournalEntry,
    created_by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<Uuid, PostError> {
    let ids = post_all(txn, &[(entry, created_by)], now).await?;
    ids.into_iter()
        .next()
        .ok_or_else(|| DbErr::Custom("an entry posted without an id".into()).into())
}

/// Wallets per balance update (five bound parameters each: an id and a
/// value for the balance and for the posting count, and the id again).
const WALLETS_PER_UPDATE: usize = 1_000;

/// Posts `entries` one after the other, as [`post`] posts one, with one
/// statement per table for all of them: a batch of repayments costs the
/// same handful of round trips as one. Each entry's checks see the balances
/// the entries before it left. Returns the entries' ids in order.
///
/// # Errors
/// As [`post`], for the first entry that fails (nothing is written then).
pub async fn post_all(
    txn: &impl ConnectionTrait,
    entries: &[(&JournalEntry, Option<UserId>)],
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, PostError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<Uuid> = entries
        .iter()
        .flat_map(|(entry, _)| entry.postings().iter().map(|p| p.wallet_id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut locked: BTreeMap<Uuid, wallets::Model> = lock_wallets(txn, &ids)
        .await?
        .into_iter()
        .map(|wallet| (wallet.id, wallet))
        .collect();

    let created_at = ledger_time(now);
    let mut lines_of = Vec::with_capacity(entries.len());
    for (entry, _) in entries {
        let mut currency = None;
        let mut lines = Vec::with_capacity(entry.postings().len());
        for posting in entry.postings() {
            let Some(wallet) = locked.get_mut(&posting.wallet_id) else {
                return Err(LedgerError::UnknownWallet(posting.wallet_id).into());
            };
            if *currency.get_or_insert(wallet.currency.clone()) != wallet.currency {
                return Err(LedgerError::MixedCurrencies.into());
            }
            let balance_after = wallet
                .balance
                .checked_add(posting.amount)
                .ok_or(LedgerError::Money(MoneyError::TooLarge))?;
            // A user's balance stays a sum people can be shown and can move.
            let users_wallet = wallet.kind == WalletKind::User.as_str();
            if users_wallet && balance_after > MAX_MINOR {
                return Err(LedgerError::Money(MoneyError::TooLarge).into());
            }
            if users_wallet && posting.amount < 0 && balance_after < wallet.reserved {
                return Err(LedgerError::InsufficientFunds {
                    wallet_id: wallet.id,
                }
                .into());
            }
            wallet.balance = balance_after;
            wallet.posting_count += 1;
            lines.push((wallet.id, posting.amount, balance_after));
        }
        lines_of.push(lines);
    }

    // The head is taken last: after the wallets, so the lock order holds.
    let count =
        i64::try_from(entries.len()).map_err(|_| DbErr::Custom("too many entries".into()))?;
    ledger_head::Entity::update_many()
        .col_expr(
            ledger_head::Column::Seq,
            Expr::col(ledger_head::Column::Seq).add(count),
        )
        .filter(ledger_head::Column::Id.eq(1))
        .exec(txn)
        .await?;
    let head = ledger_head::Entity::find_by_id(1)
        .one(txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("ledger_head".into()))?;

    let mut last_hash = head.last_hash;
    let mut entry_ids = Vec::with_capacity(entries.len());
    let mut entry_rows = Vec::with_capacity(entries.len());
    let mut posting_rows = Vec::new();
    for (((entry, created_by), lines), seq) in
        entries.iter().zip(&lines_of).zip(head.seq - count + 1..)
    {
        let id = Uuid::now_v7();
        entry_ids.push(id);
        let hash = entry_hash(&HashInput {
            prev_hash: last_hash.as_deref(),
            seq,
            id,
            kind: entry.kind().as_str(),
            memo: entry.memo(),
            created_at,
            postings: lines,
        });
        entry_rows.push(ledger_entries::ActiveModel {
            id: Set(id),
            seq: Set(seq),
            kind: Set(entry.kind().as_str().to_owned()),
            memo: Set(entry.memo().to_owned()),
            created_by: Set(created_by.map(Into::into)),
            created_at: Set(created_at),
            hash: Set(hash.clone()),
            prev_hash: Set(last_hash.replace(hash)),
        });
        posting_rows.extend(lines.iter().map(|(wallet_id, amount, balance_after)| {
            wallet_transactions::ActiveModel {
                id: Set(Uuid::now_v7()),
                entry_id: Set(id),
                wallet_id: Set(*wallet_id),
                amount: Set(*amount),
                balance_after: Set(*balance_after),
                created_at: Set(created_at),
                seq: Set(seq),
            }
        }));
    }
    db::insert_all(txn, entry_rows).await?;
    // Every wallet's new balance and posting count in one statement (per
    // thousand wallets), every posting in another: the wallets locked are
    // those posted to.
    let touched: Vec<&wallets::Model> = locked.values().collect();
    for chunk in touched.chunks(WALLETS_PER_UPDATE) {
        let each_wallet = |column: wallets::Column, value: fn(&wallets::Model) -> i64| {
            chunk
                .iter()
                .fold(CaseStatement::new(), |case, wallet| {
                    case.case(
                        wallets::Column::Id.eq(wallet.id),
                        Expr::value(value(wallet)),
                    )
                })
                .finally(Expr::col(column))
        };
        wallets::Entity::update_many()
            .col_expr(
                wallets::Column::Balance,
                each_wallet(wallets::Column::Balance, |wallet| wallet.balance).into(),
            )
            .col_expr(
                wallets::Column::PostingCount,
                each_wallet(wallets::Column::PostingCount, |wallet| wallet.posting_count).into(),
            )
            .col_expr(wallets::Column::UpdatedAt, Expr::value(created_at))
            .filter(wallets::Column::Id.is_in(chunk.iter().map(|wallet| wallet.id)))
            .exec(txn)
            .await?;
    }
    db::insert_all(txn, posting_rows).await?;
    ledger_head::Entity::update_many()
        .col_expr(ledger_head::Column::LastHash, Expr::value(last_hash))
        .filter(ledger_head::Column::Id.eq(1))
        .exec(txn)
        .await?;
    Ok(entry_ids)
}

/// Earmarks `amount` of a user wallet's available money (balance − reserved)
/// for a commitment; returns the wallet's row as it is now. A conditional
/// update: it cannot over-reserve under any concurrency.
///
/// # Errors
/// `InsufficientFunds` when less than `amount` is available.
pub async fn reserve(
    txn: &impl ConnectionTrait,
    wallet_id: Uuid,
    amount: i64,
) -> Result<wallets::Model, PostError> {
    let reserved = wallets::Entity::update_many()
        .col_expr(
            wallets::Column::Reserved,
            Expr::col(wallets::Column::Reserved).add(amount),
        )
        .filter(wallets::Column::Id.eq(wallet_id))
        .filter(
            Expr::col(wallets::Column::Balance)
                .sub(Expr::col(wallets::Column::Reserved))
                .gte(amount),
        )
        .exec_with_returning(txn)
        .await?;
    reserved
        .into_iter()
        .next()
        .ok_or(LedgerError::InsufficientFunds { wallet_id }.into())
}

/// Earmarks, as [`reserve`] does, each `(wallet, amount)` of `reservations`
/// at once (amounts above zero, one entry per wallet), one statement per
/// [`db::repo::ROWS_PER_STATEMENT`] wallets, each conditional on its own
/// available money.
///
/// # Errors
/// `InsufficientFunds` (naming the first wallet) when any wallet has less
/// available than its amount: the caller rolls back.
pub async fn reserve_all(
    txn: &impl ConnectionTrait,
    reservations: &[(Uuid, i64)],
) -> Result<(), PostError> {
    for chunk in reservations.chunks(db::repo::ROWS_PER_STATEMENT) {
        let mut amounts = CaseStatement::new();
        for (wallet_id, amount) in chunk {
            amounts = amounts.case(wallets::Column::Id.eq(*wallet_id), Expr::value(*amount));
        }
        let amount: Expr = amounts.finally(Expr::value(0_i64)).into();
        let result = wallets::Entity::update_many()
            .col_expr(
                wallets::Column::Reserved,
                Expr::col(wallets::Column::Reserved).add(amount.clone()),
            )
            .filter(wallets::Column::Id.is_in(chunk.iter().map(|(id, _)| *id)))
            .filter(
                Expr::col(wallets::Column::Balance)
                    .sub(Expr::col(wallets::Column::Reserved))
                    .gte(amount),
            )
            .exec(txn)
            .await?;
        if usize::try_from(result.rows_affected).ok() != Some(chunk.len()) {
            let wallet_id = chunk.first().map_or(Uuid::nil(), |(id, _)| *id);
            return Err(LedgerError::InsufficientFunds { wallet_id }.into());
        }
    }
    Ok(())
}

/// Gives back `amount` of a reservation (a cancelled or expired commitment),
/// or frees it to be turned into a transfer by the entry posted next.
///
/// # Errors
/// `InsufficientFunds` when less than `amount` is reserved.
pub async fn release(
    txn: &impl ConnectionTrait,
    wallet_id: Uuid,
    amount: i64,
) -> Result<(), PostError> {
    let result = wallets::Entity::update_many()
        .col_expr(
            wallets::Column::Reserved,
            Expr::col(wallets::Column::Reserved).sub(amount),
        )
        .filter(wallets::Column::Id.eq(wallet_id))
        .filter(wallets::Column::Reserved.gte(amount))
        .exec(txn)
        .await?;
    if result.rows_affected == 1 {
        Ok(())
    } else {
        Err(LedgerError::InsufficientFunds { wallet_id }.into())
    }
}

/// Turns a reservation into a transfer: releases `amount` on `wallet_id` and
/// posts `entry` (which must debit that wallet by it) in the same transaction.
///
/// # Errors
/// As [`release`] and [`post`].
pub async fn convert_reservation(
    txn: &impl ConnectionTrait,
    wallet_id: Uuid,
    amount: i64,
    entry: &JournalEntry,
    created_by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<Uuid, PostError> {
    release(txn, wallet_id, amount).await?;
    post(txn, entry, created_by, now).await
}

/// The platform wallet of `kind` for `currency`.
///
/// # Errors
/// `RecordNotFound` if reference data is missing (it is created by `db::migrate`).
pub async fn platform_wallet(
    conn: &impl ConnectionTrait,
    kind: &str,
    currency: &str,
) -> Result<wallets::Model, DbErr> {
    wallets::Entity::find()
        .filter(wallets::Column::Kind.eq(kind))
        .filter(wallets::Column::Currency.eq(currency))
        .filter(wallets::Column::UserId.is_null())
        .one(conn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("{kind} wallet for {currency}")))
}
