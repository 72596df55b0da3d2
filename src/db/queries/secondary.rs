//! The secondary market as pages read it: the open listings with their
//! loans, filtered like the marketplace, first come first served.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use super::{Page, clamp_page};
use crate::{
    db::{
        entities::{loan_requests, secondary_listings as listings},
        repo::{listings as listing_rows, loans},
    },
    domain::{
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

/// One page of open listings of repaying loans that match `filter`, oldest
/// first.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn open(
    conn: &impl ConnectionTrait,
    filter: &SecondaryFilter,
    page: Option<u64>,
) -> Result<Page<(Listing, Loan)>, AppError> {
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
    let query = query
        .order_by_asc(listings::Column::CreatedAt)
        .order_by_asc(listings::Column::Id);
    let page = clamp_page(page);
    let paginator = query.paginate(conn, PER_PAGE);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page - 1).await?;
    let items = rows
        .into_iter()
        .filter_map(|(row, loan)| loan.map(|loan| (row, loan)))
        .map(|(row, loan)| Ok((listing_rows::parse(row)?, loans::parse(loan)?)))
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(Page {
        items,
        page,
        pages: total.div_ceil(PER_PAGE).max(1),
        total,
    })
}
