//! `GET,POST /admin/settings`: the platform's limits, grade bands and fees
//! (admins only). Every change is audited with the values before and after.

use std::collections::BTreeMap;

use actix_session::Session;
use actix_web::{HttpResponse, web::Data};
use askama::Template;

use crate::{
    domain::{scoring::Grade, settings::SWITCHES},
    error::{AppError, FieldErrors},
    services::settings,
    state::AppState,
    web::{
        error::WebError,
        extractors::{ClientMeta, CurrentUser},
        forms::StrictForm,
        layout::{BaseCtx, form_status, page, render, see_other},
        session::{self, FlashLevel},
    },
};

/// One input of the form.
struct Input {
    key: String,
    label: &'static str,
    hint: &'static str,
    value: String,
}

struct Section {
    title: &'static str,
    inputs: Vec<Input>,
}

struct BandRow {
    grade: &'static str,
    inputs: Vec<Input>,
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    base: BaseCtx,
    sections: Vec<Section>,
    bands: Vec<BandRow>,
    kyc_required: bool,
    disbursement_automatic: bool,
    auto_invest_instant: bool,
    errors: FieldErrors,
}

/// (key, label, hint) of one input.
type InputSpec = (&'static str, &'static str, &'static str);

/// The form's groups, titled.
const SECTIONS: &[(&str, &[InputSpec])] = &[
    (
        "Loan applications",
        &[
            ("loan_min_amount", "Smallest loan, ₽", ""),
            ("loan_max_amount", "Largest loan, ₽", ""),
            (
                "loan_terms",
                "Terms offered, months",
                "Separated by commas, like 6, 12, 24.",
            ),
            ("funding_days", "Days a listed loan stays open", ""),
        ],
    ),
    (
        "Scoring rules",
        &[
            ("scoring_min_age", "Youngest borrower, years", ""),
            (
                "scoring_max_dti_percent",
                "Highest debt-to-income with the new loan, %",
                "",
            ),
            (
                "scoring_max_defaults_12m",
                "Most defaults in the last 12 months",
                "",
            ),
        ],
    ),
    (
        "Fees and investing",
        &[
            (
                "fees_servicing_percent",
                "Servicing fee, % of each repayment",
                "",
            ),
            (
                "fees_origination_percent",
                "Origination fee, % of the loan",
                "",
            ),
            (
                "reserve_contribution_percent",
                "Reserve fund contribution, % of the loan",
                "",
            ),
            ("invest_min_amount", "Smallest investment, ₽", ""),
            (
                "invest_unqualified_annual_limit",
                "Yearly limit for unqualified investors, ₽",
                "Russian law (259-FZ) sets 600 000 ₽.",
            ),
        ],
    ),
    (
        "Secondary market",
        &[
            (
                "secondary_markup_min_percent",
                "Largest discount, %",
                "A negative percentage, like -20: a listing's price may be that far below its principal.",
            ),
            (
                "secondary_markup_max_percent",
                "Largest premium, %",
                "Like 5: a listing's price may be that far above its principal.",
            ),
            (
                "secondary_fee_percent",
                "Fee, % of the price",
                "Kept from what the seller receives.",
            ),
        ],
    ),
    (
        "Wallets",
        &[(
            "wallet_daily_withdrawal_limit",
            "Most one person may withdraw in a day, ₽",
            "A calendar day in UTC; the withdrawal form shows what is left of it.",
        )],
    ),
    (
        "Repayments",
        &[
            (
                "servicing_reminder_days",
                "Remind borrowers this many days before a due date",
                "0 sends no reminders.",
            ),
            (
                "servicing_penalty_daily_percent",
                "Penalty interest, % a day of what is overdue",
                "From the day after the due date; 0.1 is the usual rate.",
            ),
            (
                "servicing_penalty_cap_percent",
                "Penalty interest cap, % of the installment",
                "Penalty interest on one installment stops growing here.",
            ),
            (
                "servicing_late_fee",
                "Late fee, ₽",
                "Charged once per installment, the day after it went unpaid.",
            ),
            (
                "servicing_default_after_days",
                "Days overdue before a loan defaults",
                "The reserve fund then pays investors their outstanding principal.",
            ),
        ],
    ),
];

const BAND_COLUMNS: [(&str, &str); 4] = [
    ("min_rate", "Lowest rate, %"),
    ("max_rate", "Highest rate, %"),
    ("max_amount", "Largest amount, ₽"),
    ("max_term", "Longest term, months"),
];

fn settings_page(
    base: BaseCtx,
    values: &BTreeMap<String, String>,
    errors: FieldErrors,
) -> SettingsPage {
    let value = |key: &str| values.get(key).cloned().unwrap_or_default();
    let sections = SECTIONS
        .iter()
        .map(|(title, inputs)| Section {
            title,
            inputs: inputs
                .iter()
                .map(|(key, label, hint)| Input {
                    key: (*key).to_owned(),
                    label,
                    hint,
                    value: value(key),
                })
                .collect(),
        })
        .collect();
    let bands = Grade::ALL
        .iter()
        .map(|grade| BandRow {
            grade: grade.as_str(),
            inputs: BAND_COLUMNS
                .iter()
                .map(|(field, label)| {
                    let key = format!("grade_{grade}_{field}");
                    Input {
                        value: value(&key),
                        key,
                        label,
                        hint: "",
                    }
                })
                .collect(),
        })
        .collect();
    SettingsPage {
        base,
        sections,
        bands,
        kyc_required: matches!(value("kyc_required").as_str(), "true" | "on"),
        disbursement_automatic: matches!(value("disbursement_automatic").as_str(), "true" | "on"),
        auto_invest_instant: matches!(value("auto_invest_instant").as_str(), "true" | "on"),
        errors,
    }
}

pub async fn show(base: BaseCtx, state: Data<AppState>) -> Result<HttpResponse, WebError> {
    let current = settings::load(&state.db).await?;
    let values = current.to_pairs().into_iter().collect();
    page(&settings_page(base, &values, FieldErrors::new()))
}

pub async fn update(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    StrictForm(mut form): StrictForm<BTreeMap<String, String>>,
) -> Result<HttpResponse, WebError> {
    let known: BTreeMap<String, String> = settings::load(&state.db)
        .await?
        .to_pairs()
        .into_iter()
        .collect();
    if let Some(unknown) = form.keys().find(|key| !known.contains_key(*key)) {
        return Err(WebError::BadRequest(format!(
            "This form has no field \u{201c}{}\u{201d}.",
            unknown
                .chars()
                .filter(|c| !c.is_control())
                .take(60)
                .collect::<String>()
        )));
    }
    // An unticked checkbox sends nothing.
    for switch in SWITCHES {
        form.entry(switch.to_owned())
            .or_insert_with(|| "false".to_owned());
    }
    match settings::update(&state.db, state.clock.as_ref(), user.id, &form, &meta).await {
        Ok(_) => {
            session::flash(&session, FlashLevel::Success, "Settings saved.");
            Ok(see_other("/admin/settings"))
        }
        Err(AppError::Validation(errors)) => {
            let mut values = known;
            values.extend(form);
            render(form_status(&errors), &settings_page(base, &values, errors))
        }
        Err(other) => Err(other.into()),
    }
}
