//! `crowdlend verify`: every money invariant of DESIGN.md section 6 as a query
//! that returns the rows breaking it, and the hash chain recomputed entry by
//! entry. Read-only; safe to run at any time, on a live database.

use std::{collections::HashMap, fmt};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, JoinType, QueryFilter,
    QueryOrder, QuerySelect, RelationTrait, Statement,
};
use uuid::Uuid;

use crate::{
    db::entities::{ledger_entries, ledger_head, wallet_transactions},
    domain::{investment::InvestmentStatus, offers::OfferStatus, wallet::WalletKind},
    error::AppError,
    ledger::{HashInput, entry_hash},
};

/// One invariant and what breaks it (empty when it holds).
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub violations: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub checks: Vec<Check>,
    pub entries: i64,
}

impl Report {
    #[must_use]
    pub fn holds(&self) -> bool {
        self.checks.iter().all(|check| check.violations.is_empty())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            let mark = if check.violations.is_empty() {
                "ok  "
            } else {
                "FAIL"
            };
            writeln!(f, "{mark} {}", check.name)?;
            for violation in check.violations.iter().take(20) {
                writeln!(f, "       {violation}")?;
            }
            if check.violations.len() > 20 {
                writeln!(f, "       … and {} more", check.violations.len() - 20)?;
            }
        }
        let verdict = if self.holds() {
            "every invariant holds"
        } else {
            "VIOLATIONS FOUND"
        };
        write!(f, "{} ledger entries checked: {verdict}", self.entries)
    }
}

/// `'a', 'b'`: stored words for an SQL `IN` list. Only the platform's own
/// words (enum constants) ever go through this, never input.
fn sql_words(words: &[&'static str]) -> String {
    words
        .iter()
        .map(|word| format!("'{word}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Invariants as SQL returning one text column per violating row; the same
/// text works on SQLite and PostgreSQL. Written directly against the tables
/// (not through the repositories), so the check does not trust the code it
/// checks; the stored words come from the domain's enums.
fn queries() -> Vec<(&'static str, String)> {
    let user = sql_words(&[WalletKind::User.as_str()]);
    let open = sql_words(&[InvestmentStatus::Pending.as_str()]);
    let offered = format!(
        "(SELECT COALESCE(SUM(o.amount), 0) FROM offers o WHERE o.lender_id = w.user_id \
         AND o.currency = w.currency AND o.status = '{}')",
        OfferStatus::Pending.as_str()
    );
    let live = sql_words(&InvestmentStatus::words(&InvestmentStatus::LIVE));
    vec![
        (
            "each entry's postings sum to zero",
            "SELECT 'entry seq ' || e.seq || ' sums to ' || SUM(t.amount) FROM ledger_entries e \
             JOIN wallet_transactions t ON t.entry_id = e.id GROUP BY e.id, e.seq HAVING SUM(t.amount) <> 0"
                .to_owned(),
        ),
        (
            "each entry has at least two postings",
            "SELECT 'entry seq ' || e.seq || ' has ' || COUNT(t.id) || ' posting(s)' FROM ledger_entries e \
             LEFT JOIN wallet_transactions t ON t.entry_id = e.id GROUP BY e.id, e.seq HAVING COUNT(t.id) < 2"
                .to_owned(),
        ),
        (
            "each posting carries its entry's sequence",
            "SELECT 'entry seq ' || e.seq || ' has a posting carrying seq ' || t.seq \
             FROM wallet_transactions t JOIN ledger_entries e ON e.id = t.entry_id WHERE t.seq <> e.seq"
                .to_owned(),
        ),
        (
            "each wallet's balance equals the sum of its postings",
            "SELECT w.kind || ' wallet ' || w.currency || ' balance ' || w.balance || ' but postings sum to ' \
             || COALESCE(SUM(t.amount), 0) FROM wallets w LEFT JOIN wallet_transactions t ON t.wallet_id = w.id \
             GROUP BY w.id, w.kind, w.currency, w.balance HAVING w.balance <> COALESCE(SUM(t.amount), 0)"
                .to_owned(),
        ),
        (
            "each wallet's posting count equals its postings",
            "SELECT w.kind || ' wallet ' || w.currency || ' counts ' || w.posting_count || ' postings but has ' \
             || COUNT(t.id) FROM wallets w LEFT JOIN wallet_transactions t ON t.wallet_id = w.id \
             GROUP BY w.id, w.kind, w.currency, w.posting_count HAVING w.posting_count <> COUNT(t.id)"
                .to_owned(),
        ),
        (
            "user balances are never negative and 0 <= reserved <= balance",
            format!(
                "SELECT 'user wallet ' || w.currency || ': balance ' || w.balance || ', reserved ' || w.reserved \
                 FROM wallets w WHERE w.kind IN ({user}) AND (w.balance < 0 OR w.reserved < 0 OR w.reserved > w.balance)"
            ),
        ),
        (
            "reserved equals the sum of open commitments and pending offers",
            format!(
                "SELECT 'user wallet ' || w.currency || ': reserved ' || w.reserved || ' but open commitments ' \
                 || COALESCE(SUM(i.amount), 0) || ' and pending offers ' || {offered} \
                 FROM wallets w LEFT JOIN investments i ON i.investor_id = w.user_id \
                 AND i.status IN ({open}) WHERE w.kind IN ({user}) GROUP BY w.id, w.user_id, w.currency, w.reserved \
                 HAVING w.reserved <> COALESCE(SUM(i.amount), 0) + {offered}"
            ),
        ),
        (
            "a loan's funded amount equals its live investments and never exceeds its amount",
            format!(
                "SELECT 'loan amount ' || l.amount || ', funded ' || l.funded_amount || ', investments ' \
                 || COALESCE(SUM(i.amount), 0) FROM loan_requests l LEFT JOIN investments i ON i.loan_id = l.id \
                 AND i.status IN ({live}) GROUP BY l.id, l.amount, l.funded_amount \
                 HAVING l.funded_amount <> COALESCE(SUM(i.amount), 0) OR l.funded_amount > l.amount"
            ),
        ),
        (
            "repaid principal never exceeds the loan amount",
            "SELECT 'loan amount ' || l.amount || ', principal repaid ' || SUM(s.paid_principal) \
             FROM loan_requests l JOIN repayment_schedule s ON s.loan_id = l.id GROUP BY l.id, l.amount \
             HAVING SUM(s.paid_principal) > l.amount"
                .to_owned(),
        ),
        (
            "each payment's distributions add up to its principal, interest, penalty and fee",
            "SELECT 'payment ' || p.id || ' of ' || p.amount || ': distributions differ' FROM loan_payments p \
             LEFT JOIN (SELECT payment_id, SUM(principal) AS principal, SUM(interest) AS interest, \
             SUM(penalty) AS penalty, SUM(fee) AS fee FROM distributions GROUP BY payment_id) d \
             ON d.payment_id = p.id WHERE COALESCE(d.principal, 0) <> p.principal + p.prepaid_principal \
             OR COALESCE(d.interest, 0) <> p.interest OR COALESCE(d.penalty, 0) <> p.penalty \
             OR COALESCE(d.fee, 0) <> p.fee"
                .to_owned(),
        ),
        (
            "each payment's ledger entry takes its amount from the payer",
            "SELECT 'payment ' || p.id || ' of ' || p.amount || ' but its entry moved ' \
             || COALESCE(SUM(CASE WHEN t.amount > 0 THEN t.amount ELSE 0 END), 0) FROM loan_payments p \
             LEFT JOIN wallet_transactions t ON t.entry_id = p.entry_id GROUP BY p.id, p.amount \
             HAVING COALESCE(SUM(CASE WHEN t.amount > 0 THEN t.amount ELSE 0 END), 0) <> p.amount"
                .to_owned(),
        ),
        (
            "the reserve fund never gets back more than it paid for a stake",
            "SELECT 'investment ' || investment_id || ': covered ' \
             || SUM(CASE WHEN kind = 'covered' THEN amount ELSE 0 END) || ', repaid ' \
             || SUM(CASE WHEN kind = 'repaid' THEN amount ELSE 0 END) FROM reserve_fund_events \
             GROUP BY investment_id HAVING SUM(CASE WHEN kind = 'repaid' THEN amount ELSE 0 END) \
             > SUM(CASE WHEN kind = 'covered' THEN amount ELSE 0 END)"
                .to_owned(),
        ),
    ]
}

/// Runs every check.
///
/// # Errors
/// On database failure (a broken invariant is a finding, not an error).
pub async fn verify(db: &DatabaseConnection) -> Result<Report, AppError> {
    let backend = db.get_database_backend();
    let mut checks = Vec::new();
    for (name, sql) in queries() {
        let rows = db
            .query_all_raw(Statement::from_string(backend, sql))
            .await?;
        let violations = rows
            .iter()
            .map(|row| row.try_get_by_index::<String>(0))
            .collect::<Result<Vec<_>, _>>()?;
        checks.push(Check { name, violations });
    }
    let (chain, entries) = hash_chain(db).await?;
    checks.push(Check {
        name: "the hash chain and each posting's balance_after are intact",
        violations: chain,
    });
    Ok(Report { checks, entries })
}

/// Walks the journal in sequence order, a page at a time: sequence numbers
/// run 1, 2, 3…, each entry's `prev_hash` is the hash before it, each stored
/// hash matches its recomputed content, and each posting's `balance_after`
/// is its wallet's running total.
async fn hash_chain(db: &DatabaseConnection) -> Result<(Vec<String>, i64), DbErr> {
    const PAGE: u64 = 1000;
    let mut violations = Vec::new();
    let mut running: HashMap<Uuid, i64> = HashMap::new();
    let mut expected_seq = 1_i64;
    let mut prev_hash: Option<String> = None;
    loop {
        let entries = ledger_entries::Entity::find()
            .filter(ledger_entries::Column::Seq.gte(expected_seq))
            .order_by_asc(ledger_entries::Column::Seq)
            .limit(PAGE)
            .all(db)
            .await?;
        if entries.is_empty() {
            break;
        }
        let (first, last) = (entries[0].seq, entries[entries.len() - 1].seq);
        let mut postings: HashMap<Uuid, Vec<(Uuid, i64, i64)>> = HashMap::new();
        for posting in wallet_transactions::Entity::find()
            .join(
                JoinType::InnerJoin,
                wallet_transactions::Relation::Entry.def(),
            )
            .filter(ledger_entries::Column::Seq.between(first, last))
            .order_by_asc(wallet_transactions::Column::WalletId)
            .all(db)
            .await?
        {
            postings.entry(posting.entry_id).or_default().push((
                posting.wallet_id,
                posting.amount,
                posting.balance_after,
            ));
        }
        for entry in &entries {
            if entry.seq != expected_seq {
                violations.push(format!(
                    "entry seq {} found where {expected_seq} was expected",
                    entry.seq
                ));
            }
            expected_seq = entry.seq + 1;
            if entry.prev_hash != prev_hash {
                violations.push(format!(
                    "entry seq {}: prev_hash does not match the entry before",
                    entry.seq
                ));
            }
            let lines = postings.remove(&entry.id).unwrap_or_default();
            for (wallet, amount, balance_after) in &lines {
                let total = running.entry(*wallet).or_insert(0);
                *total += amount;
                if *total != *balance_after {
                    violations.push(format!(
                        "entry seq {}: balance_after {balance_after} but the running total is {total}",
                        entry.seq
                    ));
                    *total = *balance_after;
                }
            }
            let recomputed = entry_hash(&HashInput {
                prev_hash: entry.prev_hash.as_deref(),
                seq: entry.seq,
                id: entry.id,
                kind: &entry.kind,
                memo: &entry.memo,
                created_at: entry.created_at,
                postings: &lines,
            });
            if recomputed != entry.hash {
                violations.push(format!(
                    "entry seq {}: content does not match its hash",
                    entry.seq
                ));
            }
            prev_hash = Some(entry.hash.clone());
        }
    }
    let head = ledger_head::Entity::find_by_id(1).one(db).await?;
    let last_seq = expected_seq - 1;
    match head {
        Some(head) if head.seq == last_seq && head.last_hash == prev_hash => {}
        Some(head) => violations.push(format!(
            "the chain head says seq {} but the journal ends at {last_seq}",
            head.seq
        )),
        None => violations.push("the chain head row is missing".to_owned()),
    }
    Ok((violations, last_seq))
}
