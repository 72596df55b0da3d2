//! The write side, one module per aggregate: load and lock rows and return
//! them as domain types, parsed once (a row that does not parse is an error
//! naming the row, never a silent default); persist changes with conditional
//! updates that check the rows affected. Everything takes the use case's
//! connection or transaction; nothing here opens one.

pub mod auto_invest;
pub mod documents;
pub mod installments;
pub mod investments;
pub mod listings;
pub mod loans;
pub mod offers;
pub mod penalties;
pub mod users;
pub mod wallets;

use sea_orm::{
    ColumnTrait, UpdateResult,
    sea_query::{Expr, ExprTrait},
};

use crate::error::AppError;

/// Rows per statement when many change at once: well under SQLite's limit
/// of bound parameters, and of expression depth for `CASE` and the guards.
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

/// The guard of a conditional update of rows read in a status:
/// `(id, status) IN ((…), …)`, each row with the status it was read in.
/// Written as `id IN (…) AND status = ?`, SQLite would pick the index on the
/// status and read every row in it (120 ms a statement with 120 000
/// scheduled installments).
pub(crate) fn read_in_status<C: ColumnTrait>(
    (id, status): (C, C),
    rows: impl IntoIterator<Item = (uuid::Uuid, &'static str)>,
) -> Expr {
    Expr::tuple([Expr::col(id), Expr::col(status)]).in_tuples(rows)
}

/// `Conflict` unless a conditional update moved exactly the `expected` rows
/// the use case read.
pub(crate) fn moved(result: &UpdateResult, expected: usize) -> Result<(), AppError> {
    if usize::try_from(result.rows_affected).ok() == Some(expected) {
        Ok(())
    } else {
        Err(AppError::Conflict)
    }
}

/// A stored value the domain refuses: the schema's checks should make it
/// impossible, so it is an unexpected error naming the row.
pub(crate) fn corrupt(table: &str, id: impl std::fmt::Display, what: &str) -> AppError {
    AppError::Unexpected(anyhow::anyhow!(
        "{table} {id}: the stored {what} does not parse"
    ))
}
