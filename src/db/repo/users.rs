//! Accounts as the use cases see them: domain [`User`]s, and an investor's
//! standing (qualified, risk declaration) read with the account in one query.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait, Query},
};

use super::{corrupt, wallets as wallets_repo};
use crate::{
    db::entities::{investor_profiles, loan_requests, users, wallets},
    domain::{
        ids::{LoanId, UserId},
        user::{Email, KycStatus, Role, User},
        wallet::Wallet,
    },
    error::AppError,
};

/// The domain's user of a stored row.
///
/// # Errors
/// `Unexpected`, naming the account, for a value the domain refuses.
pub fn parse(row: users::Model) -> Result<User, AppError> {
    let bad = |what: &str| corrupt("user", row.id, what);
    Ok(User {
        id: UserId::from_uuid(row.id),
        email: Email::parse(&row.email).map_err(|_| bad("email"))?,
        full_name: row.full_name,
        role: Role::parse(&row.role).ok_or_else(|| bad("role"))?,
        kyc_status: KycStatus::parse(&row.kyc_status)
            .ok_or_else(|| bad("identity check status"))?,
    })
}

/// The account `id`.
///
/// # Errors
/// `NotFound`; database failures; a row that does not parse.
pub async fn get(conn: &impl ConnectionTrait, id: UserId) -> Result<User, AppError> {
    users::Entity::find_by_id(id.as_uuid())
        .one(conn)
        .await?
        .map(parse)
        .transpose()?
        .ok_or(AppError::NotFound)
}

/// The accounts `ids` (those that exist), by id.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn get_many(
    conn: &impl ConnectionTrait,
    ids: &[UserId],
) -> Result<BTreeMap<UserId, User>, AppError> {
    users::Entity::find()
        .filter(users::Column::Id.is_in(ids.to_vec()))
        .all(conn)
        .await?
        .into_iter()
        .map(|row| parse(row).map(|user| (user.id, user)))
        .collect()
}

/// An investor's account with what their profile says about investing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvestorStanding {
    pub user: User,
    pub qualified: bool,
    pub risk_declaration_accepted_at: Option<DateTime<Utc>>,
}

/// The account `id` with its investor profile (none yet: not qualified, no
/// declaration), in one query.
///
/// # Errors
/// `NotFound`; database failures; a row that does not parse.
pub async fn investor(
    conn: &impl ConnectionTrait,
    id: UserId,
) -> Result<InvestorStanding, AppError> {
    let (user, profile) = users::Entity::find_by_id(id.as_uuid())
        .find_also_related(investor_profiles::Entity)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)?;
    standing(user, profile)
}

/// As [`investor`], for each of `ids` that exists, in one query per
/// [`db::ROWS_PER_INSERT`] ids.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn investors(
    conn: &impl ConnectionTrait,
    ids: &[UserId],
) -> Result<BTreeMap<UserId, InvestorStanding>, AppError> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(crate::db::ROWS_PER_INSERT) {
        for (user, profile) in users::Entity::find()
            .find_also_related(investor_profiles::Entity)
            .filter(users::Column::Id.is_in(chunk.iter().copied()))
            .all(conn)
            .await?
        {
            let standing = standing(user, profile)?;
            out.insert(standing.user.id, standing);
        }
    }
    Ok(out)
}

fn standing(
    user: users::Model,
    profile: Option<investor_profiles::Model>,
) -> Result<InvestorStanding, AppError> {
    Ok(InvestorStanding {
        user: parse(user)?,
        qualified: profile.as_ref().is_some_and(|p| p.qualified),
        risk_declaration_accepted_at: profile.and_then(|p| p.risk_declaration_accepted_at),
    })
}

/// As [`investor`], with the investor's wallet in the currency of `loan`,
/// in one query (a plain read: whoever moves money locks the wallet by
/// changing it). `NotFound` when either is missing.
///
/// # Errors
/// `NotFound`; database failures; a row that does not parse.
pub async fn investor_with_wallet_for(
    conn: &impl ConnectionTrait,
    id: UserId,
    loan: LoanId,
) -> Result<(InvestorStanding, Wallet), AppError> {
    let loan_currency = Query::select()
        .column(loan_requests::Column::Currency)
        .from(loan_requests::Entity)
        .and_where(Expr::col(loan_requests::Column::Id).eq(loan.as_uuid()))
        .to_owned();
    let (user, profile, wallet) = users::Entity::find_by_id(id.as_uuid())
        .find_also_related(investor_profiles::Entity)
        .find_also_related(wallets::Entity)
        .filter(Expr::col((wallets::Entity, wallets::Column::Currency)).in_subquery(loan_currency))
        .limit(1)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)?;
    let wallet = wallet.ok_or(AppError::NotFound)?;
    Ok((standing(user, profile)?, wallets_repo::parse(wallet)?))
}
