//! Wallets: read and locked as domain [`Wallet`]s. Locks are always taken
//! in the platform's one order, wallets by id (then the loan, by the use
//! case), so two use cases never wait for each other in a circle.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::corrupt;
use crate::{
    db::entities::wallets,
    domain::{
        ids::{UserId, WalletId},
        money::{Currency, Money},
        wallet::{Wallet, WalletKind},
    },
    error::AppError,
};

/// The domain's wallet of a stored row.
///
/// # Errors
/// `Unexpected`, naming the wallet, for a value the domain refuses.
pub fn parse(row: wallets::Model) -> Result<Wallet, AppError> {
    let bad = |what: &str| corrupt("wallet", row.id, what);
    let currency = Currency::parse(&row.currency).ok_or_else(|| bad("currency"))?;
    Ok(Wallet {
        id: WalletId::from_uuid(row.id),
        owner: row.user_id.map(UserId::from_uuid),
        kind: WalletKind::parse(&row.kind).ok_or_else(|| bad("kind"))?,
        balance: Money::from_minor(row.balance, currency).map_err(|_| bad("balance"))?,
        reserved: Money::from_minor(row.reserved, currency).map_err(|_| bad("reserved"))?,
    })
}

fn parse_all(rows: Vec<wallets::Model>) -> Result<Vec<Wallet>, AppError> {
    rows.into_iter().map(parse).collect()
}

/// Locks every wallet of `users` in `currency` and the platform wallets of
/// `platform` kinds in `currency`, in id order; returns them in that order.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn lock(
    conn: &impl ConnectionTrait,
    users: &[UserId],
    platform: &[WalletKind],
    currency: Currency,
) -> Result<Vec<Wallet>, AppError> {
    let rows = wallets::Entity::find()
        .filter(wallets::Column::Currency.eq(currency.code()))
        .filter(
            Condition::any()
                .add(wallets::Column::UserId.is_in(users.to_vec()))
                .add(
                    Condition::all().add(wallets::Column::UserId.is_null()).add(
                        wallets::Column::Kind
                            .is_in(platform.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
                    ),
                ),
        )
        .order_by_asc(wallets::Column::Id)
        .lock_exclusive()
        .all(conn)
        .await?;
    parse_all(rows)
}

/// Locks every wallet `user` has (one per currency), in id order: a use case
/// that learns the currency only from a loan it locks next takes these first.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn lock_all_of(
    conn: &impl ConnectionTrait,
    user: UserId,
) -> Result<Vec<Wallet>, AppError> {
    lock_all_of_users(conn, &[user]).await
}

/// Locks every wallet of each of `users`, in id order, as [`lock_all_of`]
/// locks one user's.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn lock_all_of_users(
    conn: &impl ConnectionTrait,
    users: &[UserId],
) -> Result<Vec<Wallet>, AppError> {
    let rows = wallets::Entity::find()
        .filter(wallets::Column::UserId.is_in(users.iter().copied()))
        .order_by_asc(wallets::Column::Id)
        .lock_exclusive()
        .all(conn)
        .await?;
    parse_all(rows)
}

/// `user`'s wallet in `currency`, if they have one (a plain read).
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn of_user(
    conn: &impl ConnectionTrait,
    user: UserId,
    currency: Currency,
) -> Result<Option<Wallet>, AppError> {
    wallets::Entity::find()
        .filter(wallets::Column::UserId.eq(user))
        .filter(wallets::Column::Currency.eq(currency.code()))
        .one(conn)
        .await?
        .map(parse)
        .transpose()
}

/// The wallets in `currency` of each of `users` that has one (a plain read).
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn of_users(
    conn: &impl ConnectionTrait,
    users: &[UserId],
    currency: Currency,
) -> Result<Vec<Wallet>, AppError> {
    let mut out = Vec::with_capacity(users.len());
    for chunk in users.chunks(crate::db::ROWS_PER_INSERT) {
        let rows = wallets::Entity::find()
            .filter(wallets::Column::UserId.is_in(chunk.iter().copied()))
            .filter(wallets::Column::Currency.eq(currency.code()))
            .all(conn)
            .await?;
        out.extend(parse_all(rows)?);
    }
    Ok(out)
}
