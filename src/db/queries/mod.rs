//! Read models: one query per screen, returning flat structs shaped for the
//! template. Nothing here writes.

use std::{fmt, str::FromStr};

use crate::error::AppError;
use sea_orm::{
    ConnectionTrait, SelectorTrait,
    sea_query::{Expr, LikeExpr, Query, SelectStatement},
};

pub mod applications;
pub mod audit;
pub mod auto_invest;
pub mod fixed_sql;
pub mod investments;
pub mod investor;
pub mod marketplace;
pub mod outbox;
pub mod secondary;
pub mod servicing;
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

/// Where the previous page of a list cut by key ended: its last row's sort
/// key and id. Such a list pages "after this row", not by offset: rows leave
/// it (loans fill up, listings sell), and an offset would then skip the row
/// that moved up into the page already seen. The id ends every order, so a
/// cursor names one place in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor<Id> {
    pub key: i64,
    pub id: Id,
}

impl<Id: FromStr> Cursor<Id> {
    /// `"<key>.<id>"`, as `Display` writes it.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let (key, id) = text.split_once('.')?;
        Some(Self {
            key: key.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

impl<Id: fmt::Display> fmt::Display for Cursor<Id> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.key, self.id)
    }
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

/// The last page number whose offset fits the databases' integers; a page
/// beyond it is past the end anyway.
fn furthest_page(per_page: u64) -> u64 {
    u64::try_from(i64::MAX).unwrap_or(u64::MAX) / per_page.max(1)
}

/// The alias of the row count [`fetch_page`] reads beside each row.
const TOTAL_ROWS: &str = "total_rows";

/// Fetches page `page` of `query`'s rows, read as `S` reads them, with the
/// totals the pager shows, in one statement: the count is an uncorrelated
/// subquery in the select list, which both databases run once. A page past
/// the end comes back empty and costs a count and the last page (clamped to
/// the pages there are; an empty result is one empty page).
///
/// # Errors
/// On database failure.
pub async fn fetch_page<S>(
    conn: &impl ConnectionTrait,
    query: SelectStatement,
    per_page: u64,
    page: Option<u64>,
) -> Result<Page<S::Item>, AppError>
where
    S: SelectorTrait,
{
    let page = clamp_page(page).min(furthest_page(per_page));
    if let (items, Some(total)) = page_with_total::<S>(conn, &query, per_page, page).await? {
        return Ok(Page {
            items,
            page,
            pages: pages_for(total, per_page),
            total,
        });
    }
    let count = conn
        .query_one(&count_of(&query))
        .await?
        .map(|row| row.try_get::<i64>("", TOTAL_ROWS))
        .transpose()?
        .unwrap_or(0);
    let total = u64::try_from(count).unwrap_or(0);
    let pages = pages_for(total, per_page);
    let last = page.min(pages);
    let items = if total == 0 {
        Vec::new()
    } else {
        page_with_total::<S>(conn, &query, per_page, last).await?.0
    };
    Ok(Page {
        items,
        page: last,
        pages,
        total,
    })
}

/// Page `page` of `query` with the count of all its rows (`None` when the
/// page has no rows to carry it).
async fn page_with_total<S: SelectorTrait>(
    conn: &impl ConnectionTrait,
    query: &SelectStatement,
    per_page: u64,
    page: u64,
) -> Result<(Vec<S::Item>, Option<u64>), AppError> {
    let mut counted = query.clone();
    counted
        .expr_as(
            Expr::SubQuery(None, Box::new(count_of(query).into())),
            TOTAL_ROWS,
        )
        .limit(per_page)
        .offset((page - 1).saturating_mul(per_page));
    let rows = conn.query_all(&counted).await?;
    let total = rows
        .first()
        .map(|row| row.try_get::<i64>("", TOTAL_ROWS))
        .transpose()?
        .map(|total| u64::try_from(total).unwrap_or(0));
    let items = rows
        .into_iter()
        .map(S::from_raw_query_result)
        .collect::<Result<_, _>>()?;
    Ok((items, total))
}

/// `SELECT COUNT(*)` of `query`'s rows.
fn count_of(query: &SelectStatement) -> SelectStatement {
    let mut rows = query.clone();
    rows.clear_order_by();
    Query::select()
        .expr_as(Expr::cust("COUNT(*)"), TOTAL_ROWS)
        .from_subquery(rows, "counted")
        .to_owned()
}

fn pages_for(total: u64, per_page: u64) -> u64 {
    total.div_ceil(per_page.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::domain::ids::LoanId;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = Cursor {
            key: -42,
            id: LoanId::from_uuid(Uuid::nil()),
        };
        assert_eq!(Cursor::parse(&cursor.to_string()), Some(cursor));
        assert_eq!(Cursor::<LoanId>::parse("12"), None);
        assert_eq!(
            Cursor::<LoanId>::parse("x.00000000-0000-0000-0000-000000000000"),
            None
        );
        assert_eq!(Cursor::<LoanId>::parse("12.not-a-uuid"), None);
    }
}
