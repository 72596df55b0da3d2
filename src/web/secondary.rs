//! `GET /secondary`: listings on sale (filters `grade`, `min_rate`,
//! `max_term`, `purpose`, `max_markup`, and `after` for the pages after the
//! first), open to everyone;
//! `GET /secondary/{listing_id}/buy` (what buying it means) and `POST` to it
//! (`idempotency_key`): the purchase. Buying is for investors.

use actix_session::Session;
use actix_web::{
    HttpResponse,
    web::{Data, Path, Query},
};
use askama::Template;
use serde::Deserialize;

use crate::{
    db::queries::secondary::{Cursor, SecondaryFilter},
    domain::{
        application::Purpose, ids::ListingId, money::Rate, scoring::Grade, secondary::Markup,
    },
    error::{AppError, FieldErrors},
    paths,
    services::{
        idempotency::IdempotencyKey,
        secondary::{self, Offered},
    },
    state::AppState,
    web::{
        error::{WebError, refusal},
        extractors::CurrentUser,
        forms::{Choice, StrictForm, choices, start_after},
        layout::{BaseCtx, form_status, page, render, see_other},
        session::{self, FlashLevel},
    },
};

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecondaryQuery {
    grade: String,
    min_rate: String,
    max_term: String,
    purpose: String,
    max_markup: String,
    after: String,
    /// Kept for links made before pages were cut by key; the list always
    /// starts at the top without `after`.
    page: String,
}

/// A listing as a line of the list and the buy page show it.
struct OfferedLine {
    id: String,
    grade: String,
    rate: String,
    term_months: u32,
    purpose: &'static str,
    principal: String,
    markup: String,
    price: String,
    yield_to_maturity: String,
    fair_value: String,
}

fn line(o: &Offered) -> OfferedLine {
    OfferedLine {
        id: o.listing.id.to_string(),
        grade: o
            .loan
            .grade
            .map(|g| g.as_str().to_owned())
            .unwrap_or_default(),
        rate: o.loan.rate.map(|r| r.to_string()).unwrap_or_default(),
        term_months: o.loan.term_months,
        purpose: o.loan.purpose.label(),
        principal: o.listing.principal.to_string(),
        markup: o.listing.markup.to_string(),
        price: o.price.to_string(),
        yield_to_maturity: o.yield_to_maturity.map_or_else(
            || "—".to_owned(),
            |y| format!("{:.2}\u{a0}%", y * rust_decimal::Decimal::ONE_HUNDRED),
        ),
        fair_value: o.fair_value.map(|v| v.to_string()).unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "secondary/index.html")]
struct SecondaryPage {
    base: BaseCtx,
    lines: Vec<OfferedLine>,
    next_link: Option<String>,
    first_link: Option<String>,
    grade_choices: Vec<Choice>,
    purpose_choices: Vec<Choice>,
    query: SecondaryQuery,
    /// Whether any criterion narrows the list.
    filtered: bool,
    errors: FieldErrors,
}

impl SecondaryQuery {
    /// The criteria and where the page starts; a damaged `after` or `page`
    /// is an error on its own, so the list still shows from the top.
    fn parse(&self) -> Result<(SecondaryFilter, Option<Cursor>), FieldErrors> {
        let mut errors = FieldErrors::new();
        let text = |s: &str| Some(s.trim().to_owned()).filter(|t| !t.is_empty());
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
                .map_err(|_| errors.add("min_rate", "Enter a rate in percent, like 14.5."))
                .ok()
                .and_then(|r| i32::try_from(r.bps()).ok())
        });
        let max_term = text(&self.max_term).and_then(|t| {
            t.parse::<i32>()
                .ok()
                .filter(|t| (1..=360).contains(t))
                .or_else(|| {
                    errors.add("max_term", "Enter a term in whole months from 1 to 360.");
                    None
                })
        });
        let max_markup = text(&self.max_markup).and_then(|m| {
            Markup::parse_percent(&m)
                .map_err(|err| errors.add("max_markup", err.to_string()))
                .ok()
                .map(Markup::bps)
        });
        let after = start_after(&self.after, &self.page, &mut errors);
        errors.clone().into_result().map_err(|_| errors)?;
        Ok((
            SecondaryFilter {
                grade,
                min_rate,
                max_term,
                purpose,
                max_markup,
            },
            after,
        ))
    }

    /// This query's criteria as a link, starting after `after` if given.
    fn link(&self, after: Option<Cursor>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("grade", &self.grade),
            ("min_rate", &self.min_rate),
            ("max_term", &self.max_term),
            ("purpose", &self.purpose),
            ("max_markup", &self.max_markup),
        ] {
            if !value.trim().is_empty() {
                q.append_pair(key, value.trim());
            }
        }
        if let Some(cursor) = after {
            q.append_pair("after", &cursor.to_string());
        }
        format!("/secondary?{}", q.finish())
    }

    fn filtered(&self) -> bool {
        [
            &self.grade,
            &self.min_rate,
            &self.max_term,
            &self.purpose,
            &self.max_markup,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }
}

pub async fn index(
    base: BaseCtx,
    state: Data<AppState>,
    Query(query): Query<SecondaryQuery>,
) -> Result<HttpResponse, WebError> {
    let ((filter, after), errors) = match query.parse() {
        Ok(parsed) => (parsed, FieldErrors::new()),
        Err(errors) => ((SecondaryFilter::default(), None), errors),
    };
    let found = secondary::market(&state.db, state.clock.as_ref(), &filter, after).await?;
    render(
        form_status(&errors),
        &SecondaryPage {
            base,
            lines: found.offered.iter().map(line).collect(),
            // Criteria that could not be read show the list from the top,
            // unfiltered; its next page would carry them again.
            next_link: found
                .next
                .filter(|_| errors.is_empty())
                .map(|cursor| query.link(Some(cursor))),
            first_link: (!query.after.trim().is_empty()).then(|| query.link(None)),
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
            filtered: query.filtered(),
            query,
            errors,
        },
    )
}

#[derive(Template)]
#[template(path = "secondary/buy.html")]
struct BuyPage {
    base: BaseCtx,
    offered: OfferedLine,
    idempotency_key: String,
    errors: FieldErrors,
}

pub async fn confirm_buy(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(_): CurrentUser,
    path: Path<ListingId>,
) -> Result<HttpResponse, WebError> {
    let offered = secondary::on_sale(&state.db, state.clock.as_ref(), path.into_inner()).await?;
    page(&BuyPage {
        base,
        offered: line(&offered),
        idempotency_key: IdempotencyKey::generate(),
        errors: FieldErrors::new(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BuyForm {
    idempotency_key: String,
}

pub async fn buy(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<ListingId>,
    StrictForm(form): StrictForm<BuyForm>,
) -> Result<HttpResponse, WebError> {
    let listing_id = path.into_inner();
    let key = IdempotencyKey::parse(&form.idempotency_key)?;
    let bought = secondary::buy(
        &state.db,
        state.clock.as_ref(),
        user.id,
        listing_id,
        &key,
        &state.settings.base_url,
    )
    .await;
    match bought {
        Ok(bought) => {
            session::flash(
                &session,
                FlashLevel::Success,
                format!(
                    "You bought {} of principal for {}: its repayments are paid to you from now on.",
                    bought.principal, bought.price
                ),
            );
            Ok(see_other(&paths::investment(bought.investment_id)))
        }
        Err(AppError::Validation(errors)) => {
            let offered = secondary::on_sale(&state.db, state.clock.as_ref(), listing_id).await?;
            render(
                form_status(&errors),
                &BuyPage {
                    base,
                    offered: line(&offered),
                    idempotency_key: IdempotencyKey::generate(),
                    errors,
                },
            )
        }
        Err(AppError::Domain(reason)) => Err(WebError::Unprocessable(refusal(&reason))),
        Err(other) => Err(other.into()),
    }
}
