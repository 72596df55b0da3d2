//! `GET,POST /investor/auto-invest`: the investor's auto-invest rules and a
//! new one. The form goes first to `GET /investor/auto-invest?…` (the rule
//! checked, and a preview of what it would do with the loans open now and
//! those listed in the last 90 days); the preview's form POSTs the rule,
//! switched on only if the investor ticks `active` there.
//! `GET /investor/auto-invest/{id}`: one rule, what it invested in and why
//! it passed loans over; `POST /investor/auto-invest/{id}/switch`
//! (`active`): on or off.

use actix_session::Session;
use actix_web::{
    HttpRequest, HttpResponse,
    web::{Bytes, Data, Path},
};
use askama::Template;

use crate::{
    domain::{
        application::Purpose,
        auto_invest::{Criteria, Rule, Simulation},
        ids::RuleId,
        money::{Money, Rate},
        scoring::Grade,
    },
    error::{AppError, FieldErrors},
    format, paths,
    services::auto_invest::{self, CURRENCY, Draft, PREVIEW_DAYS, Preview, RuleView},
    state::AppState,
    web::{
        error::WebError,
        extractors::CurrentUser,
        forms::{Choice, checked, fields},
        layout::{BaseCtx, form_status, page, render, see_other},
        session::{self, FlashLevel},
    },
};

/// The longest term a rule may ask for, in months.
const MAX_TERM: u32 = 360;

/// A rule as typed (the form's fields, in the query or the body).
#[derive(Debug, Clone, Default)]
pub struct RuleForm {
    max_per_loan: String,
    min_rate: String,
    max_term: String,
    grades: Vec<String>,
    purposes: Vec<String>,
    min_loan_amount: String,
    max_loan_amount: String,
    exposure_cap: String,
    cash_reserve: String,
    reinvest: bool,
    active: bool,
}

impl RuleForm {
    /// A new rule's form: reinvesting, nothing else chosen.
    fn blank() -> Self {
        Self {
            reinvest: true,
            ..Self::default()
        }
    }

    /// The form from its fields; `None` when none of its fields came (the
    /// page asked for without a rule).
    fn from_fields(pairs: Vec<(String, String)>) -> Result<Option<Self>, WebError> {
        if pairs.is_empty() {
            return Ok(None);
        }
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "max_per_loan" => form.max_per_loan = value,
                "min_rate" => form.min_rate = value,
                "max_term" => form.max_term = value,
                "grades" => form.grades.push(value),
                "purposes" => form.purposes.push(value),
                "min_loan_amount" => form.min_loan_amount = value,
                "max_loan_amount" => form.max_loan_amount = value,
                "exposure_cap" => form.exposure_cap = value,
                "cash_reserve" => form.cash_reserve = value,
                "reinvest" => form.reinvest = checked(Some(&value)),
                "active" => form.active = checked(Some(&value)),
                other => {
                    return Err(WebError::BadRequest(format!(
                        "This form could not be read (unexpected field \u{201c}{}\u{201d}). Reload the page and try again.",
                        other
                            .chars()
                            .filter(|c| !c.is_control())
                            .take(60)
                            .collect::<String>()
                    )));
                }
            }
        }
        Ok(Some(form))
    }

    fn parse(&self) -> Result<Draft, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut money = |field: &str, raw: &str| -> Option<Money> {
            if raw.trim().is_empty() {
                return None;
            }
            Money::parse(raw, CURRENCY)
                .map_err(|err| errors.add(field, err.to_string()))
                .ok()
        };
        let max_per_loan = money("max_per_loan", &self.max_per_loan);
        let min_loan_amount = money("min_loan_amount", &self.min_loan_amount);
        let max_loan_amount = money("max_loan_amount", &self.max_loan_amount);
        let exposure_cap = money("exposure_cap", &self.exposure_cap);
        let cash_reserve = money("cash_reserve", &self.cash_reserve);
        if self.max_per_loan.trim().is_empty() {
            errors.add("max_per_loan", "Enter the most to put into any one loan.");
        }
        let min_rate = (!self.min_rate.trim().is_empty())
            .then(|| Rate::parse_percent(&self.min_rate))
            .transpose()
            .map_err(|_| errors.add("min_rate", "Enter a rate in percent a year, like 14.5."))
            .ok()
            .flatten();
        let max_term = (!self.max_term.trim().is_empty())
            .then(|| {
                self.max_term
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|m| (1..=MAX_TERM).contains(m))
            })
            .map(|term| {
                term.ok_or_else(|| {
                    errors.add(
                        "max_term",
                        format!("Enter a term in whole months from 1 to {MAX_TERM}."),
                    );
                })
            })
            .transpose()
            .ok()
            .flatten();
        let mut grades = Vec::new();
        for word in &self.grades {
            match Grade::parse(word) {
                Some(grade) if !grades.contains(&grade) => grades.push(grade),
                Some(_) => {}
                None => errors.add("grades", "Choose grades from A to F."),
            }
        }
        grades.sort();
        let mut purposes = Vec::new();
        for word in &self.purposes {
            match Purpose::parse(word) {
                Some(purpose) if !purposes.contains(&purpose) => purposes.push(purpose),
                Some(_) => {}
                None => errors.add("purposes", "Choose purposes from the list."),
            }
        }
        errors.clone().into_result().map_err(|_| errors)?;
        let Some(max_per_loan) = max_per_loan else {
            return Err(FieldErrors::single(
                "max_per_loan",
                "Enter the most to put into any one loan.",
            ));
        };
        Ok(Draft {
            criteria: Criteria {
                max_per_loan,
                min_loan_amount,
                max_loan_amount,
                grades,
                min_rate,
                max_term_months: max_term,
                purposes,
                exposure_cap,
                cash_reserve: cash_reserve.unwrap_or(Money::zero(CURRENCY)),
            },
            reinvest: self.reinvest,
            active: self.active,
        })
    }

    /// The rule as a query string, for the link back to the form.
    fn query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("max_per_loan", &self.max_per_loan),
            ("min_rate", &self.min_rate),
            ("max_term", &self.max_term),
            ("min_loan_amount", &self.min_loan_amount),
            ("max_loan_amount", &self.max_loan_amount),
            ("exposure_cap", &self.exposure_cap),
            ("cash_reserve", &self.cash_reserve),
        ] {
            query.append_pair(key, value);
        }
        for grade in &self.grades {
            query.append_pair("grades", grade);
        }
        for purpose in &self.purposes {
            query.append_pair("purposes", purpose);
        }
        if self.reinvest {
            query.append_pair("reinvest", "on");
        }
        query.finish()
    }

    fn grade_choices(&self) -> Vec<Choice> {
        Grade::ALL
            .iter()
            .map(|g| Choice {
                value: g.as_str().to_owned(),
                label: g.as_str().to_owned(),
                selected: self.grades.iter().any(|w| w == g.as_str()),
            })
            .collect()
    }

    fn purpose_choices(&self) -> Vec<Choice> {
        Purpose::ALL
            .iter()
            .map(|p| Choice {
                value: p.as_str().to_owned(),
                label: p.label().to_owned(),
                selected: self.purposes.iter().any(|w| w == p.as_str()),
            })
            .collect()
    }
}

/// A rule's criteria in words.
struct RuleSummary {
    id: String,
    active: bool,
    max_per_loan: String,
    looks_for: Vec<String>,
    keeps: Vec<String>,
    outstanding: String,
    placed_total: String,
    created: String,
}

fn summary(view: &RuleView) -> RuleSummary {
    let rule: &Rule = &view.rule;
    let (looks_for, keeps) = describe(&rule.criteria, rule.reinvest);
    RuleSummary {
        id: rule.id.to_string(),
        active: rule.active,
        max_per_loan: rule.criteria.max_per_loan.to_string(),
        looks_for,
        keeps,
        outstanding: view.outstanding.to_string(),
        placed_total: rule.placed_total.to_string(),
        created: format::datetime(&rule.created_at),
    }
}

/// A rule's criteria in words: what loans it looks for, and what it keeps to.
fn describe(c: &Criteria, reinvest: bool) -> (Vec<String>, Vec<String>) {
    let mut looks_for = Vec::new();
    if !c.grades.is_empty() {
        let grades: Vec<&str> = c.grades.iter().map(|g| g.as_str()).collect();
        looks_for.push(format!("grades {}", grades.join(", ")));
    }
    if let Some(rate) = c.min_rate {
        looks_for.push(format!("rate from {rate}"));
    }
    if let Some(term) = c.max_term_months {
        looks_for.push(format!("terms up to {term} months"));
    }
    match (c.min_loan_amount, c.max_loan_amount) {
        (Some(min), Some(max)) => looks_for.push(format!("loans of {min} to {max}")),
        (Some(min), None) => looks_for.push(format!("loans of {min} or more")),
        (None, Some(max)) => looks_for.push(format!("loans of up to {max}")),
        (None, None) => {}
    }
    if !c.purposes.is_empty() {
        let purposes: Vec<&str> = c.purposes.iter().map(|p| p.label()).collect();
        looks_for.push(format!("for {}", purposes.join(", ").to_lowercase()));
    }
    if looks_for.is_empty() {
        looks_for.push("every loan".to_owned());
    }
    let mut keeps = Vec::new();
    if let Some(cap) = c.exposure_cap {
        keeps.push(if reinvest {
            format!("at most {cap} outstanding at a time")
        } else {
            format!("at most {cap} in all (repayments are not reinvested)")
        });
    } else {
        keeps.push("no cap on what it has outstanding".to_owned());
    }
    if c.cash_reserve.minor() > 0 {
        keeps.push(format!("leaves {} in the wallet", c.cash_reserve));
    }
    (looks_for, keeps)
}

/// A simulation as the preview shows it.
struct SimulationView {
    loans: u32,
    matched: u32,
    invested_in: u32,
    invested: String,
    by_grade: Vec<(String, u32, String)>,
    passed_over: Vec<(String, u32)>,
    idle: String,
}

fn simulation(run: &Simulation) -> SimulationView {
    SimulationView {
        loans: run.loans,
        matched: run.matched,
        invested_in: run.invested_in,
        invested: run.invested.to_string(),
        by_grade: run
            .by_grade
            .iter()
            .map(|(g, n, m)| (g.as_str().to_owned(), *n, m.to_string()))
            .collect(),
        passed_over: run
            .passed_over
            .iter()
            .map(|(skip, n)| (skip.to_string(), *n))
            .collect(),
        idle: run.idle.to_string(),
    }
}

struct PreviewView {
    /// The rule previewed, in words: its amount per loan, what it looks
    /// for, what it keeps to.
    max_per_loan: String,
    looks_for: Vec<String>,
    keeps: Vec<String>,
    available: String,
    now: SimulationView,
    past: SimulationView,
    days: i64,
}

fn preview_view((draft, preview): (&Draft, &Preview)) -> PreviewView {
    let (looks_for, keeps) = describe(&draft.criteria, draft.reinvest);
    PreviewView {
        max_per_loan: draft.criteria.max_per_loan.to_string(),
        looks_for,
        keeps,
        available: preview.available.to_string(),
        now: simulation(&preview.now),
        past: simulation(&preview.past),
        days: PREVIEW_DAYS,
    }
}

#[derive(Template)]
#[template(path = "investor/auto_invest.html")]
struct RulesPage {
    base: BaseCtx,
    rules: Vec<RuleSummary>,
    form: RuleForm,
    grade_choices: Vec<Choice>,
    purpose_choices: Vec<Choice>,
    errors: FieldErrors,
    /// The checked rule's preview, with the form that saves it.
    preview: Option<PreviewView>,
    change_query: String,
}

async fn rules_page(
    state: &AppState,
    base: BaseCtx,
    investor: crate::domain::ids::UserId,
    form: RuleForm,
    errors: FieldErrors,
    preview: Option<(&Draft, &Preview)>,
) -> Result<HttpResponse, WebError> {
    let rules = auto_invest::rules_of(&state.db, investor).await?;
    render(
        form_status(&errors),
        &RulesPage {
            base,
            rules: rules.iter().map(summary).collect(),
            grade_choices: form.grade_choices(),
            purpose_choices: form.purpose_choices(),
            change_query: form.query(),
            form,
            errors,
            preview: preview.map(preview_view),
        },
    )
}

/// `GET /investor/auto-invest`: the rules and the form; with a rule in the
/// query, the rule checked and previewed.
pub async fn index(
    base: BaseCtx,
    req: HttpRequest,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, WebError> {
    let pairs = fields(req.query_string().as_bytes(), &["grades", "purposes"])?;
    let change = pairs.iter().any(|(k, _)| k == "change");
    let pairs: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != "change").collect();
    let Some(form) = RuleForm::from_fields(pairs)? else {
        return rules_page(
            &state,
            base,
            user.id,
            RuleForm::blank(),
            FieldErrors::new(),
            None,
        )
        .await;
    };
    if change {
        return rules_page(&state, base, user.id, form, FieldErrors::new(), None).await;
    }
    let checked = match form.parse() {
        Ok(draft) => auto_invest::check(&state.db, &draft.criteria, draft.reinvest)
            .await
            .map(|()| draft),
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match checked {
        Ok(draft) => {
            let preview =
                auto_invest::preview(&state.db, state.clock.as_ref(), user.id, &draft.criteria)
                    .await?;
            rules_page(
                &state,
                base,
                user.id,
                form,
                FieldErrors::new(),
                Some((&draft, &preview)),
            )
            .await
        }
        Err(AppError::Validation(errors)) => {
            rules_page(&state, base, user.id, form, errors, None).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /investor/auto-invest`: saves the rule (on only if `active`).
pub async fn create(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let form = RuleForm::from_fields(fields(&body, &["grades", "purposes"])?)?.unwrap_or_default();
    let created = match form.parse() {
        Ok(draft) => auto_invest::create(&state.db, state.clock.as_ref(), user.id, &draft)
            .await
            .map(|id| (id, draft.active)),
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match created {
        Ok((id, active)) => {
            let message = if active {
                "Your rule is saved and switched on: it invests in new loans that match it (and in those open now, within a few minutes)."
            } else {
                "Your rule is saved. It stays off until you switch it on."
            };
            session::flash(&session, FlashLevel::Success, message);
            Ok(see_other(&paths::auto_invest_rule(id)))
        }
        Err(AppError::Validation(errors)) => {
            rules_page(&state, base, user.id, form, errors, None).await
        }
        Err(other) => Err(other.into()),
    }
}

struct InvestedLine {
    investment_id: String,
    purpose: String,
    grade: String,
    rate: String,
    amount: String,
    status: String,
    status_word: String,
    made: String,
}

struct PassedLine {
    loan_id: String,
    purpose: String,
    grade: String,
    amount: String,
    reason: String,
    at: String,
}

#[derive(Template)]
#[template(path = "investor/auto_invest_rule.html")]
struct RulePage {
    base: BaseCtx,
    rule: RuleSummary,
    invested: Vec<InvestedLine>,
    passed: Vec<PassedLine>,
    shown: u64,
}

/// `GET /investor/auto-invest/{id}`.
pub async fn show(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<RuleId>,
) -> Result<HttpResponse, WebError> {
    let found = auto_invest::rule_page(&state.db, user.id, path.into_inner()).await?;
    let grade = |g: Option<Grade>| g.map(|g| g.as_str().to_owned()).unwrap_or_default();
    page(&RulePage {
        base,
        rule: summary(&found.view),
        invested: found
            .invested
            .iter()
            .map(|line| InvestedLine {
                investment_id: line.investment.id.to_string(),
                purpose: line.loan.purpose.label().to_owned(),
                grade: grade(line.loan.grade),
                rate: line.loan.rate.map(|r| r.to_string()).unwrap_or_default(),
                amount: line.investment.amount.to_string(),
                status: line.investment.status.label().to_owned(),
                status_word: line.investment.status.as_str().to_owned(),
                made: format::datetime(&line.investment.created_at),
            })
            .collect(),
        passed: found
            .passed
            .iter()
            .map(|line| PassedLine {
                loan_id: line.loan.id.to_string(),
                purpose: line.loan.purpose.label().to_owned(),
                grade: grade(line.loan.grade),
                amount: line.loan.amount.to_string(),
                reason: line.reason.to_string(),
                at: format::datetime(&line.at),
            })
            .collect(),
        shown: crate::db::queries::auto_invest::DECISIONS_SHOWN,
    })
}

/// `POST /investor/auto-invest/{id}/switch`: `active` on or off.
pub async fn switch(
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: Path<RuleId>,
    body: Bytes,
) -> Result<HttpResponse, WebError> {
    let rule_id = path.into_inner();
    let mut on = false;
    for (key, value) in fields(&body, &[])? {
        match key.as_str() {
            "active" => on = checked(Some(&value)),
            _ => {
                return Err(WebError::BadRequest(
                    "This form could not be read. Reload the page and try again.".to_owned(),
                ));
            }
        }
    }
    auto_invest::switch(&state.db, state.clock.as_ref(), user.id, rule_id, on).await?;
    let message = if on {
        "The rule is switched on: it invests in new loans that match it (and in those open now, within a few minutes)."
    } else {
        "The rule is switched off: it invests in nothing until you switch it on again."
    };
    session::flash(&session, FlashLevel::Success, message);
    Ok(see_other(&paths::auto_invest_rule(rule_id)))
}
