//! Reading forms strictly: a field sent twice (`amount=1&amount=1000`) is a
//! 400, never "first one wins"; a field the form does not have is a 400 (no
//! mass assignment). The CSRF token has already been checked by middleware and
//! is dropped here. Validation problems are not errors but `FieldErrors`, shown
//! next to each field with status 422.

use std::{collections::HashSet, future::Future, pin::Pin, str::FromStr};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web::Bytes};
use serde::de::DeserializeOwned;
use validator::ValidationErrors;

use crate::{
    db::queries::Cursor,
    error::FieldErrors,
    web::{csrf, error::WebError},
};

/// A form body deserialized into `T` (use `#[serde(deny_unknown_fields)]` on `T`).
#[derive(Debug)]
pub struct StrictForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for StrictForm<T> {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = bytes
                .await
                .map_err(|_| WebError::BadRequest("The form could not be read.".into()))?;
            parse_form(&body).map(StrictForm)
        })
    }
}

/// Parses an urlencoded body with the rules above.
///
/// # Errors
/// `BadRequest` naming the repeated or unexpected field.
pub fn parse_form<T: DeserializeOwned>(body: &[u8]) -> Result<T, WebError> {
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in fields(body, &[])? {
        kept.append_pair(&key, &value);
    }
    serde_urlencoded::from_str(&kept.finish()).map_err(|err| {
        WebError::BadRequest(format!(
            "This form could not be read ({}). Reload the page and try again.",
            printable(&err.to_string())
        ))
    })
}

/// The fields of an urlencoded body (or query string) in order, the CSRF
/// token dropped: only the fields named in `repeatable` (a group of
/// checkboxes) may come more than once, and at most
/// [`MAX_REPEATS`] times.
///
/// # Errors
/// `BadRequest` naming a field sent more than once that may not be.
pub fn fields(body: &[u8], repeatable: &[&str]) -> Result<Vec<(String, String)>, WebError> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut repeats = 0;
    let mut out = Vec::new();
    for (key, value) in url::form_urlencoded::parse(body) {
        let again = !seen.insert(key.to_string());
        if again && (!repeatable.contains(&key.as_ref()) || repeats >= MAX_REPEATS) {
            return Err(WebError::BadRequest(format!(
                "The field \u{201c}{}\u{201d} was sent more than once.",
                printable(&key)
            )));
        }
        if again {
            repeats += 1;
        }
        if key != csrf::FIELD {
            out.push((key.into_owned(), value.into_owned()));
        }
    }
    Ok(out)
}

/// The most repeats a form's checkbox groups may send together.
pub const MAX_REPEATS: usize = 32;

fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(80).collect()
}

/// Turns `validator` errors into the form's field messages.
#[must_use]
pub fn field_errors(errors: &ValidationErrors) -> FieldErrors {
    let mut out = FieldErrors::new();
    for (field, field_errors) in errors.field_errors() {
        if let Some(first) = field_errors.first() {
            let message = first.message.as_ref().map_or_else(
                || "This value is not valid.".to_owned(),
                ToString::to_string,
            );
            out.add(field.to_string(), message);
        }
    }
    out
}

/// A checkbox is on when the browser sent it at all.
#[must_use]
pub fn checked(value: Option<&String>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

/// Which button sent a form with repeated rows (debts, assets, nominees):
/// its `action` field is `save`, `add_<group>` or `remove_<group>_<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowAction {
    Save,
    Add(&'static str),
    Remove(&'static str, usize),
}

impl RowAction {
    /// The action among `groups`' rows, or `None` for anything else.
    #[must_use]
    pub fn parse(word: &str, groups: &[&'static str]) -> Option<Self> {
        if word.is_empty() || word == "save" {
            return Some(Self::Save);
        }
        groups.iter().find_map(|group| {
            if word.strip_prefix("add_") == Some(*group) {
                return Some(Self::Add(group));
            }
            let index = word
                .strip_prefix("remove_")?
                .strip_prefix(*group)?
                .strip_prefix('_')?;
            Some(Self::Remove(group, index.parse().ok()?))
        })
    }
}

/// `<group>_<field>_<n>` as `(field, n)` when `field` is one of `fields` and
/// `n` is below `max_rows`.
#[must_use]
pub fn row_field<'a>(
    key: &str,
    group: &str,
    fields: &[&'a str],
    max_rows: usize,
) -> Option<(&'a str, usize)> {
    let rest = key.strip_prefix(group)?.strip_prefix('_')?;
    let (name, index) = rest.rsplit_once('_')?;
    let index: usize = index.parse().ok()?;
    let field = fields.iter().find(|f| **f == name)?;
    (index < max_rows).then_some((*field, index))
}

/// A form with no fields but the CSRF token.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// One option of a `<select>`, as `macros.html`'s `select` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// Where a list cut by key starts: after the `after` cursor of its "More →"
/// link, or at the top. A damaged `after`, or a `page` number (links from
/// before pages were cut by key) that is not a number, is an error on its
/// field, and the list starts at the top.
pub fn start_after<Id: FromStr>(
    after: &str,
    page: &str,
    errors: &mut FieldErrors,
) -> Option<Cursor<Id>> {
    const DAMAGED: &str = "This page link is damaged: start from the first page.";
    let page = page.trim();
    if !page.is_empty() && page.parse::<u64>().is_err() {
        errors.add("page", DAMAGED);
    }
    let after = after.trim();
    if after.is_empty() {
        return None;
    }
    Cursor::parse(after).or_else(|| {
        errors.add("after", DAMAGED);
        None
    })
}

/// The options `(value, label)` with `current` selected, after a first
/// empty option reading `prompt` when `prompt` is not empty.
#[must_use]
pub fn choices<'a>(
    prompt: &str,
    options: impl IntoIterator<Item = (&'a str, &'a str)>,
    current: &str,
) -> Vec<Choice> {
    let mut out = Vec::new();
    if !prompt.is_empty() {
        out.push(Choice {
            value: String::new(),
            label: prompt.to_owned(),
            selected: current.is_empty(),
        });
    }
    out.extend(options.into_iter().map(|(value, label)| Choice {
        value: value.to_owned(),
        label: label.to_owned(),
        selected: value == current,
    }));
    out
}

/// Adds the first message of each field `validator` refused to `errors`.
pub fn add_validation_errors(errors: &mut FieldErrors, validated: Result<(), ValidationErrors>) {
    if let Err(found) = validated {
        for (field, message) in field_errors(&found).iter() {
            errors.add(field, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Example {
        amount: String,
    }

    #[test]
    fn row_actions_and_fields_are_recognised_and_others_refused() {
        let groups = ["liability", "asset"];
        assert_eq!(RowAction::parse("save", &groups), Some(RowAction::Save));
        assert_eq!(
            RowAction::parse("add_asset", &groups),
            Some(RowAction::Add("asset"))
        );
        assert_eq!(
            RowAction::parse("remove_liability_2", &groups),
            Some(RowAction::Remove("liability", 2))
        );
        assert_eq!(RowAction::parse("remove_nominee_0", &groups), None);
        assert_eq!(RowAction::parse("delete_everything", &groups), None);
        let fields = ["kind", "monthly_payment"];
        assert_eq!(
            row_field("liability_monthly_payment_3", "liability", &fields, 20),
            Some(("monthly_payment", 3))
        );
        assert_eq!(
            row_field("liability_kind_x", "liability", &fields, 20),
            None
        );
        assert_eq!(
            row_field("liability_colour_1", "liability", &fields, 20),
            None
        );
        assert_eq!(
            row_field("liability_kind_20", "liability", &fields, 20),
            None
        );
        assert_eq!(row_field("asset_kind_0", "liability", &fields, 20), None);
    }

    #[test]
    fn a_repeated_field_is_refused() {
        let err = parse_form::<Example>(b"amount=1&amount=1000").unwrap_err();
        assert!(matches!(err, WebError::BadRequest(m) if m.contains("amount")));
    }

    #[test]
    fn unknown_fields_are_refused_and_the_csrf_token_is_dropped() {
        let ok: Example = parse_form(b"amount=5&csrf_token=abc").unwrap();
        assert_eq!(ok.amount, "5");
        assert!(parse_form::<Example>(b"amount=5&status=funded").is_err());
    }
}
