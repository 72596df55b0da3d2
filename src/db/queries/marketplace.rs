//! The marketplace: loans open for investment, filtered and sorted.
//!
//! Pages are cut by key ("after this loan"), not by offset: loans leave the
//! list as they fill up, and an offset would then skip the loan that moved up
//! into the page already seen. Every sort ends with the id (in the same
//! direction as the key), so the order is total and a cursor names one place
//! in it.
//!
//! With the `(status, key, id)` indexes (migrations 000011 and 000013) a
//! page reads its rows from the index on both databases, whatever its depth:
//! the cursor is a row-value comparison, `(key, id) < (cursor key, cursor
//! id)`, which the databases use as the index range, and the deadline is only
//! a filter (see [`db::filter_only`]). Other criteria (grade, purpose, ...)
//! are checked on the rows the index gives, in order, until the page is full.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, Order, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select, Statement,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    db::{self, entities::loan_requests, repo::corrupt},
    domain::{
        application::{ListingMode, Purpose},
        ids::LoanId,
        lifecycle::LoanStatus,
        loan,
        money::{Currency, Money, Rate},
        scoring::Grade,
    },
    error::AppError,
};

pub const PER_PAGE: u64 = 20;

/// How the list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MarketSort {
    /// Highest rate first.
    #[default]
    Rate,
    /// Shortest term first.
    Term,
    /// Smallest amount first.
    Amount,
    /// Closing soonest first.
    TimeLeft,
    /// Most funded first.
    Funded,
}

impl MarketSort {
    pub const ALL: [Self; 5] = [
        Self::Rate,
        Self::Term,
        Self::Amount,
        Self::TimeLeft,
        Self::Funded,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rate => "rate",
            Self::Term => "term",
            Self::Amount => "amount",
            Self::TimeLeft => "time_left",
            Self::Funded => "funded",
        }
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Rate => "Highest rate",
            Self::Term => "Shortest term",
            Self::Amount => "Smallest amount",
            Self::TimeLeft => "Closing soonest",
            Self::Funded => "Most funded",
        }
    }

    #[must_use]
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }

    /// The sort key as SQL, and whether it runs high to low.
    fn key(self) -> (Expr, Order) {
        match self {
            Self::Rate => (Expr::col(loan_requests::Column::RateAnnual), Order::Desc),
            Self::Term => (Expr::col(loan_requests::Column::TermMonths), Order::Asc),
            Self::Amount => (Expr::col(loan_requests::Column::Amount), Order::Asc),
            Self::TimeLeft => (
                Expr::col(loan_requests::Column::FundingDeadline),
                Order::Asc,
            ),
            // Per ten thousand of the amount, in integers on both databases;
            // the constant written in the SQL, not bound, so the expression
            // is the index's (migration 000013).
            Self::Funded => (
                Expr::col(loan_requests::Column::FundedAmount)
                    .mul(Expr::Constant(10_000.into()))
                    .div(Expr::col(loan_requests::Column::Amount)),
                Order::Desc,
            ),
        }
    }

    /// The key of `loan` under this sort, as the cursor carries it.
    #[must_use]
    pub fn key_of(self, loan: &Listing) -> i64 {
        match self {
            Self::Rate => i64::from(loan.rate.bps()),
            Self::Term => i64::from(loan.term_months),
            Self::Amount => loan.amount.minor(),
            Self::TimeLeft => loan.funding_deadline.timestamp_micros(),
            Self::Funded => (loan.funded.minor() * 10_000)
                .checked_div(loan.amount.minor())
                .unwrap_or(0),
        }
    }
}

/// Where the previous page ended: its last loan's sort key and id.
pub type Cursor = super::Cursor<LoanId>;

/// What investors filter on; `None` leaves a criterion out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarketFilter {
    pub grade: Option<String>,
    /// Basis points.
    pub min_rate: Option<i32>,
    pub max_term: Option<i32>,
    /// Minor units.
    pub min_amount: Option<i64>,
    pub max_amount: Option<i64>,
    pub purpose: Option<String>,
}

/// A loan open for investment as one line of the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub id: LoanId,
    pub grade: Grade,
    pub rate: Rate,
    pub term_months: u32,
    pub amount: Money,
    pub funded: Money,
    pub purpose: Purpose,
    pub funding_deadline: DateTime<Utc>,
    /// Priced by lenders' offers (the rate is then the staff's guide).
    pub by_offers: bool,
}

impl Listing {
    #[must_use]
    pub fn funded_percent(&self) -> u32 {
        loan::funded_percent(self.funded, self.amount)
    }
}

/// The columns a [`Listing`] is read from (a loan in funding has all of them).
#[derive(Debug, FromQueryResult)]
struct ListingRow {
    id: Uuid,
    risk_grade: Option<String>,
    rate_annual: Option<i32>,
    term_months: i32,
    amount: i64,
    funded_amount: i64,
    currency: String,
    purpose: String,
    funding_deadline: Option<DateTime<Utc>>,
    listing_mode: String,
}

impl ListingRow {
    fn parse(self) -> Result<Listing, AppError> {
        let bad = |what: &str| corrupt("loan", self.id, what);
        let currency = Currency::parse(&self.currency).ok_or_else(|| bad("currency"))?;
        let money =
            |minor: i64, what: &str| Money::from_minor(minor, currency).map_err(|_| bad(what));
        Ok(Listing {
            id: LoanId::from_uuid(self.id),
            grade: self
                .risk_grade
                .as_deref()
                .and_then(Grade::parse)
                .ok_or_else(|| bad("grade"))?,
            rate: self
                .rate_annual
                .and_then(|bps| u32::try_from(bps).ok())
                .and_then(|bps| Rate::from_bps(bps).ok())
                .ok_or_else(|| bad("rate"))?,
            term_months: u32::try_from(self.term_months).map_err(|_| bad("term"))?,
            amount: money(self.amount, "amount")?,
            funded: money(self.funded_amount, "funded amount")?,
            purpose: Purpose::parse(&self.purpose).ok_or_else(|| bad("purpose"))?,
            funding_deadline: self
                .funding_deadline
                .ok_or_else(|| bad("funding deadline"))?,
            by_offers: ListingMode::parse(&self.listing_mode).ok_or_else(|| bad("listing mode"))?
                == ListingMode::Offers,
        })
    }
}

/// One page of loans in `funding`, and whether more follow.
#[derive(Debug, Clone)]
pub struct MarketPage {
    pub loans: Vec<Listing>,
    pub next: Option<Cursor>,
}

/// The loans open for investment that match `filter`, in `sort` order,
/// starting after `after`.
///
/// # Errors
/// On database failure.
pub async fn listings(
    conn: &impl ConnectionTrait,
    filter: &MarketFilter,
    sort: MarketSort,
    after: Option<Cursor>,
    now: DateTime<Utc>,
) -> Result<MarketPage, AppError> {
    let statement = listings_statement(conn.get_database_backend(), filter, sort, after, now);
    let mut loans = ListingRow::find_by_statement(statement)
        .all(conn)
        .await?
        .into_iter()
        .map(ListingRow::parse)
        .collect::<Result<Vec<Listing>, AppError>>()?;
    let more = loans.len() > usize::try_from(PER_PAGE).unwrap_or(usize::MAX);
    loans.truncate(usize::try_from(PER_PAGE).unwrap_or(usize::MAX));
    let next = more.then(|| loans.last()).flatten().map(|last| Cursor {
        key: sort.key_of(last),
        id: last.id,
    });
    Ok(MarketPage { loans, next })
}

/// The statement [`listings`] runs on `backend` (one row more than a page,
/// to tell whether more follow); the tests read its plan.
///
/// The loans' status and the page size are written in the SQL, not bound:
/// PostgreSQL then plans a prepared statement once for all its runs (with
/// them bound, it planned every run afresh, which took twice as long as the
/// run itself). The rest stays bound.
#[must_use]
pub fn listings_statement(
    backend: DbBackend,
    filter: &MarketFilter,
    sort: MarketSort,
    after: Option<Cursor>,
    now: DateTime<Utc>,
) -> Statement {
    let mut statement = listings_query(backend, filter, sort, after, now).build(backend);
    statement.sql.push_str(&format!(" LIMIT {}", PER_PAGE + 1));
    statement
}

fn listings_query(
    backend: DbBackend,
    filter: &MarketFilter,
    sort: MarketSort,
    after: Option<Cursor>,
    now: DateTime<Utc>,
) -> Select<loan_requests::Entity> {
    // Nearly every loan in `funding` is before its deadline (the expiry job
    // moves the others on), so the deadline must not pick the index: on
    // SQLite it did, and every open loan was sorted for each page.
    let deadline = db::filter_only(
        backend,
        Expr::col((
            loan_requests::Entity,
            loan_requests::Column::FundingDeadline,
        )),
    );
    use loan_requests::Column;
    let mut query = loan_requests::Entity::find()
        .select_only()
        .columns([
            Column::Id,
            Column::RiskGrade,
            Column::RateAnnual,
            Column::TermMonths,
            Column::Amount,
            Column::FundedAmount,
            Column::Currency,
            Column::Purpose,
            Column::FundingDeadline,
            Column::ListingMode,
        ])
        .filter(
            Expr::col((loan_requests::Entity, loan_requests::Column::Status))
                .eq(Expr::Constant(LoanStatus::Funding.as_str().into())),
        )
        .filter(deadline.gt(now));
    if let Some(grade) = &filter.grade {
        query = query.filter(loan_requests::Column::RiskGrade.eq(grade.as_str()));
    }
    if let Some(rate) = filter.min_rate {
        query = query.filter(loan_requests::Column::RateAnnual.gte(rate));
    }
    if let Some(term) = filter.max_term {
        query = query.filter(loan_requests::Column::TermMonths.lte(term));
    }
    if let Some(amount) = filter.min_amount {
        query = query.filter(loan_requests::Column::Amount.gte(amount));
    }
    if let Some(amount) = filter.max_amount {
        query = query.filter(loan_requests::Column::Amount.lte(amount));
    }
    if let Some(purpose) = &filter.purpose {
        query = query.filter(loan_requests::Column::Purpose.eq(purpose.as_str()));
    }
    let (key, order) = sort.key();
    if let Some(cursor) = after {
        let value: sea_orm::Value = if sort == MarketSort::TimeLeft {
            DateTime::<Utc>::from_timestamp_micros(cursor.key)
                .unwrap_or_default()
                .into()
        } else {
            cursor.key.into()
        };
        // `(key, id) < (k, i)` is `key < k OR (key = k AND id < i)`, written so
        // that both databases seek the index to it (the OR form made them
        // read every loan of the earlier pages and drop them). `key <= k`
        // adds nothing but lets SQLite seek an expression index too.
        let place = Expr::tuple([
            key.clone(),
            Expr::col((loan_requests::Entity, loan_requests::Column::Id)),
        ]);
        let at = Expr::tuple([Expr::val(value.clone()), Expr::val(cursor.id)]);
        query = query.filter(if order == Order::Desc {
            key.clone().lte(value).and(place.lt(at))
        } else {
            key.clone().gte(value).and(place.gt(at))
        });
    }
    // The id runs in the key's direction, so an index on (status, key, id)
    // serves the whole order (a mixed direction made SQLite sort every open
    // loan for each page: 4 ms instead of 0.1 ms with 10 000 loans).
    query
        .order_by(key, order.clone())
        .order_by(loan_requests::Column::Id, order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_parse_from_their_words() {
        for sort in MarketSort::ALL {
            assert_eq!(MarketSort::parse(sort.as_str()), Some(sort));
        }
        assert_eq!(MarketSort::parse("random"), None);
    }
}
