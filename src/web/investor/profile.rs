//! `GET,POST /investor/profile`: tax id, the qualified-investor declaration,
//! nominees (rows added and removed by the form's buttons) and the risk
//! declaration every investor accepts before investing.

use std::collections::BTreeMap;

use actix_session::Session;
use actix_web::{HttpResponse, web::Data};
use askama::Template;
use validator::Validate;

use crate::{
    db::queries::investor as queries,
    domain::ids::UserId,
    domain::investor::{InvestorProfile, Kinship, MAX_NOMINEES, Nominee, TaxId},
    error::{AppError, FieldErrors},
    format,
    services::{investor, settings},
    state::AppState,
    web::{
        error::WebError,
        extractors::{ClientMeta, CurrentUser},
        forms::{Choice, RowAction, StrictForm, checked, choices, field_errors, row_field},
        layout::{BaseCtx, form_status, page, render, see_other},
        session::{self, FlashLevel},
    },
};

const NOMINEE_FIELDS: [&str; 3] = ["name", "relation", "share_pct"];

#[derive(Debug, Default, Clone, Validate)]
struct NomineeRow {
    #[validate(length(max = 200, message = "Keep the name under 200 characters."))]
    name: String,
    relation: String,
    share_pct: String,
}

/// The form as typed.
#[derive(Debug, Default, Clone)]
pub struct InvestorForm {
    tax_id: String,
    qualified: bool,
    accept_risk_declaration: bool,
    nominees: Vec<NomineeRow>,
}

impl InvestorForm {
    fn from_fields(fields: BTreeMap<String, String>) -> Result<(Self, RowAction), WebError> {
        let mut form = Self::default();
        let mut action = RowAction::Save;
        let mut rows: BTreeMap<usize, NomineeRow> = BTreeMap::new();
        let unexpected = |key: &str| {
            WebError::BadRequest(format!(
                "This form could not be read (unexpected field \u{201c}{}\u{201d}). Reload the page and try again.",
                key.chars()
                    .filter(|c| !c.is_control())
                    .take(60)
                    .collect::<String>()
            ))
        };
        for (key, value) in fields {
            match key.as_str() {
                "tax_id" => form.tax_id = value,
                "qualified" => form.qualified = checked(Some(&value)),
                "accept_risk_declaration" => form.accept_risk_declaration = checked(Some(&value)),
                "action" => {
                    action =
                        RowAction::parse(&value, &["nominee"]).ok_or_else(|| unexpected(&key))?;
                }
                other => {
                    let (field, i) = row_field(other, "nominee", &NOMINEE_FIELDS, MAX_NOMINEES)
                        .ok_or_else(|| unexpected(other))?;
                    let row = rows.entry(i).or_default();
                    match field {
                        "name" => row.name = value,
                        "relation" => row.relation = value,
                        _ => row.share_pct = value,
                    }
                }
            }
        }
        form.nominees = rows.into_values().collect();
        Ok((form, action))
    }

    fn parse(&self) -> Result<InvestorProfile, FieldErrors> {
        let mut errors = FieldErrors::new();
        let tax_id = TaxId::parse(&self.tax_id)
            .map_err(|err| errors.add("tax_id", err.to_string()))
            .ok();
        let nominees: Vec<Option<Nominee>> = self
            .nominees
            .iter()
            .enumerate()
            .map(|(i, row)| {
                if row.name.trim().is_empty() {
                    errors.add(
                        format!("nominee_name_{i}"),
                        "Enter the nominee's full name.",
                    );
                } else if let Err(found) = row.validate() {
                    for (_, message) in field_errors(&found).iter() {
                        errors.add(format!("nominee_name_{i}"), message);
                    }
                }
                let relation = Kinship::parse(row.relation.trim());
                if relation.is_none() {
                    errors.add(
                        format!("nominee_relation_{i}"),
                        "Choose how you are related.",
                    );
                }
                let share = row
                    .share_pct
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|p| (1..=100).contains(p));
                if share.is_none() {
                    errors.add(
                        format!("nominee_share_pct_{i}"),
                        "Enter a share from 1 to 100 %.",
                    );
                }
                Some(Nominee {
                    name: row.name.trim().to_owned(),
                    relation: relation?,
                    share_pct: share?,
                })
            })
            .collect();
        let profile = tax_id.and_then(|tax_id| {
            Some(InvestorProfile {
                tax_id,
                qualified: self.qualified,
                nominees: nominees.into_iter().collect::<Option<Vec<_>>>()?,
            })
        });
        match profile {
            Some(profile) if errors.is_empty() => Ok(profile),
            _ => Err(errors),
        }
    }
}

struct NomineeView {
    name_field: String,
    relation_field: String,
    share_field: String,
    name: String,
    share_pct: String,
    relations: Vec<Choice>,
    remove_action: String,
}

#[derive(Template)]
#[template(path = "investor/profile.html")]
struct ProfilePage {
    base: BaseCtx,
    form: InvestorForm,
    nominees: Vec<NomineeView>,
    can_add_nominee: bool,
    /// "22 Nov 2026, 14:05 UTC" once the risk declaration is accepted.
    risk_accepted_at: Option<String>,
    annual_limit: String,
    errors: FieldErrors,
}

async fn profile_page(
    state: &AppState,
    base: BaseCtx,
    user_id: UserId,
    form: Option<InvestorForm>,
    errors: FieldErrors,
) -> Result<ProfilePage, WebError> {
    let stored = queries::profile(&state.db, user_id).await?;
    let risk_accepted_at = stored
        .as_ref()
        .and_then(|p| p.risk_declaration_accepted_at.as_ref())
        .map(format::datetime);
    let form = form.unwrap_or_else(|| {
        stored
            .map(|p| InvestorForm {
                tax_id: p.tax_id.unwrap_or_default(),
                qualified: p.qualified,
                accept_risk_declaration: p.risk_declaration_accepted_at.is_some(),
                nominees: p
                    .nominees
                    .into_iter()
                    .map(|n| NomineeRow {
                        name: n.name,
                        relation: n.relation,
                        share_pct: n.share_pct.to_string(),
                    })
                    .collect(),
            })
            .unwrap_or_default()
    });
    let nominees = form
        .nominees
        .iter()
        .enumerate()
        .map(|(i, row)| NomineeView {
            name_field: format!("nominee_name_{i}"),
            relation_field: format!("nominee_relation_{i}"),
            share_field: format!("nominee_share_pct_{i}"),
            name: row.name.clone(),
            share_pct: row.share_pct.clone(),
            relations: choices(
                "Choose…",
                Kinship::ALL.iter().map(|k| (k.as_str(), k.label())),
                &row.relation,
            ),
            remove_action: format!("remove_nominee_{i}"),
        })
        .collect();
    Ok(ProfilePage {
        can_add_nominee: form.nominees.len() < MAX_NOMINEES,
        annual_limit: settings::load(&state.db)
            .await?
            .unqualified_annual_limit
            .to_string(),
        base,
        form,
        nominees,
        risk_accepted_at,
        errors,
    })
}

pub async fn form(
    base: BaseCtx,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, WebError> {
    page(&profile_page(&state, base, user.id, None, FieldErrors::new()).await?)
}

pub async fn submit(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    StrictForm(fields): StrictForm<BTreeMap<String, String>>,
) -> Result<HttpResponse, WebError> {
    let (mut form, action) = InvestorForm::from_fields(fields)?;
    match action {
        RowAction::Add(_) if form.nominees.len() < MAX_NOMINEES => {
            form.nominees.push(NomineeRow::default());
        }
        RowAction::Remove(_, i) if i < form.nominees.len() => {
            form.nominees.remove(i);
        }
        RowAction::Save => {
            let result = match form.parse() {
                Ok(profile) => {
                    investor::save_profile(
                        &state.db,
                        state.clock.as_ref(),
                        user.id,
                        &profile,
                        form.accept_risk_declaration,
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
                        "Your investor profile is saved.",
                    );
                    Ok(see_other("/investor/profile"))
                }
                Err(AppError::Validation(errors)) => {
                    let page_data = profile_page(&state, base, user.id, Some(form), errors).await?;
                    render(form_status(&page_data.errors), &page_data)
                }
                Err(other) => Err(other.into()),
            };
        }
        _ => {}
    }
    page(&profile_page(&state, base, user.id, Some(form), FieldErrors::new()).await?)
}
