//! Accounts as the use cases see them: domain [`User`]s, and an investor's
//! standing (qualified, risk declaration) read with the account in one query.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::corrupt;
use crate::{
    db::entities::{investor_profiles, users},
    domain::{
        ids::UserId,
        user::{Email, KycStatus, Role, User},
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
    Ok(InvestorStanding {
        user: parse(user)?,
        qualified: profile.as_ref().is_some_and(|p| p.qualified),
        risk_declaration_accepted_at: profile.and_then(|p| p.risk_declaration_accepted_at),
    })
}
