//! `GET,POST /borrower/profile`: what the scorecard reads about the borrower,
//! with rows of debts and assets that are added and removed by the form's own
//! buttons (no script needed; every typed value survives the round trip).

use std::collections::BTreeMap;

use actix_session::Session;
use actix_web::{HttpResponse, web::Data};
use askama::Template;
use chrono::NaiveDate;
use validator::Validate;

use crate::{
    db::queries::applications as queries,
    domain::{
        application::{
            Asset, AssetKind, Education, Liability, LiabilityKind, MAX_EVENTS_12M, MAX_ROWS,
            Profile,
        },
        money::{Currency, Money},
        scoring::Employment,
    },
    error::{AppError, FieldErrors},
    services::applications,
    state::AppState,
    web::{
        error::WebError,
        extractors::{ClientMeta, CurrentUser},
        forms::{Choice, RowAction, StrictForm, add_validation_errors, choices, row_field},
        layout::{BaseCtx, form_status, page, render, see_other},
        session::{self, FlashLevel},
    },
};

/// The form as typed, every value a string so that nothing is lost on an error.
#[derive(Debug, Default, Clone, Validate)]
pub struct ProfileForm {
    birth_date: String,
    employment_status: String,
    #[validate(length(max = 200, message = "Keep it under 200 characters."))]
    employer: String,
    #[validate(length(max = 200, message = "Keep it under 200 characters."))]
    position: String,
    employed_since: String,
    monthly_income: String,
    monthly_expenses: String,
    education: String,
    #[validate(length(max = 200, message = "Keep it under 200 characters."))]
    university: String,
    graduation_year: String,
    credit_score: String,
    avg_bank_balance: String,
    defaults_12m: String,
    inquiries_12m: String,
    liabilities: Vec<LiabilityRow>,
    assets: Vec<AssetRow>,
}

#[derive(Debug, Default, Clone)]
struct LiabilityRow {
    kind: String,
    outstanding: String,
    monthly_payment: String,
    start_date: String,
    end_date: String,
}

#[derive(Debug, Default, Clone)]
struct AssetRow {
    kind: String,
    value: String,
    ownership_pct: String,
    held_since: String,
}

const LIABILITY_FIELDS: [&str; 5] = [
    "kind",
    "outstanding",
    "monthly_payment",
    "start_date",
    "end_date",
];
const ASSET_FIELDS: [&str; 4] = ["kind", "value", "ownership_pct", "held_since"];

fn bad_field(key: &str) -> WebError {
    WebError::BadRequest(format!(
        "This form could not be read (unexpected field \u{201c}{}\u{201d}). Reload the page and try again.",
        key.chars()
            .filter(|c| !c.is_control())
            .take(60)
            .collect::<String>()
    ))
}

const ROW_GROUPS: [&str; 2] = ["liability", "asset"];

impl ProfileForm {
    fn from_fields(fields: BTreeMap<String, String>) -> Result<(Self, RowAction), WebError> {
        let mut form = Self::default();
        let mut action = RowAction::Save;
        let mut liabilities: BTreeMap<usize, LiabilityRow> = BTreeMap::new();
        let mut assets: BTreeMap<usize, AssetRow> = BTreeMap::new();
        for (key, value) in fields {
            let slot = match key.as_str() {
                "action" => {
                    action =
                        RowAction::parse(&value, &ROW_GROUPS).ok_or_else(|| bad_field(&key))?;
                    continue;
                }
                "birth_date" => &mut form.birth_date,
                "employment_status" => &mut form.employment_status,
                "employer" => &mut form.employer,
                "position" => &mut form.position,
                "employed_since" => &mut form.employed_since,
                "monthly_income" => &mut form.monthly_income,
                "monthly_expenses" => &mut form.monthly_expenses,
                "education" => &mut form.education,
                "university" => &mut form.university,
                "graduation_year" => &mut form.graduation_year,
                "credit_score" => &mut form.credit_score,
                "avg_bank_balance" => &mut form.avg_bank_balance,
                "defaults_12m" => &mut form.defaults_12m,
                "inquiries_12m" => &mut form.inquiries_12m,
                other => {
                    if let Some((field, i)) =
                        row_field(other, "liability", &LIABILITY_FIELDS, MAX_ROWS)
                    {
                        let row = liabilities.entry(i).or_default();
                        match field {
                            "kind" => row.kind = value,
                            "outstanding" => row.outstanding = value,
                            "monthly_payment" => row.monthly_payment = value,
                            "start_date" => row.start_date = value,
                            _ => row.end_date = value,
                        }
                    } else if let Some((field, i)) =
                        row_field(other, "asset", &ASSET_FIELDS, MAX_ROWS)
                    {
                        let row = assets.entry(i).or_default();
                        match field {
                            "kind" => row.kind = value,
                            "value" => row.value = value,
                            "ownership_pct" => row.ownership_pct = value,
                            _ => row.held_since = value,
                        }
                    } else {
                        return Err(bad_field(other));
                    }
                    continue;
                }
            };
            *slot = value;
        }
        // Rows keep their order; gaps in the numbering (a removed row) close up.
        form.liabilities = liabilities.into_values().collect();
        form.assets = assets.into_values().collect();
        Ok((form, action))
    }

    fn from_profile(profile: &Profile) -> Self {
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        let amount = |m: Money| m.amount().normalize().to_string();
        Self {
            birth_date: profile.birth_date.to_string(),
            employment_status: profile.employment.as_str().to_owned(),
            employer: profile.employer.clone().unwrap_or_default(),
            position: profile.position.clone().unwrap_or_default(),
            employed_since: date(profile.employed_since),
            monthly_income: amount(profile.monthly_income),
            monthly_expenses: amount(profile.monthly_expenses),
            education: profile.education.as_str().to_owned(),
            university: profile.university.clone().unwrap_or_default(),
            graduation_year: profile
                .graduation_year
                .map(|y| y.to_string())
                .unwrap_or_default(),
            credit_score: profile.credit_score.to_string(),
            avg_bank_balance: amount(profile.avg_bank_balance),
            defaults_12m: profile.defaults_12m.to_string(),
            inquiries_12m: profile.inquiries_12m.to_string(),
            liabilities: profile
                .liabilities
                .iter()
                .map(|l| LiabilityRow {
                    kind: l.kind.as_str().to_owned(),
                    outstanding: amount(l.outstanding),
                    monthly_payment: amount(l.monthly_payment),
                    start_date: l.start_date.to_string(),
                    end_date: date(l.end_date),
                })
                .collect(),
            assets: profile
                .assets
                .iter()
                .map(|a| AssetRow {
                    kind: a.kind.as_str().to_owned(),
                    value: amount(a.value),
                    ownership_pct: a.ownership_pct.to_string(),
                    held_since: date(a.held_since),
                })
                .collect(),
        }
    }

    /// The typed profile, or every field's problem.
    fn parse(&self) -> Result<Profile, FieldErrors> {
        let mut errors = FieldErrors::new();
        add_validation_errors(&mut errors, self.validate());
        let mut p = Parser {
            errors: &mut errors,
        };
        let birth_date = p.date("birth_date", &self.birth_date, true);
        let employment = p.word(
            "employment_status",
            &self.employment_status,
            Employment::parse,
            "Choose your employment status.",
        );
        let employed_since = p.date("employed_since", &self.employed_since, false);
        let monthly_income = p.money("monthly_income", &self.monthly_income);
        let monthly_expenses = p.money("monthly_expenses", &self.monthly_expenses);
        let education = p.word(
            "education",
            &self.education,
            Education::parse,
            "Choose your highest qualification.",
        );
        let graduation_year = p.number("graduation_year", &self.graduation_year, 1900, 2200, false);
        let credit_score = p.number("credit_score", &self.credit_score, 0, 1000, true);
        let avg_bank_balance = p.money("avg_bank_balance", &self.avg_bank_balance);
        let max_events = i64::from(MAX_EVENTS_12M);
        let defaults_12m = p.number("defaults_12m", &self.defaults_12m, 0, max_events, true);
        let inquiries_12m = p.number("inquiries_12m", &self.inquiries_12m, 0, max_events, true);
        let liabilities: Vec<Option<Liability>> = self
            .liabilities
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let kind = p.word(
                    &format!("liability_kind_{i}"),
                    &row.kind,
                    LiabilityKind::parse,
                    "Choose the kind of debt.",
                );
                let outstanding = p.money(&format!("liability_outstanding_{i}"), &row.outstanding);
                let monthly_payment = p.money(
                    &format!("liability_monthly_payment_{i}"),
                    &row.monthly_payment,
                );
                let start_date =
                    p.date(&format!("liability_start_date_{i}"), &row.start_date, true);
                let end_date = p.date(&format!("liability_end_date_{i}"), &row.end_date, false);
                Some(Liability {
                    kind: kind?,
                    outstanding: outstanding?,
                    monthly_payment: monthly_payment?,
                    start_date: start_date??,
                    end_date: end_date?,
                })
            })
            .collect();
        let assets: Vec<Option<Asset>> = self
            .assets
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let kind = p.word(
                    &format!("asset_kind_{i}"),
                    &row.kind,
                    AssetKind::parse,
                    "Choose the kind of asset.",
                );
                let value = p.money(&format!("asset_value_{i}"), &row.value);
                let share = p.number(
                    &format!("asset_ownership_pct_{i}"),
                    &row.ownership_pct,
                    1,
                    100,
                    true,
                );
                let held_since = p.date(&format!("asset_held_since_{i}"), &row.held_since, false);
                Some(Asset {
                    kind: kind?,
                    value: value?,
                    ownership_pct: u32::try_from(share??).ok()?,
                    held_since: held_since?,
                })
            })
            .collect();
        let text = |value: &str| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        let profile = (|| {
            Some(Profile {
                birth_date: birth_date??,
                employment: employment?,
                employer: text(&self.employer),
                position: text(&self.position),
                employed_since: employed_since?,
                monthly_income: monthly_income?,
                monthly_expenses: monthly_expenses?,
                education: education?,
                university: text(&self.university),
                graduation_year: graduation_year?.and_then(|y| i32::try_from(y).ok()),
                credit_score: u32::try_from(credit_score??).ok()?,
                avg_bank_balance: avg_bank_balance?,
                defaults_12m: u32::try_from(defaults_12m??).ok()?,
                inquiries_12m: u32::try_from(inquiries_12m??).ok()?,
                liabilities: liabilities.into_iter().collect::<Option<Vec<_>>>()?,
                assets: assets.into_iter().collect::<Option<Vec<_>>>()?,
            })
        })();
        match profile {
            Some(profile) if errors.is_empty() => Ok(profile),
            _ => Err(errors),
        }
    }
}

/// Reads typed values out of form strings, noting each field's problem.
struct Parser<'a> {
    errors: &'a mut FieldErrors,
}

impl Parser<'_> {
    /// `Some(None)` for an empty optional date; `None` when it is wrong.
    fn date(&mut self, field: &str, text: &str, required: bool) -> Option<Option<NaiveDate>> {
        let text = text.trim();
        if text.is_empty() {
            if required {
                self.errors.add(field, "Enter a date.");
                return None;
            }
            return Some(None);
        }
        match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) => Some(Some(date)),
            Err(_) => {
                self.errors
                    .add(field, "Enter a date as year-month-day, like 1990-04-25.");
                None
            }
        }
    }

    fn money(&mut self, field: &str, text: &str) -> Option<Money> {
        Money::parse(text, Currency::Rub)
            .map_err(|err| self.errors.add(field, err.to_string()))
            .ok()
    }

    /// `Some(None)` for an empty optional number.
    fn number(
        &mut self,
        field: &str,
        text: &str,
        min: i64,
        max: i64,
        required: bool,
    ) -> Option<Option<i64>> {
        let text = text.trim();
        if text.is_empty() && !required {
            return Some(None);
        }
        match text.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) && text.bytes().all(|b| b.is_ascii_digit()) => {
                Some(Some(n))
            }
            _ => {
                self.errors
                    .add(field, format!("Enter a whole number from {min} to {max}."));
                None
            }
        }
    }

    fn word<T>(
        &mut self,
        field: &str,
        text: &str,
        parse: impl Fn(&str) -> Option<T>,
        message: &str,
    ) -> Option<T> {
        let found = parse(text.trim());
        if found.is_none() {
            self.errors.add(field, message);
        }
        found
    }
}

/// One input of a debt or asset row.
struct Cell {
    name: String,
    label: &'static str,
    input_type: &'static str,
    value: String,
    choices: Vec<Choice>,
    error: Option<String>,
}

struct RowView {
    cells: Vec<Cell>,
    /// The value of the row's "Remove" button.
    remove_action: String,
}

#[derive(Template)]
#[template(path = "borrower/profile.html")]
struct ProfilePage {
    base: BaseCtx,
    form: ProfileForm,
    employment_choices: Vec<Choice>,
    education_choices: Vec<Choice>,
    liabilities: Vec<RowView>,
    assets: Vec<RowView>,
    can_add_rows: (bool, bool),
    errors: FieldErrors,
    is_new: bool,
}

fn cell(
    name: String,
    label: &'static str,
    input_type: &'static str,
    value: &str,
    choices: Vec<Choice>,
    errors: &FieldErrors,
) -> Cell {
    Cell {
        error: errors.get(&name).map(str::to_owned),
        name,
        label,
        input_type,
        value: value.to_owned(),
        choices,
    }
}

impl ProfilePage {
    fn new(base: BaseCtx, form: ProfileForm, errors: FieldErrors, is_new: bool) -> Self {
        let liabilities = form
            .liabilities
            .iter()
            .enumerate()
            .map(|(i, row)| RowView {
                remove_action: format!("remove_liability_{i}"),
                cells: vec![
                    cell(
                        format!("liability_kind_{i}"),
                        "Kind",
                        "select",
                        "",
                        choices(
                            "Choose…",
                            LiabilityKind::ALL.iter().map(|k| (k.as_str(), k.label())),
                            &row.kind,
                        ),
                        &errors,
                    ),
                    cell(
                        format!("liability_outstanding_{i}"),
                        "Still owed, ₽",
                        "text",
                        &row.outstanding,
                        vec![],
                        &errors,
                    ),
                    cell(
                        format!("liability_monthly_payment_{i}"),
                        "Monthly payment, ₽",
                        "text",
                        &row.monthly_payment,
                        vec![],
                        &errors,
                    ),
                    cell(
                        format!("liability_start_date_{i}"),
                        "Taken on",
                        "date",
                        &row.start_date,
                        vec![],
                        &errors,
                    ),
                    cell(
                        format!("liability_end_date_{i}"),
                        "Ends on (optional)",
                        "date",
                        &row.end_date,
                        vec![],
                        &errors,
                    ),
                ],
            })
            .collect();
        let assets = form
            .assets
            .iter()
            .enumerate()
            .map(|(i, row)| RowView {
                remove_action: format!("remove_asset_{i}"),
                cells: vec![
                    cell(
                        format!("asset_kind_{i}"),
                        "Kind",
                        "select",
                        "",
                        choices(
                            "Choose…",
                            AssetKind::ALL.iter().map(|k| (k.as_str(), k.label())),
                            &row.kind,
                        ),
                        &errors,
                    ),
                    cell(
                        format!("asset_value_{i}"),
                        "Value, ₽",
                        "text",
                        &row.value,
                        vec![],
                        &errors,
                    ),
                    cell(
                        format!("asset_ownership_pct_{i}"),
                        "Your share, %",
                        "text",
                        &row.ownership_pct,
                        vec![],
                        &errors,
                    ),
                    cell(
                        format!("asset_held_since_{i}"),
                        "Owned since (optional)",
                        "date",
                        &row.held_since,
                        vec![],
                        &errors,
                    ),
                ],
            })
            .collect();
        Self {
            base,
            employment_choices: choices(
                "Choose…",
                Employment::ALL.iter().map(|e| (e.as_str(), e.label())),
                &form.employment_status,
            ),
            education_choices: choices(
                "Choose…",
                Education::ALL.iter().map(|e| (e.as_str(), e.label())),
                &form.education,
            ),
            can_add_rows: (
                form.liabilities.len() < MAX_ROWS,
                form.assets.len() < MAX_ROWS,
            ),
            liabilities,
            assets,
            form,
            errors,
            is_new,
        }
    }
}

pub async fn form(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, WebError> {
    let stored = queries::profile(&state.db, user.id).await?;
    let is_new = stored.is_none();
    let form = stored
        .as_ref()
        .map(ProfileForm::from_profile)
        .unwrap_or_default();
    page(&ProfilePage::new(base, form, FieldErrors::new(), is_new))
}

pub async fn submit(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    StrictForm(fields): StrictForm<BTreeMap<String, String>>,
) -> Result<HttpResponse, WebError> {
    let (mut form, action) = ProfileForm::from_fields(fields)?;
    let is_new = !queries::has_profile(&state.db, user.id).await?;
    match action {
        RowAction::Add("liability") if form.liabilities.len() < MAX_ROWS => {
            form.liabilities.push(LiabilityRow::default());
        }
        RowAction::Add("asset") if form.assets.len() < MAX_ROWS => {
            form.assets.push(AssetRow::default());
        }
        RowAction::Remove("liability", i) if i < form.liabilities.len() => {
            form.liabilities.remove(i);
        }
        RowAction::Remove("asset", i) if i < form.assets.len() => {
            form.assets.remove(i);
        }
        RowAction::Save => {
            let result = match form.parse() {
                Ok(profile) => {
                    applications::save_profile(
                        &state.db,
                        state.clock.as_ref(),
                        user.id,
                        &profile,
                        &meta,
                    )
                    .await
                }
                Err(errors) => Err(AppError::Validation(errors)),
            };
            return match result {
                Ok(()) => {
                    session::flash(
                        &session,
                        FlashLevel::Success,
                        "Your profile is saved. It is what the scorecard reads when you apply.",
                    );
                    Ok(see_other(if is_new {
                        "/borrower/loans/new"
                    } else {
                        "/borrower/profile"
                    }))
                }
                Err(AppError::Validation(errors)) => render(
                    form_status(&errors),
                    &ProfilePage::new(base, form, errors, is_new),
                ),
                Err(other) => Err(other.into()),
            };
        }
        // A row button for a row that is not there (or one too many): show the form as it is.
        _ => {}
    }
    page(&ProfilePage::new(base, form, FieldErrors::new(), is_new))
}
