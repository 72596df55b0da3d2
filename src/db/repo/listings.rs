//! Secondary-market listings: read as domain [`Listing`]s, created open,
//! closed (sold or withdrawn) only by conditional updates on `open`.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};

use super::{corrupt, moved};
use crate::{
    db::entities::secondary_listings as listings,
    domain::{
        ids::{InvestmentId, ListingId, LoanId, UserId},
        money::{Currency, Money},
        secondary::{Listing, ListingStatus, Markup},
    },
    error::AppError,
};

/// The domain's listing of a stored row.
///
/// # Errors
/// `Unexpected`, naming the listing, for a value the domain refuses.
pub fn parse(row: listings::Model) -> Result<Listing, AppError> {
    let bad = |what: &str| corrupt("listing", row.id, what);
    let currency = Currency::parse(&row.currency).ok_or_else(|| bad("currency"))?;
    Ok(Listing {
        id: ListingId::from_uuid(row.id),
        loan_id: LoanId::from_uuid(row.loan_id),
        investment_id: InvestmentId::from_uuid(row.investment_id),
        seller_id: UserId::from_uuid(row.seller_id),
        principal: Money::from_minor(row.principal, currency).map_err(|_| bad("principal"))?,
        markup: Markup::from_bps(row.markup_bps),
        status: ListingStatus::parse(&row.status).ok_or_else(|| bad("status"))?,
        listed_at: row.created_at,
    })
}

/// Records a new open listing.
///
/// # Errors
/// A unique violation when the investment has an open listing already;
/// database failures.
pub async fn insert(conn: &impl ConnectionTrait, listing: &Listing) -> Result<(), AppError> {
    listings::ActiveModel {
        id: Set(listing.id.as_uuid()),
        loan_id: Set(listing.loan_id.as_uuid()),
        investment_id: Set(listing.investment_id.as_uuid()),
        seller_id: Set(listing.seller_id.as_uuid()),
        principal: Set(listing.principal.minor()),
        currency: Set(listing.principal.currency().code().to_owned()),
        markup_bps: Set(listing.markup.bps()),
        status: Set(ListingStatus::Open.as_str().to_owned()),
        reason: Set(None),
        buyer_id: Set(None),
        buyer_investment_id: Set(None),
        price: Set(None),
        fee: Set(None),
        entry_id: Set(None),
        created_at: Set(listing.listed_at),
        updated_at: Set(listing.listed_at),
        closed_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// One listing, whoever listed it.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn find(conn: &impl ConnectionTrait, id: ListingId) -> Result<Option<Listing>, AppError> {
    listings::Entity::find_by_id(id.as_uuid())
        .one(conn)
        .await?
        .map(parse)
        .transpose()
}

/// The open listings of `loan`, in the order they were listed.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn open_of_loan(
    conn: &impl ConnectionTrait,
    loan: LoanId,
) -> Result<Vec<Listing>, AppError> {
    listings::Entity::find()
        .filter(listings::Column::LoanId.eq(loan))
        .filter(listings::Column::Status.eq(ListingStatus::Open.as_str()))
        .order_by_asc(listings::Column::CreatedAt)
        .order_by_asc(listings::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(parse)
        .collect()
}

/// What a sale wrote, for the listing's row.
#[derive(Debug, Clone, Copy)]
pub struct Sale {
    pub buyer: UserId,
    pub buyer_investment: InvestmentId,
    pub price: Money,
    pub fee: Money,
    pub entry: uuid::Uuid,
}

/// Closes an open listing as sold.
///
/// # Errors
/// `Conflict` when it is no longer open; database failures.
pub async fn sold(
    conn: &impl ConnectionTrait,
    id: ListingId,
    sale: Sale,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let result = listings::Entity::update_many()
        .col_expr(
            listings::Column::Status,
            Expr::value(ListingStatus::Sold.as_str()),
        )
        .col_expr(
            listings::Column::BuyerId,
            Expr::value(Some(sale.buyer.as_uuid())),
        )
        .col_expr(
            listings::Column::BuyerInvestmentId,
            Expr::value(Some(sale.buyer_investment.as_uuid())),
        )
        .col_expr(
            listings::Column::Price,
            Expr::value(Some(sale.price.minor())),
        )
        .col_expr(listings::Column::Fee, Expr::value(Some(sale.fee.minor())))
        .col_expr(listings::Column::EntryId, Expr::value(Some(sale.entry)))
        .col_expr(listings::Column::UpdatedAt, Expr::value(now))
        .col_expr(listings::Column::ClosedAt, Expr::value(Some(now)))
        .filter(listings::Column::Id.eq(id))
        .filter(listings::Column::Status.eq(ListingStatus::Open.as_str()))
        .exec(conn)
        .await?;
    moved(&result, 1)
}

/// Withdraws open listings (`None`: those of `loans`), saying why;
/// returns how many.
///
/// # Errors
/// Database failures.
pub async fn withdraw(
    conn: &impl ConnectionTrait,
    which: Withdrawn<'_>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let mut update = listings::Entity::update_many()
        .col_expr(
            listings::Column::Status,
            Expr::value(ListingStatus::Withdrawn.as_str()),
        )
        .col_expr(
            listings::Column::Reason,
            Expr::value(Some(reason.to_owned())),
        )
        .col_expr(listings::Column::UpdatedAt, Expr::value(now))
        .col_expr(listings::Column::ClosedAt, Expr::value(Some(now)))
        .filter(listings::Column::Status.eq(ListingStatus::Open.as_str()));
    update = match which {
        Withdrawn::One(id, seller) => update
            .filter(listings::Column::Id.eq(id))
            .filter(listings::Column::SellerId.eq(seller)),
        Withdrawn::OfLoans(loans) => {
            update.filter(listings::Column::LoanId.is_in(loans.iter().copied()))
        }
    };
    Ok(update.exec(conn).await?.rows_affected)
}

/// Which open listings [`withdraw`] closes.
#[derive(Debug, Clone, Copy)]
pub enum Withdrawn<'a> {
    /// One listing, by its seller.
    One(ListingId, UserId),
    /// Every open listing of these loans.
    OfLoans(&'a [LoanId]),
}

/// The loans that have open listings.
///
/// # Errors
/// Database failures.
pub async fn loans_with_open(conn: &impl ConnectionTrait) -> Result<Vec<LoanId>, AppError> {
    let ids: Vec<uuid::Uuid> = listings::Entity::find()
        .select_only()
        .column(listings::Column::LoanId)
        .distinct()
        .filter(listings::Column::Status.eq(ListingStatus::Open.as_str()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(ids.into_iter().map(LoanId::from_uuid).collect())
}

/// What a sold listing's buyer got: their stake and the price paid.
///
/// # Errors
/// Database failures.
pub async fn bought_with(
    conn: &impl ConnectionTrait,
    id: ListingId,
) -> Result<Option<(InvestmentId, i64, i64)>, AppError> {
    let row = listings::Entity::find_by_id(id.as_uuid()).one(conn).await?;
    Ok(row.and_then(|r| {
        Some((
            InvestmentId::from_uuid(r.buyer_investment_id?),
            r.principal,
            r.price?,
        ))
    }))
}
