//! Offers (listing mode `offers`): read as domain [`Offer`]s, created
//! pending, their rate edited while pending, and moved only by the offer's
//! status machine with conditional updates on the status read.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};

use super::{corrupt, loans, moved};
use crate::{
    db::entities::{loan_requests, offers},
    domain::{
        ids::{LoanId, OfferId, UserId},
        loan::Loan,
        money::{Currency, Money, Rate},
        offers::{Offer, OfferEvent, OfferStatus, offer_transition},
    },
    error::AppError,
};

/// The domain's offer of a stored row.
///
/// # Errors
/// `Unexpected`, naming the offer, for a value the domain refuses.
pub fn parse(row: offers::Model) -> Result<Offer, AppError> {
    let bad = |what: &str| corrupt("offer", row.id, what);
    let currency = Currency::parse(&row.currency).ok_or_else(|| bad("currency"))?;
    Ok(Offer {
        id: OfferId::from_uuid(row.id),
        loan_id: LoanId::from_uuid(row.loan_id),
        lender_id: UserId::from_uuid(row.lender_id),
        rate: u32::try_from(row.rate_annual)
            .ok()
            .and_then(|bps| Rate::from_bps(bps).ok())
            .ok_or_else(|| bad("rate_annual"))?,
        amount: Money::from_minor(row.amount, currency).map_err(|_| bad("amount"))?,
        status: OfferStatus::parse(&row.status).ok_or_else(|| bad("status"))?,
        made_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Records a new pending offer.
///
/// # Errors
/// A unique violation when the lender has a pending offer on the loan
/// already; database failures.
pub async fn insert(conn: &impl ConnectionTrait, offer: &Offer) -> Result<(), AppError> {
    offers::ActiveModel {
        id: Set(offer.id.as_uuid()),
        loan_id: Set(offer.loan_id.as_uuid()),
        lender_id: Set(offer.lender_id.as_uuid()),
        rate_annual: Set(i32::try_from(offer.rate.bps()).unwrap_or(i32::MAX)),
        amount: Set(offer.amount.minor()),
        currency: Set(offer.amount.currency().code().to_owned()),
        status: Set(OfferStatus::Pending.as_str().to_owned()),
        created_at: Set(offer.made_at),
        updated_at: Set(offer.made_at),
        decided_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The loan's offers in `statuses`, in the order they were made.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn of_loan(
    conn: &impl ConnectionTrait,
    loan: LoanId,
    statuses: &[OfferStatus],
) -> Result<Vec<Offer>, AppError> {
    offers::Entity::find()
        .filter(offers::Column::LoanId.eq(loan))
        .filter(offers::Column::Status.is_in(statuses.iter().map(|s| s.as_str())))
        .order_by_asc(offers::Column::CreatedAt)
        .order_by_asc(offers::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(parse)
        .collect()
}

/// `lender`'s latest `limit` offers, newest first, each with its loan, in
/// one query.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn of_lender(
    conn: &impl ConnectionTrait,
    lender: UserId,
    limit: u64,
) -> Result<Vec<(Offer, Loan)>, AppError> {
    offers::Entity::find()
        .find_also_related(loan_requests::Entity)
        .filter(offers::Column::LenderId.eq(lender))
        .order_by_desc(offers::Column::CreatedAt)
        .order_by_desc(offers::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|(row, loan)| {
            let loan = loan.ok_or_else(|| corrupt("offer", row.id, "loan"))?;
            Ok((parse(row)?, loans::parse(loan)?))
        })
        .collect()
}

/// One of `lender`'s offers; someone else's reads like one that does not
/// exist.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn owned_by(
    conn: &impl ConnectionTrait,
    lender: UserId,
    id: OfferId,
) -> Result<Option<Offer>, AppError> {
    offers::Entity::find_by_id(id.as_uuid())
        .filter(offers::Column::LenderId.eq(lender))
        .one(conn)
        .await?
        .map(parse)
        .transpose()
}

/// Gives a pending offer a new rate.
///
/// # Errors
/// `Conflict` when it is no longer pending; database failures.
pub async fn set_rate(
    conn: &impl ConnectionTrait,
    offer: &Offer,
    rate: Rate,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    next(offer.status, OfferEvent::Edit)?;
    let result = offers::Entity::update_many()
        .col_expr(
            offers::Column::RateAnnual,
            Expr::value(i32::try_from(rate.bps()).unwrap_or(i32::MAX)),
        )
        .col_expr(offers::Column::UpdatedAt, Expr::value(now))
        .filter(offers::Column::Id.eq(offer.id))
        .filter(offers::Column::Status.eq(OfferStatus::Pending.as_str()))
        .exec(conn)
        .await?;
    moved(&result, 1)
}

/// Moves each of `offers` (all read in one status) by `event`.
///
/// # Errors
/// `Unexpected` for a move the status machine refuses; `Conflict` when one
/// moved meanwhile; database failures.
pub async fn apply_all(
    conn: &impl ConnectionTrait,
    offers: &[Offer],
    event: OfferEvent,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some(first) = offers.first() else {
        return Ok(());
    };
    let to = next(first.status, event)?;
    let result = offers::Entity::update_many()
        .col_expr(offers::Column::Status, Expr::value(to.as_str()))
        .col_expr(offers::Column::UpdatedAt, Expr::value(now))
        .col_expr(offers::Column::DecidedAt, Expr::value(Some(now)))
        .filter(offers::Column::Id.is_in(offers.iter().map(|o| o.id)))
        .filter(offers::Column::Status.eq(first.status.as_str()))
        .exec(conn)
        .await?;
    moved(&result, offers.len())
}

fn next(from: OfferStatus, event: OfferEvent) -> Result<OfferStatus, AppError> {
    offer_transition(from, event).map_err(|refused| AppError::Unexpected(refused.into()))
}
