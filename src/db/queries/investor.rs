//! The investor's profile and nominees as the profile page shows them.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::{
    db::entities::{investor_profiles, nominees},
    domain::ids::UserId,
    error::AppError,
};

/// The investor's profile as stored.
#[derive(Debug, Clone)]
pub struct StoredProfile {
    pub tax_id: Option<String>,
    pub qualified: bool,
    pub risk_declaration_accepted_at: Option<DateTime<Utc>>,
    /// In the order they were listed.
    pub nominees: Vec<StoredNominee>,
}

/// One nominee as stored.
#[derive(Debug, Clone)]
pub struct StoredNominee {
    pub name: String,
    /// The `Kinship` word.
    pub relation: String,
    pub share_pct: i32,
}

/// The stored profile with its nominees, if the investor saved one.
///
/// # Errors
/// On database failure.
pub async fn profile(
    conn: &impl ConnectionTrait,
    user_id: UserId,
) -> Result<Option<StoredProfile>, AppError> {
    let Some(profile) = investor_profiles::Entity::find_by_id(user_id)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let nominees = nominees::Entity::find()
        .filter(nominees::Column::UserId.eq(user_id))
        .order_by_asc(nominees::Column::CreatedAt)
        .order_by_asc(nominees::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|n| StoredNominee {
            name: n.name,
            relation: n.relation,
            share_pct: n.share_pct,
        })
        .collect();
    Ok(Some(StoredProfile {
        tax_id: profile.tax_id,
        qualified: profile.qualified,
        risk_declaration_accepted_at: profile.risk_declaration_accepted_at,
        nominees,
    }))
}
