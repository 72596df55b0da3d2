//! Auto-invest rules and their decisions: rules read as domain [`Rule`]s,
//! created off, switched by their owner; what each rule did with each loan
//! it looked for (an investment, or why it passed the loan over) recorded
//! once per rule and loan.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{CaseStatement, Expr, ExprTrait, OnConflict},
};

use super::{ROWS_PER_STATEMENT, corrupt, moved};
use crate::{
    db::{
        self,
        entities::{auto_invest_decisions as decisions, auto_invest_rules as rules, investments},
    },
    domain::{
        application::Purpose,
        auto_invest::{Criteria, Rule, Skip},
        ids::{InvestmentId, LoanId, RuleId, UserId},
        investment::InvestmentStatus,
        money::{Currency, Money, Rate},
        scoring::Grade,
    },
    error::AppError,
};

/// The domain's rule of a stored row.
///
/// # Errors
/// `Unexpected`, naming the rule, for a value the domain refuses.
pub fn parse(row: rules::Model) -> Result<Rule, AppError> {
    let bad = |what: &str| corrupt("auto-invest rule", row.id, what);
    let currency = Currency::parse(&row.currency).ok_or_else(|| bad("currency"))?;
    let money = |minor: i64, what: &str| Money::from_minor(minor, currency).map_err(|_| bad(what));
    let optional = |minor: Option<i64>, what: &str| minor.map(|m| money(m, what)).transpose();
    let words = |text: &str| -> Vec<String> {
        text.split(',')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let grades = words(&row.grades)
        .iter()
        .map(|w| Grade::parse(w).ok_or_else(|| bad("grades")))
        .collect::<Result<Vec<_>, _>>()?;
    let purposes = words(&row.purposes)
        .iter()
        .map(|w| Purpose::parse(w).ok_or_else(|| bad("purposes")))
        .collect::<Result<Vec<_>, _>>()?;
    let min_rate = row
        .min_rate
        .map(|bps| {
            u32::try_from(bps)
                .ok()
                .and_then(|bps| Rate::from_bps(bps).ok())
                .ok_or_else(|| bad("min_rate"))
        })
        .transpose()?;
    let max_term_months = row
        .max_term_months
        .map(|m| u32::try_from(m).map_err(|_| bad("max_term_months")))
        .transpose()?;
    Ok(Rule {
        id: RuleId::from_uuid(row.id),
        investor_id: UserId::from_uuid(row.investor_id),
        active: row.active,
        criteria: Criteria {
            max_per_loan: money(row.max_per_loan, "max_per_loan")?,
            min_loan_amount: optional(row.min_loan_amount, "min_loan_amount")?,
            max_loan_amount: optional(row.max_loan_amount, "max_loan_amount")?,
            grades,
            min_rate,
            max_term_months,
            purposes,
            exposure_cap: optional(row.exposure_cap, "exposure_cap")?,
            cash_reserve: money(row.cash_reserve, "cash_reserve")?,
        },
        reinvest: row.reinvest,
        placed_total: money(row.placed_total, "placed_total")?,
        last_served: row
            .last_served_seq
            .map(|seq| u64::try_from(seq).map_err(|_| bad("last_served_seq")))
            .transpose()?,
        created_at: row.created_at,
    })
}

fn parse_all(rows: Vec<rules::Model>) -> Result<Vec<Rule>, AppError> {
    rows.into_iter().map(parse).collect()
}

fn joined<T>(items: &[T], word: impl Fn(&T) -> &'static str) -> String {
    items.iter().map(word).collect::<Vec<_>>().join(",")
}

/// Stores a new rule as `rule` says (its id, owner and switch included).
///
/// # Errors
/// Database failures.
pub async fn insert(conn: &impl ConnectionTrait, rule: &Rule) -> Result<(), AppError> {
    let c = &rule.criteria;
    let minor = |m: Option<Money>| m.map(Money::minor);
    rules::ActiveModel {
        id: Set(rule.id.as_uuid()),
        investor_id: Set(rule.investor_id.as_uuid()),
        currency: Set(c.max_per_loan.currency().code().to_owned()),
        max_per_loan: Set(c.max_per_loan.minor()),
        min_loan_amount: Set(minor(c.min_loan_amount)),
        max_loan_amount: Set(minor(c.max_loan_amount)),
        grades: Set(joined(&c.grades, |g| g.as_str())),
        min_rate: Set(c
            .min_rate
            .map(|r| i32::try_from(r.bps()).unwrap_or(i32::MAX))),
        max_term_months: Set(c
            .max_term_months
            .map(|m| i32::try_from(m).unwrap_or(i32::MAX))),
        purposes: Set(joined(&c.purposes, |p| p.as_str())),
        exposure_cap: Set(minor(c.exposure_cap)),
        cash_reserve: Set(c.cash_reserve.minor()),
        reinvest: Set(rule.reinvest),
        active: Set(rule.active),
        placed_total: Set(0),
        last_served_seq: Set(None),
        created_at: Set(rule.created_at),
        updated_at: Set(rule.created_at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// `investor`'s rules, oldest first.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn of_investor(
    conn: &impl ConnectionTrait,
    investor: UserId,
) -> Result<Vec<Rule>, AppError> {
    let rows = rules::Entity::find()
        .filter(rules::Column::InvestorId.eq(investor))
        .order_by_asc(rules::Column::CreatedAt)
        .order_by_asc(rules::Column::Id)
        .all(conn)
        .await?;
    parse_all(rows)
}

/// One of `investor`'s rules; someone else's reads like one that does not
/// exist.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn owned_by(
    conn: &impl ConnectionTrait,
    investor: UserId,
    id: RuleId,
) -> Result<Option<Rule>, AppError> {
    rules::Entity::find_by_id(id.as_uuid())
        .filter(rules::Column::InvestorId.eq(investor))
        .one(conn)
        .await?
        .map(parse)
        .transpose()
}

/// Switches `investor`'s rule `id` on or off.
///
/// # Errors
/// `NotFound` for someone else's rule or none; database failures.
pub async fn switch(
    conn: &impl ConnectionTrait,
    investor: UserId,
    id: RuleId,
    on: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let result = rules::Entity::update_many()
        .col_expr(rules::Column::Active, Expr::value(on))
        .col_expr(rules::Column::UpdatedAt, Expr::value(now))
        .filter(rules::Column::Id.eq(id))
        .filter(rules::Column::InvestorId.eq(investor))
        .exec(conn)
        .await?;
    moved(&result, 1).map_err(|_| AppError::NotFound)
}

/// Every rule switched on for loans in `currency`, oldest first.
///
/// # Errors
/// Database failures; a row that does not parse.
pub async fn active_in(
    conn: &impl ConnectionTrait,
    currency: Currency,
) -> Result<Vec<Rule>, AppError> {
    let rows = rules::Entity::find()
        .filter(rules::Column::Active.eq(true))
        .filter(rules::Column::Currency.eq(currency.code()))
        .order_by_asc(rules::Column::CreatedAt)
        .order_by_asc(rules::Column::Id)
        .all(conn)
        .await?;
    parse_all(rows)
}

/// A live investment one of the rules made: awaiting payout, or paid out
/// and not yet ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleStake {
    pub rule: RuleId,
    pub investment: InvestmentId,
    pub loan: LoanId,
    /// Minor units, as invested.
    pub amount: i64,
}

/// The live investments each of `rules` made.
///
/// # Errors
/// Database failures.
pub async fn stakes(
    conn: &impl ConnectionTrait,
    rules: &[RuleId],
) -> Result<Vec<RuleStake>, AppError> {
    let mut stakes = Vec::new();
    for chunk in rules.chunks(db::ROWS_PER_INSERT) {
        let rows: Vec<(uuid::Uuid, uuid::Uuid, uuid::Uuid, i64)> = decisions::Entity::find()
            .select_only()
            .column(decisions::Column::RuleId)
            .column(investments::Column::Id)
            .column(investments::Column::LoanId)
            .column(investments::Column::Amount)
            .inner_join(investments::Entity)
            .filter(decisions::Column::RuleId.is_in(chunk.iter().copied()))
            .filter(investments::Column::Status.is_in(InvestmentStatus::words(&[
                InvestmentStatus::Pending,
                InvestmentStatus::Active,
            ])))
            .into_tuple()
            .all(conn)
            .await?;
        stakes.extend(
            rows.into_iter()
                .map(|(rule, investment, loan, amount)| RuleStake {
                    rule: RuleId::from_uuid(rule),
                    investment: InvestmentId::from_uuid(investment),
                    loan: LoanId::from_uuid(loan),
                    amount,
                }),
        );
    }
    Ok(stakes)
}

/// Which rules have invested in which of `loans` already.
///
/// # Errors
/// Database failures.
pub async fn invested_in(
    conn: &impl ConnectionTrait,
    loans: &[LoanId],
) -> Result<BTreeSet<(RuleId, LoanId)>, AppError> {
    let mut out = BTreeSet::new();
    for chunk in loans.chunks(db::ROWS_PER_INSERT) {
        let pairs: Vec<(uuid::Uuid, uuid::Uuid)> = decisions::Entity::find()
            .select_only()
            .column(decisions::Column::RuleId)
            .column(decisions::Column::LoanId)
            .filter(decisions::Column::LoanId.is_in(chunk.iter().copied()))
            .filter(decisions::Column::InvestmentId.is_not_null())
            .into_tuple()
            .all(conn)
            .await?;
        out.extend(
            pairs
                .into_iter()
                .map(|(rule, loan)| (RuleId::from_uuid(rule), LoanId::from_uuid(loan))),
        );
    }
    Ok(out)
}

/// Records what the rules did with `loan`: the investments they made
/// (replacing an earlier reason to pass it over; a rule that invested in
/// it already makes the insert fail, so nothing is invested twice), and
/// why others passed it over (replacing an earlier reason, never an
/// investment).
///
/// # Errors
/// A unique violation when a rule invested in `loan` already; database
/// failures.
pub async fn record(
    conn: &impl ConnectionTrait,
    loan: LoanId,
    placed: &[(RuleId, InvestmentId)],
    skipped: &[(RuleId, Skip)],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    for chunk in placed.chunks(ROWS_PER_STATEMENT) {
        decisions::Entity::delete_many()
            .filter(decisions::Column::LoanId.eq(loan))
            .filter(decisions::Column::RuleId.is_in(chunk.iter().map(|(rule, _)| *rule)))
            .filter(decisions::Column::InvestmentId.is_null())
            .exec(conn)
            .await?;
    }
    let row = |rule: RuleId, investment: Option<InvestmentId>, reason: Option<Skip>| {
        decisions::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            rule_id: Set(rule.as_uuid()),
            loan_id: Set(loan.as_uuid()),
            investment_id: Set(investment.map(|i| i.as_uuid())),
            reason: Set(reason.map(|r| r.as_str().to_owned())),
            decided_at: Set(now),
        }
    };
    db::insert_all(
        conn,
        placed
            .iter()
            .map(|(rule, investment)| row(*rule, Some(*investment), None))
            .collect(),
    )
    .await?;
    let mut upsert = OnConflict::columns([decisions::Column::RuleId, decisions::Column::LoanId]);
    upsert
        .update_columns([decisions::Column::Reason, decisions::Column::DecidedAt])
        .action_and_where(
            Expr::col((decisions::Entity, decisions::Column::InvestmentId)).is_null(),
        );
    for chunk in skipped.chunks(db::ROWS_PER_INSERT) {
        decisions::Entity::insert_many(
            chunk
                .iter()
                .map(|(rule, skip)| row(*rule, None, Some(*skip))),
        )
        .on_conflict(upsert.clone())
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

/// Adds what each rule of `placed` put in to its total and marks it served
/// in that order, from `first_seq` on.
///
/// # Errors
/// `Conflict` when a rule is gone; database failures.
pub async fn served(
    conn: &impl ConnectionTrait,
    placed: &[(RuleId, Money)],
    first_seq: u64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut seq = i64::try_from(first_seq).unwrap_or(i64::MAX);
    for chunk in placed.chunks(ROWS_PER_STATEMENT) {
        let mut amounts = CaseStatement::new();
        let mut seqs = CaseStatement::new();
        for (rule, amount) in chunk {
            amounts = amounts.case(rules::Column::Id.eq(*rule), Expr::value(amount.minor()));
            seqs = seqs.case(rules::Column::Id.eq(*rule), Expr::value(seq));
            seq = seq.saturating_add(1);
        }
        let added: Expr = amounts.finally(Expr::value(0_i64)).into();
        let result = rules::Entity::update_many()
            .col_expr(
                rules::Column::PlacedTotal,
                Expr::col(rules::Column::PlacedTotal).add(added),
            )
            .col_expr(
                rules::Column::LastServedSeq,
                seqs.finally(Expr::col(rules::Column::LastServedSeq)).into(),
            )
            .col_expr(rules::Column::UpdatedAt, Expr::value(now))
            .filter(rules::Column::Id.is_in(chunk.iter().map(|(rule, _)| *rule)))
            .exec(conn)
            .await?;
        moved(&result, chunk.len())?;
    }
    Ok(())
}

/// The sequence number the next rule served takes.
///
/// # Errors
/// Database failures.
pub async fn next_seq(conn: &impl ConnectionTrait) -> Result<u64, AppError> {
    let last: Option<Option<i64>> = rules::Entity::find()
        .select_only()
        .column_as(rules::Column::LastServedSeq.max(), "last")
        .into_tuple()
        .one(conn)
        .await?;
    Ok(last
        .flatten()
        .and_then(|seq| u64::try_from(seq).ok())
        .map_or(0, |seq| seq + 1))
}
