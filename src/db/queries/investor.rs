//! The investor's profile and nominees as the profile page shows them.

use crate::domain::ids::UserId;
use crate::error::AppError;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::db::entities::{investor_profiles, nominees};

/// The stored profile and the nominees in the order they were listed.
///
/// # Errors
/// On database failure.
pub async fn profile(
    conn: &impl ConnectionTrait,
    user_id: UserId,
) -> Result<Option<(investor_profiles::Model, Vec<nominees::Model>)>, AppError> {
    let Some(profile) = investor_profiles::Entity::find_by_id(user_id)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let named = nominees::Entity::find()
        .filter(nominees::Column::UserId.eq(user_id))
        .order_by_asc(nominees::Column::CreatedAt)
        .order_by_asc(nominees::Column::Id)
        .all(conn)
        .await?;
    Ok(Some((profile, named)))
}
