//! Reading forms strictly: a field sent twice (`amount=1&amount=1000`) is a
//! 400, never "first one wins"; a field the form does not have is a 400 (no
//! mass assignment). The CSRF token has already been checked by middleware and
//! is dropped here. Validation problems are not errors but `FieldErrors`, shown
//! next to each field with status 422.

use std::{collections::HashSet, future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web::Bytes};
use serde::de::DeserializeOwned;
use validator::ValidationErrors;

use crate::{
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
    let mut seen = HashSet::new();
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(body) {
        if !seen.insert(key.clone()) {
            return Err(WebError::BadRequest(format!(
                "The field \u{201c}{}\u{201d} was sent more than once.",
                printable(&key)
            )));
        }
        if key != csrf::FIELD {
            kept.append_pair(&key, &value);
        }
    }
    serde_urlencoded::from_str(&kept.finish()).map_err(|err| {
        WebError::BadRequest(format!(
            "This form could not be read ({}). Reload the page and try again.",
            printable(&err.to_string())
        ))
    })
}

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
