//! Read models: one query per screen, returning flat structs shaped for the
//! template. Nothing here writes.

use crate::error::AppError;
use sea_orm::{ConnectionTrait, Paginator, SelectorTrait, sea_query::LikeExpr};

pub mod applications;
pub mod audit;
pub mod investments;
pub mod investor;
pub mod marketplace;
pub mod outbox;
pub mod users;
pub mod wallet;

/// A `LIKE` pattern matching any text that contains `text` literally: `%`,
/// `_` and the escape character itself are escaped, so a filter of `%`
/// matches only a percent sign, not every row.
#[must_use]
pub fn containing(text: &str) -> LikeExpr {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    LikeExpr::new(pattern).escape('\\')
}

/// A page of rows and what the pager needs.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u64,
    pub pages: u64,
    pub total: u64,
}

impl<T> Page<T> {
    #[must_use]
    pub fn has_previous(&self) -> bool {
        self.page > 1
    }

    #[must_use]
    pub fn has_next(&self) -> bool {
        self.page < self.pages
    }

    /// The same page with each item turned into another (e.g. a stored row
    /// parsed into a domain type).
    ///
    /// # Errors
    /// The first item that does not convert.
    pub fn try_map<U, E>(self, convert: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self
                .items
                .into_iter()
                .map(convert)
                .collect::<Result<_, _>>()?,
            page: self.page,
            pages: self.pages,
            total: self.total,
        })
    }
}

/// Page numbers start at 1; anything else is read as the first page.
#[must_use]
pub fn clamp_page(page: Option<u64>) -> u64 {
    page.filter(|p| *p >= 1).unwrap_or(1)
}

/// Fetches page `page` (clamped to the pages there are; an empty result is
/// one empty page) with the totals the pager shows.
///
/// # Errors
/// On database failure.
pub async fn fetch_page<'db, C, S>(
    paginator: Paginator<'db, C, S>,
    page: Option<u64>,
) -> Result<Page<S::Item>, AppError>
where
    C: ConnectionTrait,
    S: SelectorTrait + 'db,
{
    let totals = paginator.num_items_and_pages().await?;
    let pages = totals.number_of_pages.max(1);
    let page = clamp_page(page).min(pages);
    let items = paginator.fetch_page(page - 1).await?;
    Ok(Page {
        items,
        page,
        pages,
        total: totals.number_of_items,
    })
}
