//! `GET /marketplace` (loans open for investment, filtered, sorted, a page
//! at a time) and `GET /marketplace/{loan_id}` (one loan: terms, grade,
//! scorecard, anonymised borrower facts, the schedule for an amount).
//! Open to everyone; investing is for signed-in investors.

use crate::{
    db::queries::marketplace::{self, Cursor, Listing, MarketFilter, MarketSort},
    domain::{
        application::Purpose,
        disclosure::DisclosedBorrower,
        ids::LoanId,
        money::{Currency, Money, Rate},
        schedule,
        scoring::Grade,
    },
    error::FieldErrors,
    format,
    services::marketplace as marketplace_service,
    state::AppState,
    web::{
        error::WebError,
        forms::{Choice, choices, start_after},
        layout::{BaseCtx, render},
        loan_facts::LoanFacts,
        scorecard::ScorecardView,
    },
};
use actix_web::{
    HttpResponse,
    http::StatusCode,
    web::{Data, Path, Query},
};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketQuery {
    #[serde(default)]
    grade: String,
    #[serde(default)]
    min_rate: String,
    #[serde(default)]
    max_term: String,
    #[serde(default)]
    min_amount: String,
    #[serde(default)]
    max_amount: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    after: String,
    /// Kept for links made before pages were cut by key; the list always
    /// starts at the top without `after`.
    #[serde(default)]
    page: String,
}

/// "3 days 4 hours left", "5 hours left", "closing".
fn time_left(deadline: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let left = deadline - now;
    let (days, hours) = (left.num_days(), left.num_hours() % 24);
    match (days, hours) {
        (d, _) if d < 0 || (d == 0 && left.num_hours() <= 0) => "closing".to_owned(),
        (0, h) => format!("{h} hours left"),
        (1, h) => format!("1 day {h} hours left"),
        (d, h) => format!("{d} days {h} hours left"),
    }
}

/// One line of the list: only what it shows.
struct ListingLine {
    id: LoanId,
    grade: &'static str,
    rate: String,
    term_months: u32,
    amount: String,
    purpose: &'static str,
    funded_percent: u32,
    time_left: String,
    by_offers: bool,
}

impl ListingLine {
    fn new(loan: &Listing, now: DateTime<Utc>) -> Self {
        Self {
            id: loan.id,
            grade: loan.grade.as_str(),
            rate: loan.rate.to_string(),
            term_months: loan.term_months,
            amount: loan.amount.to_string(),
            purpose: loan.purpose.label(),
            funded_percent: loan.funded_percent(),
            time_left: time_left(loan.funding_deadline, now),
            by_offers: loan.by_offers,
        }
    }
}

#[derive(Template)]
#[template(path = "marketplace/index.html")]
struct MarketPage {
    base: BaseCtx,
    listings: Vec<ListingLine>,
    query: MarketQuery,
    grade_choices: Vec<Choice>,
    purpose_choices: Vec<Choice>,
    sort_choices: Vec<Choice>,
    next_link: Option<String>,
    first_link: Option<String>,
    filtered: bool,
    errors: FieldErrors,
}

impl MarketQuery {
    /// The filter and sort, or each bad criterion's message.
    fn parse(&self) -> Result<(MarketFilter, MarketSort, Option<Cursor>), FieldErrors> {
        let mut errors = FieldErrors::new();
        let text = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        let grade = text(&self.grade);
        if grade.as_deref().is_some_and(|g| Grade::parse(g).is_none()) {
            errors.add("grade", "Choose a grade from A to F.");
        }
        let purpose = text(&self.purpose);
        if purpose
            .as_deref()
            .is_some_and(|p| Purpose::parse(p).is_none())
        {
            errors.add("purpose", "Choose a purpose from the list.");
        }
        let min_rate = text(&self.min_rate).and_then(|r| {
            Rate::parse_percent(&r)
                .map_err(|err| errors.add("min_rate", err.to_string()))
                .ok()
                .and_then(|rate| i32::try_from(rate.bps()).ok())
        });
        let max_term = text(&self.max_term).and_then(|t| {
            t.parse::<i32>()
                .ok()
                .filter(|t| (1..=360).contains(t))
                .or_else(|| {
                    errors.add("max_term", "Enter a number of months from 1 to 360.");
                    None
                })
        });
        let mut amount = |field: &str, value: &str| {
            text(value).and_then(|a| {
                Money::parse(&a, Currency::Rub)
                    .map_err(|err| errors.add(field, err.to_string()))
                    .ok()
                    .map(Money::minor)
            })
        };
        let min_amount = amount("min_amount", &self.min_amount);
        let max_amount = amount("max_amount", &self.max_amount);
        let sort = match text(&self.sort) {
            None => MarketSort::default(),
            Some(word) => MarketSort::parse(&word).unwrap_or_else(|| {
                errors.add("sort", "Choose an order from the list.");
                MarketSort::default()
            }),
        };
        let after = start_after(&self.after, &self.page, &mut errors);
        if errors.is_empty() {
            Ok((
                MarketFilter {
                    grade,
                    min_rate,
                    max_term,
                    min_amount,
                    max_amount,
                    purpose,
                },
                sort,
                after,
            ))
        } else {
            Err(errors)
        }
    }

    /// This query's criteria as a link, starting after `after` if given.
    fn link(&self, after: Option<Cursor>) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("grade", &self.grade),
            ("min_rate", &self.min_rate),
            ("max_term", &self.max_term),
            ("min_amount", &self.min_amount),
            ("max_amount", &self.max_amount),
            ("purpose", &self.purpose),
            ("sort", &self.sort),
        ] {
            if !value.trim().is_empty() {
                out.append_pair(name, value.trim());
            }
        }
        if let Some(cursor) = after {
            out.append_pair("after", &cursor.to_string());
        }
        format!("/marketplace?{}", out.finish())
    }
}

pub async fn index(
    base: BaseCtx,
    state: Data<AppState>,
    Query(query): Query<MarketQuery>,
) -> Result<HttpResponse, WebError> {
    let now = state.clock.now();
    let (listings, next, errors) = match query.parse() {
        Ok((filter, sort, after)) => {
            let found =
                marketplace::cached_listings(&state.listings, &state.db, &filter, sort, after, now)
                    .await?;
            let listings = found
                .loans
                .iter()
                .map(|loan| ListingLine::new(loan, now))
                .collect();
            (listings, found.next, FieldErrors::new())
        }
        Err(errors) => (Vec::new(), None, errors),
    };
    let page_data = MarketPage {
        grade_choices: choices(
            "Any grade",
            Grade::ALL.iter().map(|g| (g.as_str(), g.as_str())),
            query.grade.trim(),
        ),
        purpose_choices: choices(
            "Any purpose",
            Purpose::ALL.iter().map(|p| (p.as_str(), p.label())),
            query.purpose.trim(),
        ),
        sort_choices: choices(
            "",
            MarketSort::ALL.iter().map(|s| (s.as_str(), s.label())),
            if query.sort.trim().is_empty() {
                MarketSort::default().as_str()
            } else {
                query.sort.trim()
            },
        ),
        next_link: next.map(|cursor| query.link(Some(cursor))),
        first_link: (!query.after.trim().is_empty()).then(|| query.link(None)),
        filtered: [
            &query.grade,
            &query.min_rate,
            &query.max_term,
            &query.min_amount,
            &query.max_amount,
            &query.purpose,
        ]
        .iter()
        .any(|v| !v.trim().is_empty()),
        listings,
        query,
        base,
        errors,
    };
    let status = if page_data.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(status, &page_data)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoanQuery {
    #[serde(default)]
    amount: String,
}

struct ScheduleRow {
    number: u32,
    due_date: String,
    principal: String,
    interest: String,
    total: String,
}

/// What investors may know about the borrower, without naming them.
struct BorrowerFacts {
    age_band: String,
    employment: String,
    income_band: String,
    debts: String,
    assets: String,
}

#[derive(Template)]
#[template(path = "marketplace/show.html")]
struct LoanPage {
    base: BaseCtx,
    loan: LoanFacts,
    investors: i64,
    min_investment: String,
    time_left: String,
    remaining: String,
    /// Past its funding deadline: shown, but no longer taking commitments.
    closed: bool,
    card: Option<ScorecardView>,
    borrower: Option<BorrowerFacts>,
    amount: String,
    schedule: Vec<ScheduleRow>,
    schedule_total: String,
    errors: FieldErrors,
}

impl BorrowerFacts {
    fn new(b: &DisclosedBorrower) -> Self {
        let (low, high) = b.age_band;
        let (income_low, income_high) = b.income_band;
        Self {
            age_band: format!("{low}–{high}"),
            employment: b.employment.label().to_owned(),
            income_band: format!("{income_low} – {income_high} a month"),
            debts: format!(
                "{} {}, {} a month",
                b.debts,
                if b.debts == 1 { "debt" } else { "debts" },
                b.debts_monthly
            ),
            assets: format!(
                "{} {} worth {} (by the share owned)",
                b.assets,
                if b.assets == 1 { "asset" } else { "assets" },
                b.assets_value
            ),
        }
    }
}

pub async fn show(
    base: BaseCtx,
    state: Data<AppState>,
    path: Path<LoanId>,
    Query(query): Query<LoanQuery>,
) -> Result<HttpResponse, WebError> {
    let listing =
        marketplace_service::listing(&state.db, state.clock.as_ref(), path.into_inner()).await?;
    let loan = &listing.loan;
    let now = state.clock.now();
    let mut errors = FieldErrors::new();
    let amount = if query.amount.trim().is_empty() {
        listing.min_investment
    } else {
        Money::parse(&query.amount, loan.currency()).unwrap_or_else(|err| {
            errors.add("amount", err.to_string());
            listing.min_investment
        })
    };
    let (schedule, schedule_total) = match loan.terms_for(amount, state.clock.today()) {
        None => (Vec::new(), String::new()),
        Some(terms) => match schedule::annuity(&terms) {
            Ok(plan) => (
                plan.installments
                    .iter()
                    .map(|row| ScheduleRow {
                        number: row.number,
                        due_date: format::day(row.due_date),
                        principal: row.principal.to_string(),
                        interest: row.interest.to_string(),
                        total: row
                            .total()
                            .map_or_else(|_| String::new(), |total| total.to_string()),
                    })
                    .collect(),
                plan.total_payments()
                    .map_or_else(|_| String::new(), |total| total.to_string()),
            ),
            Err(err) => {
                errors.add("amount", err.to_string());
                (Vec::new(), String::new())
            }
        },
    };
    let page_data = LoanPage {
        investors: listing.investors,
        min_investment: listing.min_investment.to_string(),
        time_left: loan
            .funding_deadline
            .map(|deadline| time_left(deadline, now))
            .unwrap_or_default(),
        remaining: loan.remaining().to_string(),
        loan: LoanFacts::new(loan),
        closed: listing.closed,
        card: listing
            .scorecard
            .as_ref()
            .map(|card| ScorecardView::new(card, loan.currency())),
        borrower: listing.borrower.as_ref().map(BorrowerFacts::new),
        amount: amount.amount().normalize().to_string(),
        schedule,
        schedule_total,
        base,
        errors,
    };
    let status = if page_data.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(status, &page_data)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn time_left_reads_for_people() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let at = |d, h| now + chrono::TimeDelta::days(d) + chrono::TimeDelta::hours(h);
        assert_eq!(time_left(at(3, 4), now), "3 days 4 hours left");
        assert_eq!(time_left(at(1, 0), now), "1 day 0 hours left");
        assert_eq!(time_left(at(0, 5), now), "5 hours left");
        assert_eq!(time_left(at(0, 0), now), "closing");
    }
}
