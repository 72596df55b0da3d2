//! `GET /calculator`: the public loan calculator. Amount, rate, term and start
//! date give the monthly payment, the total interest and the whole schedule,
//! as a page or (`format=csv`) as CSV. A GET form: nothing changes, so no
//! CSRF token is needed.

use std::fmt::Write as _;

use actix_web::{
    HttpResponse,
    http::StatusCode,
    web::{Data, Query},
};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::{
    domain::{
        money::{Currency, Money, Rate},
        schedule::{self, LoanTerms, MAX_TERM_MONTHS, Schedule},
    },
    error::FieldErrors,
    format,
    state::AppState,
    web::{
        error::WebError,
        layout::{BaseCtx, render},
    },
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalculatorQuery {
    amount: Option<String>,
    rate_annual: Option<String>,
    term_months: Option<String>,
    start_date: Option<String>,
    format: Option<String>,
}

/// One schedule line, formatted for the page.
struct Row {
    number: u32,
    due_date: String,
    principal: String,
    interest: String,
    total: String,
    balance_after: String,
}

struct Outcome {
    payment: String,
    total_interest: String,
    total_paid: String,
    rows: Vec<Row>,
    csv_link: String,
}

#[derive(Template)]
#[template(path = "public/calculator.html")]
struct CalculatorPage {
    base: BaseCtx,
    amount: String,
    rate_annual: String,
    term_months: String,
    start_date: String,
    errors: FieldErrors,
    result: Option<Outcome>,
}

fn parse(query: &CalculatorQuery, today: NaiveDate) -> Result<LoanTerms, FieldErrors> {
    let mut errors = FieldErrors::new();
    let principal = Money::parse(query.amount.as_deref().unwrap_or_default(), Currency::Rub)
        .map_err(|e| errors.add("amount", e.to_string()))
        .ok()
        .filter(|amount| {
            let positive = amount.is_positive();
            if !positive {
                errors.add("amount", "The amount must be more than zero.");
            }
            positive
        });
    let rate = Rate::parse_percent(query.rate_annual.as_deref().unwrap_or_default())
        .map_err(|e| errors.add("rate_annual", e.to_string()))
        .ok();
    let term = query
        .term_months
        .as_deref()
        .unwrap_or_default()
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|months| (1..=MAX_TERM_MONTHS).contains(months));
    if term.is_none() {
        errors.add(
            "term_months",
            format!("Enter a whole number of months from 1 to {MAX_TERM_MONTHS}."),
        );
    }
    let start = match query.start_date.as_deref().map(str::trim) {
        None | Some("") => Some(today),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| errors.add("start_date", "Enter a date as YYYY-MM-DD."))
            .ok(),
    };
    match (principal, rate, term, start) {
        (Some(principal), Some(rate), Some(term_months), Some(start)) if errors.is_empty() => {
            Ok(LoanTerms {
                principal,
                rate,
                term_months,
                start,
            })
        }
        _ => Err(errors),
    }
}

fn csv(schedule: &Schedule) -> String {
    let mut out = String::from("payment_num,due_date,principal,interest,total,balance_after\n");
    for line in &schedule.installments {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            line.number,
            line.due_date,
            line.principal.amount(),
            line.interest.amount(),
            line.principal.amount() + line.interest.amount(),
            line.balance_after.amount()
        );
    }
    out
}

pub async fn show(
    base: BaseCtx,
    state: Data<AppState>,
    Query(query): Query<CalculatorQuery>,
) -> Result<HttpResponse, WebError> {
    let today = state.clock.today();
    let wants_csv = match query.format.as_deref() {
        None | Some("" | "html") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(WebError::BadRequest(
                "The format must be csv or html.".into(),
            ));
        }
    };
    let submitted =
        query.amount.is_some() || query.rate_annual.is_some() || query.term_months.is_some();
    let mut page = CalculatorPage {
        base,
        amount: query.amount.clone().unwrap_or_else(|| "100 000".to_owned()),
        rate_annual: query.rate_annual.clone().unwrap_or_else(|| "15".to_owned()),
        term_months: query.term_months.clone().unwrap_or_else(|| "12".to_owned()),
        start_date: query
            .start_date
            .clone()
            .unwrap_or_else(|| today.to_string()),
        errors: FieldErrors::new(),
        result: None,
    };
    if !submitted && !wants_csv {
        return render(StatusCode::OK, &page);
    }
    let terms = match parse(&query, today) {
        Ok(terms) => terms,
        Err(errors) => {
            page.errors = errors;
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let schedule = match schedule::annuity(&terms) {
        Ok(schedule) => schedule,
        Err(err) => {
            page.errors = FieldErrors::single("amount", err.to_string());
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    if wants_csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                "attachment; filename=\"schedule.csv\"",
            ))
            .body(csv(&schedule)));
    }
    let totals = schedule.total_interest().and_then(|interest| {
        let paid = terms.principal.checked_add(interest)?;
        Ok((interest, paid))
    });
    let Ok((total_interest, total_paid)) = totals else {
        page.errors = FieldErrors::single(
            "amount",
            "The total to repay is more than the calculator can show: choose a smaller amount, \
             a lower rate or a shorter term (the CSV download still gives the schedule).",
        );
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let csv_link = format!(
        "/calculator?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("amount", &terms.principal.amount().to_string())
            .append_pair("rate_annual", &terms.rate.percent().to_string())
            .append_pair("term_months", &terms.term_months.to_string())
            .append_pair("start_date", &terms.start.to_string())
            .append_pair("format", "csv")
            .finish()
    );
    page.result = Some(Outcome {
        payment: schedule.payment.to_string(),
        total_interest: total_interest.to_string(),
        total_paid: total_paid.to_string(),
        rows: schedule
            .installments
            .iter()
            .map(|line| Row {
                number: line.number,
                due_date: format::day(line.due_date),
                principal: line.principal.to_string(),
                interest: line.interest.to_string(),
                // Each installment is less than the total paid, which fits.
                total: line
                    .total()
                    .map_or_else(|_| String::new(), |t| t.to_string()),
                balance_after: line.balance_after.to_string(),
            })
            .collect(),
        csv_link,
    });
    render(StatusCode::OK, &page)
}
