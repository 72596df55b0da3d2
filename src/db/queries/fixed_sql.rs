//! The SQL text of a read whose shape does not depend on its values, built
//! once per database and bound to each call's values. Building a statement
//! with sea-query allocates and frees a tree of expressions and renders it
//! again on every call; for the signed-in pages that was a fifth of the
//! server's time per request (README, Performance).

use std::sync::OnceLock;

use sea_orm::{DbBackend, Statement, Value, sea_query::SelectStatement};

/// The SQL of one fixed-shape statement per database, and where each of its
/// parameters takes its value from among the call's inputs.
#[derive(Debug)]
pub struct FixedSql {
    sqlite: OnceLock<Built>,
    postgres: OnceLock<Built>,
}

#[derive(Debug)]
struct Built {
    sql: String,
    /// For each bind parameter (`?` or `$n`) in order, the index of the input it binds.
    inputs: Vec<usize>,
}

impl FixedSql {
    #[must_use]
    pub const fn new() -> Self {
        Self {
            sqlite: OnceLock::new(),
            postgres: OnceLock::new(),
        }
    }

    /// The statement `build` makes, for `backend`. `inputs` are every value
    /// `build` puts in the statement; `build` must make the same SQL for any
    /// inputs (no clause that comes and goes with a value).
    ///
    /// The first call builds the statement and records which input each
    /// parameter binds, by value; if two inputs are equal that cannot be
    /// told, so the text is kept only once a call's inputs are distinct (until
    /// then each call builds). An input order mistake can therefore never
    /// bind a value to the wrong parameter.
    pub fn statement(
        &self,
        backend: DbBackend,
        inputs: &[Value],
        build: impl FnOnce() -> SelectStatement,
    ) -> Statement {
        let slot = match backend {
            DbBackend::Sqlite => &self.sqlite,
            DbBackend::Postgres => &self.postgres,
            _ => return backend.build(&build()),
        };
        if let Some(built) = slot.get() {
            return Statement::from_sql_and_values(
                backend,
                built.sql.as_str(),
                built.inputs.iter().map(|&index| inputs[index].clone()),
            );
        }
        let statement = backend.build(&build());
        let values = statement.values.as_ref().map_or(&[][..], |v| &v.0[..]);
        match positions(values, inputs) {
            Ok(positions) => {
                let _ = slot.set(Built {
                    sql: statement.sql.clone(),
                    inputs: positions,
                });
            }
            Err(Unplaced::Ambiguous) => {}
            Err(Unplaced::NotAnInput(value)) => {
                // A caller that leaves out an input is never served from the
                // text: correct, but slow. Tests fail on it.
                debug_assert!(
                    inputs.contains(value),
                    "the statement binds {value:?}, which matches no input"
                );
                tracing::warn!(
                    ?value,
                    "a fixed-shape statement binds a value that is no input"
                );
            }
        }
        statement
    }

    /// Whether the text for `backend` is kept.
    #[cfg(test)]
    fn is_kept(&self, backend: DbBackend) -> bool {
        match backend {
            DbBackend::Sqlite => self.sqlite.get().is_some(),
            DbBackend::Postgres => self.postgres.get().is_some(),
            _ => false,
        }
    }
}

impl Default for FixedSql {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a parameter's input is not known.
enum Unplaced<'a> {
    /// Several inputs are equal to its value.
    Ambiguous,
    /// No input is.
    NotAnInput(&'a Value),
}

/// For each value, the index of the one input equal to it.
fn positions<'a>(values: &'a [Value], inputs: &[Value]) -> Result<Vec<usize>, Unplaced<'a>> {
    values
        .iter()
        .map(|value| {
            let mut equal = inputs
                .iter()
                .enumerate()
                .filter(|(_, input)| *input == value);
            match (equal.next(), equal.next()) {
                (Some((index, _)), None) => Ok(index),
                (Some(_), Some(_)) => Err(Unplaced::Ambiguous),
                (None, _) => Err(Unplaced::NotAnInput(value)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};

    use super::*;

    /// Inputs: the owner, the co-owner, the currency and the limit.
    fn select(inputs: &[Value; 4]) -> SelectStatement {
        let Value::BigUnsigned(Some(limit)) = inputs[3] else {
            panic!("the limit is a u64");
        };
        Query::select()
            .column(Alias::new("id"))
            .from(Alias::new("wallets"))
            .and_where(Expr::col(Alias::new("owner")).eq(inputs[0].clone()))
            .and_where(Expr::col(Alias::new("currency")).eq(inputs[2].clone()))
            .and_where(Expr::col(Alias::new("co_owner")).eq(inputs[1].clone()))
            .and_where(Expr::col(Alias::new("former_owner")).eq(inputs[0].clone()))
            .limit(limit)
            .to_owned()
    }

    fn inputs(owner: i64, co_owner: i64, currency: &str, limit: u64) -> [Value; 4] {
        [owner.into(), co_owner.into(), currency.into(), limit.into()]
    }

    #[test]
    fn kept_text_binds_each_call_s_values_where_a_fresh_build_would() {
        let fixed = FixedSql::new();
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            for inputs in [
                inputs(7, 70, "RUB", 20),
                inputs(8, 80, "EUR", 5),
                inputs(9, 90, "USD", 1),
            ] {
                let fresh = backend.build(&select(&inputs));
                let kept = fixed.statement(backend, &inputs, || select(&inputs));
                assert_eq!(kept.sql, fresh.sql);
                assert_eq!(kept.values, fresh.values);
            }
            assert!(fixed.is_kept(backend));
        }
    }

    #[test]
    fn equal_inputs_cannot_be_told_apart_so_the_text_waits_for_distinct_ones() {
        let fixed = FixedSql::new();
        let backend = DbBackend::Sqlite;
        let same = inputs(5, 5, "RUB", 20);
        let built = fixed.statement(backend, &same, || select(&same));
        assert_eq!(built.values, backend.build(&select(&same)).values);
        assert!(!fixed.is_kept(backend));

        let distinct = inputs(5, 6, "RUB", 20);
        fixed.statement(backend, &distinct, || select(&distinct));
        assert!(fixed.is_kept(backend));
        let later = inputs(6, 5, "EUR", 3);
        assert_eq!(
            fixed.statement(backend, &later, || select(&later)).values,
            backend.build(&select(&later)).values
        );
    }

    #[test]
    #[cfg_attr(debug_assertions, should_panic(expected = "matches no input"))]
    fn a_value_that_is_no_input_keeps_nothing() {
        let fixed = FixedSql::new();
        let all = inputs(6, 7, "RUB", 20);
        let missing_the_limit = &all[..3];
        fixed.statement(DbBackend::Postgres, missing_the_limit, || select(&all));
        assert!(!fixed.is_kept(DbBackend::Postgres));
    }
}
