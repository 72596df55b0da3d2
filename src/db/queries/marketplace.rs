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
//!
//! The pages this instance has read are kept in a [`ListingsCache`]: a page
//! is read again once this process commits anything (an investment, a new
//! listing, an expiry) and at the latest [`LISTINGS_FRESH_FOR`] after it was
//! read, which bounds how late another instance's change shows here.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use chrono::{DateTime, TimeDelta, Utc};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
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

/// How long a page read by this instance is shown again without a commit
/// here in between: how late another instance's change (an investment, a
/// new listing) may appear on this one's marketplace.
pub const LISTINGS_FRESH_FOR: TimeDelta = TimeDelta::seconds(1);
/// At most this many pages are kept; beyond it the stale ones are dropped,
/// then all.
const LISTINGS_CACHE_CAPACITY: usize = 256;

/// What a page is looked up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PageKey {
    filter: MarketFilter,
    sort: MarketSort,
    after: Option<Cursor>,
}

#[derive(Debug, Clone)]
struct CachedPage {
    page: Arc<MarketPage>,
    /// [`db::commits`] when the page was read.
    commits: u64,
    read_at: DateTime<Utc>,
}

impl CachedPage {
    fn is_fresh(&self, commits: u64, now: DateTime<Utc>) -> bool {
        self.commits == commits && now >= self.read_at && now - self.read_at < LISTINGS_FRESH_FOR
    }
}

/// The marketplace pages this instance has read recently (see the module's
/// documentation for when they are read again).
#[derive(Debug, Clone, Default)]
pub struct ListingsCache(Arc<Mutex<HashMap<PageKey, CachedPage>>>);

impl ListingsCache {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<PageKey, CachedPage>) -> T) -> T {
        // Each change below is whole before the lock is released, so a panic
        // elsewhere cannot have left a half-written map behind.
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn fresh(&self, key: &PageKey, commits: u64, now: DateTime<Utc>) -> Option<Arc<MarketPage>> {
        self.with(|pages| {
            pages
                .get(key)
                .filter(|cached| cached.is_fresh(commits, now))
                .map(|cached| Arc::clone(&cached.page))
        })
    }

    /// Keeps `page`, read after [`db::commits`] was `commits`.
    fn put(&self, key: PageKey, page: Arc<MarketPage>, commits: u64, now: DateTime<Utc>) {
        self.with(|pages| {
            if pages.len() >= LISTINGS_CACHE_CAPACITY && !pages.contains_key(&key) {
                // Pages read after a later commit than this one stay (this
                // one may have been read across a commit).
                pages.retain(|_, cached| {
                    cached.commits >= commits && now - cached.read_at < LISTINGS_FRESH_FOR
                });
                if pages.len() >= LISTINGS_CACHE_CAPACITY {
                    pages.clear();
                }
            }
            pages.insert(
                key,
                CachedPage {
                    page,
                    commits,
                    read_at: now,
                },
            );
        });
    }
}

/// [`listings`], from `cache` while the page kept there is fresh.
///
/// # Errors
/// On database failure.
pub async fn cached_listings(
    cache: &ListingsCache,
    conn: &impl ConnectionTrait,
    filter: &MarketFilter,
    sort: MarketSort,
    after: Option<Cursor>,
    now: DateTime<Utc>,
) -> Result<Arc<MarketPage>, AppError> {
    let key = PageKey {
        filter: filter.clone(),
        sort,
        after,
    };
    // Taken before the read: a commit that lands during it leaves the page
    // stored under the old count, so it is not served again.
    let commits = db::commits();
    if let Some(page) = cache.fresh(&key, commits, now) {
        return Ok(page);
    }
    let page = Arc::new(listings(conn, filter, sort, after, now).await?);
    cache.put(key, Arc::clone(&page), commits, now);
    Ok(page)
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

    fn page_of(ids: usize) -> Arc<MarketPage> {
        let listing = Listing {
            id: LoanId::new(),
            grade: Grade::A,
            rate: Rate::from_bps(900).unwrap(),
            term_months: 12,
            amount: Money::from_minor(1_000_000, Currency::Usd).unwrap(),
            funded: Money::from_minor(0, Currency::Usd).unwrap(),
            purpose: Purpose::ALL[0],
            funding_deadline: DateTime::<Utc>::UNIX_EPOCH,
            by_offers: false,
        };
        Arc::new(MarketPage {
            loans: vec![listing; ids],
            next: None,
        })
    }

    fn key(min_rate: i32) -> PageKey {
        PageKey {
            filter: MarketFilter {
                min_rate: Some(min_rate),
                ..MarketFilter::default()
            },
            sort: MarketSort::Rate,
            after: None,
        }
    }

    #[test]
    fn a_kept_page_is_served_until_a_commit_or_a_second_later() {
        let cache = ListingsCache::default();
        let read_at = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000);
        cache.put(key(1), page_of(3), 7, read_at);

        let almost = read_at + LISTINGS_FRESH_FOR - TimeDelta::milliseconds(1);
        let served = cache.fresh(&key(1), 7, almost).expect("fresh");
        assert_eq!(served.loans.len(), 3);
        assert!(cache.fresh(&key(2), 7, read_at).is_none(), "another filter");
        assert!(cache.fresh(&key(1), 8, read_at).is_none(), "after a commit");
        assert!(
            cache
                .fresh(&key(1), 7, read_at + LISTINGS_FRESH_FOR)
                .is_none(),
            "a second later"
        );
        assert!(
            cache
                .fresh(&key(1), 7, read_at - TimeDelta::seconds(1))
                .is_none(),
            "a clock set back"
        );
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = ListingsCache::default();
        let now = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000);
        let capacity = i32::try_from(LISTINGS_CACHE_CAPACITY).unwrap();
        for rate in 0..capacity * 3 {
            cache.put(key(rate), page_of(1), 1, now);
            assert!(cache.with(|pages| pages.len()) <= LISTINGS_CACHE_CAPACITY);
        }
        assert!(cache.fresh(&key(capacity * 3 - 1), 1, now).is_some());
        // When full, the pages no longer fresh make room first: after a
        // commit, that is all of them.
        cache.put(key(-1), page_of(1), 2, now);
        assert_eq!(cache.with(|pages| pages.len()), 1);

        // A page read across a commit (under the older count) does not push
        // out the pages read after that commit.
        let cache = ListingsCache::default();
        for rate in 0..capacity {
            let commits = if rate % 2 == 0 { 1 } else { 3 };
            cache.put(key(rate), page_of(1), commits, now);
        }
        cache.put(key(-1), page_of(1), 2, now);
        assert_eq!(
            cache.with(|pages| pages.len()),
            LISTINGS_CACHE_CAPACITY / 2 + 1
        );
        assert!(cache.fresh(&key(1), 3, now).is_some());
    }
}
