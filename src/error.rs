//! Use-case errors. Rule of thumb (crates.io's): a variant per outcome the user
//! must be told about differently; everything else is `Unexpected`, logged in
//! full and shown as a generic page with a request id.

use std::{collections::BTreeMap, fmt};

use sea_orm::{DbErr, SqlErr};

use crate::{
    domain::error::DomainError,
    ledger::{LedgerError, store::PostError},
};

/// Messages for form fields, keyed by the field's name in the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the first message per field: it names the most basic problem.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    #[must_use]
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    #[must_use]
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(field, message)| (field.as_str(), message.as_str()))
    }

    /// `Ok(())` when nothing was added, otherwise the errors.
    ///
    /// # Errors
    /// `AppError::Validation` with every collected message.
    pub fn into_result(self) -> Result<(), AppError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self))
        }
    }
}

#[derive(thiserror::Error)]
pub enum AppError {
    /// The input breaks a rule; the form is shown again with these messages.
    #[error("invalid input")]
    Validation(FieldErrors),
    /// A rule of the platform refuses the request (not about one field); the
    /// reason is typed, and the web says it in words.
    #[error("refused: {0}")]
    Domain(#[from] DomainError),
    /// What the request relied on changed at the same moment (another
    /// request won a race); trying again with fresh figures may work.
    #[error("changed meanwhile")]
    Conflict,
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// Anything else: logged with its cause, shown as a generic error page.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        error_chain_fmt(self, f)
    }
}

impl AppError {
    /// Something that should not happen (a broken invariant, an amount out
    /// of range): logged with its cause.
    pub fn unexpected(err: impl Into<anyhow::Error>) -> Self {
        Self::Unexpected(err.into())
    }
}

/// A deadlock or serialization failure PostgreSQL broke by aborting this
/// transaction: nothing was written, and trying again may work. Logged, so
/// a lock order that deadlocks is seen and fixed.
fn is_transient(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    let (DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause))) =
        err
    else {
        return false;
    };
    cause
        .as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if is_transient(&err) {
            tracing::warn!(error = %err, "a transaction was aborted to break a deadlock");
            return Self::Conflict;
        }
        Self::Unexpected(anyhow::Error::new(err))
    }
}

/// A posting or reservation that failed: not enough money where the use case
/// checked there was (under its locks) means something changed meanwhile;
/// anything else is unexpected and logged.
impl From<PostError> for AppError {
    fn from(err: PostError) -> Self {
        match err {
            PostError::Ledger(LedgerError::InsufficientFunds { .. }) => Self::Conflict,
            PostError::Ledger(err) => Self::Unexpected(err.into()),
            PostError::Db(err) => err.into(),
        }
    }
}

/// Whether a database error is a unique-constraint violation (same on SQLite and PostgreSQL).
#[must_use]
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Writes an error and every cause, one per line.
///
/// # Errors
/// When the formatter fails.
pub fn error_chain_fmt(err: &impl std::error::Error, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{err}")?;
    let mut current = err.source();
    while let Some(cause) = current {
        writeln!(f, "Caused by:\n\t{cause}")?;
        current = cause.source();
    }
    Ok(())
}
