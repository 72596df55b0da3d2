//! The write side, one module per aggregate: load and lock rows and return
//! them as domain types, parsed once (a row that does not parse is an error
//! naming the row, never a silent default); persist changes with conditional
//! updates that check the rows affected. Everything takes the use case's
//! connection or transaction; nothing here opens one.

pub mod documents;
pub mod installments;
pub mod investments;
pub mod loans;
pub mod penalties;
pub mod users;
pub mod wallets;

use crate::error::AppError;

/// A stored value the domain refuses: the schema's checks should make it
/// impossible, so it is an unexpected error naming the row.
pub(crate) fn corrupt(table: &str, id: impl std::fmt::Display, what: &str) -> AppError {
    AppError::Unexpected(anyhow::anyhow!(
        "{table} {id}: the stored {what} does not parse"
    ))
}
