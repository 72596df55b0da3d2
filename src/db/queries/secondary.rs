//! The secondary market as pages read it: the open listings with their
//! loans, filtered like the marketplace, first come first served, in pages
//! cut by key as the marketplace's are.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, SelectTwo,
    sea_query::{Expr, ExprTrait},
};

use crate::{
    db::{
        entities::{loan_requests, secondary_listings as listings},
        repo::{listings as listing_rows, loans},
    },
    domain::{
        ids::ListingId,
        lifecycle::LoanStatus,
        loan::Loan,
        secondary::{Listing, ListingStatus},
    },
    error::AppError,
};

/// Listings to a page.
pub const PER_PAGE: u64 = 20;

/// What the list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecondaryFilter {
    pub grade: Option<String>,
    /// Basis points.
    pub min_rate: Option<i32>,
    pub max_term: Option<i32>,
    pub purpose: Option<String>,
    /// Basis points.
    pub max_markup: Option<i32>,
}

/// Where the previous page ended: its last listing's time (microseconds)
/// and id.
pub type Cursor = super::Cursor<ListingId>;

/// One page of open listings, and whether more follow.
#[derive(Debug, Clone)]
pub struct OpenPage {
    pub items: Vec<(Listing, Loan)>,
    pub next: Option<Cursor>,
}

/// The open listings of repaying loans that match `filter`, oldest first
/// (the earlier id first between equal times), starting after `after`.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn open(
    conn: &impl ConnectionTrait,
    filter: &SecondaryFilter,
    after: Option<Cursor>,
) -> Result<OpenPage, AppError> {
    let rows = open_query(filter, after).all(conn).await?;
    let mut items = rows
        .into_iter()
        .filter_map(|(row, loan)| loan.map(|loan| (row, loan)))
        .map(|(row, loan)| Ok((listing_rows::parse(row)?, loans::parse(loan)?)))
        .collect::<Result<Vec<_>, AppError>>()?;
    let per_page = usize::try_from(PER_PAGE).unwrap_or(usize::MAX);
    let more = items.len() > per_page;
    items.truncate(per_page);
    let next = more
        .then(|| items.last())
        .flatten()
        .map(|(listing, _)| Cursor {
            key: listing.listed_at.timestamp_micros(),
            id: listing.id,
        });
    Ok(OpenPage { items, next })
}

/// The query [`open`] runs (one row more than a page, to tell whether more
/// follow); the tests read its plan.
#[must_use]
pub fn open_query(
    filter: &SecondaryFilter,
    after: Option<Cursor>,
) -> SelectTwo<listings::Entity, loan_requests::Entity> {
    let mut query = listings::Entity::find()
        .find_also_related(loan_requests::Entity)
        .filter(listings::Column::Status.eq(ListingStatus::Open.as_str()))
        .filter(loan_requests::Column::Status.eq(LoanStatus::Active.as_str()));
    if let Some(grade) = &filter.grade {
        query = query.filter(loan_requests::Column::RiskGrade.eq(grade.as_str()));
    }
    if let Some(rate) = filter.min_rate {
        query = query.filter(loan_requests::Column::RateAnnual.gte(rate));
    }
    if let Some(term) = filter.max_term {
        query = query.filter(loan_requests::Column::TermMonths.lte(term));
    }
    if let Some(purpose) = &filter.purpose {
        query = query.filter(loan_requests::Column::Purpose.eq(purpose.as_str()));
    }
    if let Some(markup) = filter.max_markup {
        query = query.filter(listings::Column::MarkupBps.lte(markup));
    }
    if let Some(cursor) = after {
        let at: sea_orm::Value = DateTime::<Utc>::from_timestamp_micros(cursor.key)
            .unwrap_or_default()
            .into();
        // `(created_at, id) > (at, id)`, with `created_at >= at` beside it so
        // that both databases seek the index (migration 23) to the cursor.
        let place = Expr::tuple([
            Expr::col((listings::Entity, listings::Column::CreatedAt)),
            Expr::col((listings::Entity, listings::Column::Id)),
        ]);
        let cursor_place = Expr::tuple([Expr::val(at.clone()), Expr::val(cursor.id)]);
        query = query
            .filter(listings::Column::CreatedAt.gte(at))
            .filter(place.gt(cursor_place));
    }
    query
        .order_by_asc(listings::Column::CreatedAt)
        .order_by_asc(listings::Column::Id)
        .limit(PER_PAGE + 1)
}
