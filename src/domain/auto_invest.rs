//! Auto-invest (DESIGN.md section 8): an investor's standing rules, which
//! listed loans each one matches and why it passes over the others, how much
//! it puts into a loan, and how a loan is shared among the rules that match
//! it.
//!
//! Sharing is fair and reproducible: the rule that has placed least so far
//! goes first, between equals the one served least recently, then the
//! oldest rule. Each rule puts at most its `max_per_loan` into a loan, so
//! between rules with the same criteria and cash what they have placed
//! never differs by more than one such ticket (giving the next piece to the
//! one with least keeps the spread under the largest piece).
//!
//! Every amount a rule puts in is an ordinary commitment: it passes the
//! same [`check_commitment`] as an investor's own, so a rule never goes
//! below the minimum ticket (except to take exactly the rest of a loan),
//! above what the loan still needs, above the wallet's available cash, or
//! beyond an unqualified investor's yearly limit; on top of those a rule
//! keeps its cash reserve in the wallet, stays within its exposure cap, and
//! never invests twice in one loan.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::{
    application::{Problem, Purpose},
    ids::{RuleId, UserId},
    investing::{CommitmentLimits, YearlyLimit, check_commitment},
    money::{Money, Rate},
    scoring::Grade,
};

/// An investor's standing rule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: RuleId,
    pub investor_id: UserId,
    pub active: bool,
    pub criteria: Criteria,
    /// Whether principal that comes back makes room under the exposure cap
    /// again; without it the cap is a budget for the rule's whole life.
    pub reinvest: bool,
    /// What the rule has put into loans in all.
    pub placed_total: Money,
    pub last_served: Option<u64>,
    pub created_at: DateTime<Utc>,
}

impl Rule {
    /// What the exposure cap is measured against: what is still
    /// outstanding of the rule's investments, or, for a rule that does not
    /// reinvest, everything it ever placed.
    #[must_use]
    pub fn exposure(&self, outstanding: Money) -> Money {
        if self.reinvest {
            outstanding
        } else {
            self.placed_total
        }
    }
}

/// What is wrong with a rule as an investor set it, field by field: the
/// amount per loan must reach the platform's minimum ticket, the loan
/// amount range must not be empty, a cap must allow at least one ticket,
/// and a rule that does not reinvest needs a cap (its whole budget).
#[must_use]
pub fn check_rule(criteria: &Criteria, reinvest: bool, min_ticket: Money) -> Vec<Problem> {
    let mut problems = Vec::new();
    if criteria.max_per_loan.minor() < min_ticket.minor() {
        problems.push(Problem::new(
            "max_per_loan",
            format!("Put at least the minimum ticket of {min_ticket} into each loan."),
        ));
    }
    if let (Some(min), Some(max)) = (criteria.min_loan_amount, criteria.max_loan_amount)
        && min.minor() > max.minor()
    {
        problems.push(Problem::new(
            "max_loan_amount",
            "The largest loan amount must not be below the smallest.",
        ));
    }
    match criteria.exposure_cap {
        Some(cap) if cap.minor() < criteria.max_per_loan.minor() => {
            problems.push(Problem::new(
                "exposure_cap",
                format!(
                    "The cap must allow at least one loan's amount ({}).",
                    criteria.max_per_loan
                ),
            ));
        }
        None if !reinvest => problems.push(Problem::new(
            "exposure_cap",
            "A rule that does not reinvest needs a cap: the most it may ever place.",
        )),
        _ => {}
    }
    problems
}

/// What a rule looks for and how much it may put in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criteria {
    /// The most put into any one loan.
    pub max_per_loan: Money,
    pub min_loan_amount: Option<Money>,
    pub max_loan_amount: Option<Money>,
    /// The grades accepted; empty accepts every grade.
    pub grades: Vec<Grade>,
    pub min_rate: Option<Rate>,
    pub max_term_months: Option<u32>,
    /// The purposes accepted; empty accepts every purpose.
    pub purposes: Vec<Purpose>,
    /// The most the rule may have placed in loans still outstanding.
    pub exposure_cap: Option<Money>,
    /// Cash the rule always leaves in the wallet.
    pub cash_reserve: Money,
}

/// A listed loan as rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    pub amount: Money,
    /// What it still needs (amount − funded).
    pub remaining: Money,
    pub grade: Option<Grade>,
    pub rate: Option<Rate>,
    pub term_months: u32,
    pub purpose: Purpose,
}

word_enum!(
    /// Why a rule passes over a loan: the word stored with the decision, and
    /// the reason as the rule's page says it.
    Skip {
        Off => "off", "the rule is switched off";
        Grade => "grade", "its grade is not one the rule accepts";
        Rate => "rate", "its rate is below the rule's minimum";
        Term => "term", "its term is longer than the rule allows";
        Purpose => "purpose", "its purpose is not one the rule accepts";
        LoanAmount => "loan_amount", "its amount is outside the rule's range";
        AlreadyIn => "already_in", "the rule has already invested in it";
        TicketBelowMinimum => "ticket_below_minimum", "the rule's amount per loan is below the platform's minimum ticket";
        NothingLeft => "nothing_left", "nothing was left to fund";
        CapReached => "cap_reached", "the rule's exposure cap was reached";
        NoCash => "no_cash", "the cash available above the rule's reserve was less than a ticket";
        YearlyLimit => "yearly_limit", "this year's limit for unqualified investors was reached";
        InvestorBlocked => "investor_blocked", "the identity check or the risk declaration was missing";
    }
);

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl Skip {
    /// Whether the skip depends on the loan alone (its terms against the
    /// rule's criteria): such a loan is one the rule does not look for,
    /// and nothing is recorded. The others depend on the moment (cash,
    /// cap, limits) and are kept for the rule's page.
    #[must_use]
    pub fn is_criterion(self) -> bool {
        matches!(
            self,
            Self::Off | Self::Grade | Self::Rate | Self::Term | Self::Purpose | Self::LoanAmount
        )
    }
}

/// Whether `loan` is one `criteria` look for.
///
/// # Errors
/// The first criterion the loan fails.
pub fn matches(criteria: &Criteria, loan: &Listed) -> Result<(), Skip> {
    if !criteria.grades.is_empty() && !loan.grade.is_some_and(|g| criteria.grades.contains(&g)) {
        return Err(Skip::Grade);
    }
    if let Some(min) = criteria.min_rate
        && loan.rate.is_none_or(|rate| rate.bps() < min.bps())
    {
        return Err(Skip::Rate);
    }
    if criteria
        .max_term_months
        .is_some_and(|max| loan.term_months > max)
    {
        return Err(Skip::Term);
    }
    if !criteria.purposes.is_empty() && !criteria.purposes.contains(&loan.purpose) {
        return Err(Skip::Purpose);
    }
    let amount = loan.amount.minor();
    if criteria
        .min_loan_amount
        .is_some_and(|min| amount < min.minor())
        || criteria
            .max_loan_amount
            .is_some_and(|max| amount > max.minor())
    {
        return Err(Skip::LoanAmount);
    }
    Ok(())
}

/// A rule's standing when a loan comes: what it has placed in loans still
/// outstanding, and whether it is in this loan already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub placed: Money,
    pub in_loan: bool,
}

/// An investor's money as rules may use it: their wallet's available cash
/// and, if unqualified, this year's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purse {
    pub available: Money,
    pub yearly: Option<YearlyLimit>,
}

/// How much a rule with `criteria` and `standing` puts into `loan` from
/// `purse`: its ticket, cut to what the loan needs, the cash above its
/// reserve, the room under its cap and the investor's yearly room; never a
/// commitment an investor could not make by hand.
///
/// # Errors
/// Why the rule passes over the loan.
pub fn amount(
    criteria: &Criteria,
    standing: Standing,
    purse: Purse,
    loan: &Listed,
    min_ticket: Money,
) -> Result<Money, Skip> {
    matches(criteria, loan)?;
    if standing.in_loan {
        return Err(Skip::AlreadyIn);
    }
    let currency = loan.remaining.currency();
    let free = purse.available.minor() - criteria.cash_reserve.minor();
    let cap_room = criteria
        .exposure_cap
        .map_or(i64::MAX, |cap| cap.minor() - standing.placed.minor());
    let yearly_room = purse.yearly.map_or(i64::MAX, |y| y.room().minor());
    // The binding limit names the reason when it leaves less than a ticket.
    let limits = [
        (loan.remaining.minor(), Skip::NothingLeft),
        (cap_room, Skip::CapReached),
        (yearly_room, Skip::YearlyLimit),
        (free, Skip::NoCash),
    ];
    let (bound, binding) = limits
        .iter()
        .copied()
        .min_by_key(|(limit, _)| *limit)
        .unwrap_or((0, Skip::NothingLeft));
    let minor = bound.min(criteria.max_per_loan.minor());
    let candidate = Money::from_minor(minor.max(0), currency).map_err(|_| binding)?;
    let checked = check_commitment(
        candidate,
        &CommitmentLimits {
            min_ticket,
            remaining: loan.remaining,
            available: purse.available,
            yearly: purse.yearly,
        },
    );
    match checked {
        Ok(()) => Ok(candidate),
        Err(_) if loan.remaining.minor() <= 0 => Err(Skip::NothingLeft),
        Err(_) if criteria.max_per_loan.minor() < bound => Err(Skip::TicketBelowMinimum),
        Err(_) => Err(binding),
    }
}

/// A rule competing for a loan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<R, I> {
    pub rule: R,
    pub investor: I,
    pub active: bool,
    pub criteria: Criteria,
    pub standing: Standing,
    /// What the rule has placed in all, for fairness.
    pub placed_ever: Money,
    /// When it was last served, as a sequence number (`None`: never).
    pub last_served: Option<u64>,
}

/// How a loan was shared: the amount each rule served put in, in the order
/// served, and why each other rule passed over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation<R> {
    pub placed: Vec<(R, Money)>,
    pub skipped: Vec<(R, Skip)>,
}

/// Shares `loan` among `candidates`, each investor's rules drawing on one
/// `purses` entry, fairest first (see the module's note), until nothing is
/// left. `purses` ends as the allocation leaves them.
#[must_use]
pub fn allocate<R: Clone + Ord, I: Clone + Ord>(
    loan: &Listed,
    mut candidates: Vec<Candidate<R, I>>,
    purses: &mut BTreeMap<I, Purse>,
    min_ticket: Money,
) -> Allocation<R> {
    candidates.sort_by(|a, b| {
        a.placed_ever
            .minor()
            .cmp(&b.placed_ever.minor())
            .then(a.last_served.cmp(&b.last_served))
            .then_with(|| a.rule.cmp(&b.rule))
    });
    let mut left = *loan;
    let mut placed = Vec::new();
    let mut skipped = Vec::new();
    for candidate in candidates {
        if !candidate.active {
            skipped.push((candidate.rule, Skip::Off));
            continue;
        }
        let Some(purse) = purses.get_mut(&candidate.investor) else {
            skipped.push((candidate.rule, Skip::NoCash));
            continue;
        };
        match amount(
            &candidate.criteria,
            candidate.standing,
            *purse,
            &left,
            min_ticket,
        ) {
            Ok(put) => {
                let spend = |m: Money| Money::from_minor(m.minor() - put.minor(), m.currency());
                if let (Ok(available), Ok(remaining)) =
                    (spend(purse.available), spend(left.remaining))
                {
                    purse.available = available;
                    if let Some(yearly) = purse.yearly.as_mut()
                        && let Ok(used) = yearly.used.checked_add(put)
                    {
                        yearly.used = used;
                    }
                    left.remaining = remaining;
                    placed.push((candidate.rule, put));
                }
            }
            Err(skip) => skipped.push((candidate.rule, skip)),
        }
    }
    Allocation { placed, skipped }
}

/// What a rule would have done with a run of listed loans: how many it
/// looks for, how much it would put in (in all and by grade), why it would
/// pass over the others it looks for, and the cash left idle afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    pub loans: u32,
    pub matched: u32,
    pub invested_in: u32,
    pub invested: Money,
    /// Each grade the rule would invest in: loans and amount, A first.
    pub by_grade: Vec<(Grade, u32, Money)>,
    /// Loans it looks for but would pass over, by reason.
    pub passed_over: Vec<(Skip, u32)>,
    /// The cash that would stay in the wallet, uninvested.
    pub idle: Money,
}

/// Runs a rule with `criteria` over `loans` in order, as if each came to
/// it with the rule's money as `purse` and `placed` holds now: each amount
/// is taken from the purse and added to what the rule has placed before
/// the next loan comes.
#[must_use]
pub fn simulate(
    criteria: &Criteria,
    placed: Money,
    mut purse: Purse,
    loans: &[Listed],
    min_ticket: Money,
) -> Simulation {
    let currency = purse.available.currency();
    let mut by_grade: BTreeMap<Grade, (u32, i64)> = BTreeMap::new();
    let mut passed_over: BTreeMap<&'static str, (Skip, u32)> = BTreeMap::new();
    let (mut matched, mut invested_in, mut invested, mut placed) = (0, 0, 0_i64, placed.minor());
    for loan in loans {
        let standing = Standing {
            placed: Money::from_minor(placed, currency).unwrap_or(Money::zero(currency)),
            in_loan: false,
        };
        match amount(criteria, standing, purse, loan, min_ticket) {
            Ok(put) => {
                matched += 1;
                invested_in += 1;
                invested += put.minor();
                placed += put.minor();
                purse.available =
                    Money::from_minor(purse.available.minor() - put.minor(), currency)
                        .unwrap_or(Money::zero(currency));
                if let Some(yearly) = purse.yearly.as_mut()
                    && let Ok(used) = yearly.used.checked_add(put)
                {
                    yearly.used = used;
                }
                if let Some(grade) = loan.grade {
                    let entry = by_grade.entry(grade).or_default();
                    entry.0 += 1;
                    entry.1 += put.minor();
                }
            }
            Err(skip) if skip.is_criterion() => {}
            Err(skip) => {
                matched += 1;
                passed_over.entry(skip.as_str()).or_insert((skip, 0)).1 += 1;
            }
        }
    }
    let money = |minor: i64| Money::from_minor(minor, currency).unwrap_or(Money::zero(currency));
    Simulation {
        loans: u32::try_from(loans.len()).unwrap_or(u32::MAX),
        matched,
        invested_in,
        invested: money(invested),
        by_grade: by_grade
            .into_iter()
            .map(|(grade, (count, minor))| (grade, count, money(minor)))
            .collect(),
        passed_over: passed_over.into_values().collect(),
        idle: purse.available,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::money::Currency;

    fn rub(r: i64) -> Money {
        Money::from_minor(r * 100, Currency::Rub).unwrap()
    }

    fn open_criteria(max_per_loan: i64) -> Criteria {
        Criteria {
            max_per_loan: rub(max_per_loan),
            min_loan_amount: None,
            max_loan_amount: None,
            grades: Vec::new(),
            min_rate: None,
            max_term_months: None,
            purposes: Vec::new(),
            exposure_cap: None,
            cash_reserve: rub(0),
        }
    }

    fn loan(amount: i64, remaining: i64) -> Listed {
        Listed {
            amount: rub(amount),
            remaining: rub(remaining),
            grade: Some(Grade::B),
            rate: Some(Rate::from_bps(1_500).unwrap()),
            term_months: 12,
            purpose: Purpose::Car,
        }
    }

    /// A rule that has placed nothing yet.
    fn new_rule() -> Standing {
        Standing {
            placed: rub(0),
            in_loan: false,
        }
    }

    fn purse(available: i64) -> Purse {
        Purse {
            available: rub(available),
            yearly: None,
        }
    }

    #[test]
    fn each_criterion_passes_over_the_loans_it_excludes() {
        let base = open_criteria(5_000);
        let listed = loan(100_000, 100_000);
        let cases: Vec<(&str, Criteria, Result<(), Skip>)> = vec![
            ("open rule", base.clone(), Ok(())),
            (
                "grade accepted",
                Criteria {
                    grades: vec![Grade::A, Grade::B],
                    ..base.clone()
                },
                Ok(()),
            ),
            (
                "grade excluded",
                Criteria {
                    grades: vec![Grade::A],
                    ..base.clone()
                },
                Err(Skip::Grade),
            ),
            (
                "rate exactly the minimum",
                Criteria {
                    min_rate: Some(Rate::from_bps(1_500).unwrap()),
                    ..base.clone()
                },
                Ok(()),
            ),
            (
                "rate below the minimum",
                Criteria {
                    min_rate: Some(Rate::from_bps(1_501).unwrap()),
                    ..base.clone()
                },
                Err(Skip::Rate),
            ),
            (
                "term within",
                Criteria {
                    max_term_months: Some(12),
                    ..base.clone()
                },
                Ok(()),
            ),
            (
                "term too long",
                Criteria {
                    max_term_months: Some(11),
                    ..base.clone()
                },
                Err(Skip::Term),
            ),
            (
                "purpose excluded",
                Criteria {
                    purposes: vec![Purpose::Education],
                    ..base.clone()
                },
                Err(Skip::Purpose),
            ),
            (
                "loan too small",
                Criteria {
                    min_loan_amount: Some(rub(100_001)),
                    ..base.clone()
                },
                Err(Skip::LoanAmount),
            ),
            (
                "loan too large",
                Criteria {
                    max_loan_amount: Some(rub(99_999)),
                    ..base.clone()
                },
                Err(Skip::LoanAmount),
            ),
            (
                "range inclusive",
                Criteria {
                    min_loan_amount: Some(rub(100_000)),
                    max_loan_amount: Some(rub(100_000)),
                    ..base
                },
                Ok(()),
            ),
        ];
        for (name, criteria, expected) in cases {
            assert_eq!(matches(&criteria, &listed), expected, "{name}");
        }
    }

    /// A case's name, the rule, its standing, the investor's purse, the
    /// loan, and the amount expected.
    type AmountCase = (
        &'static str,
        Criteria,
        Standing,
        Purse,
        Listed,
        Result<Money, Skip>,
    );

    #[test]
    fn the_amount_is_the_ticket_cut_by_every_limit_and_never_below_the_minimum() {
        let min = rub(1_000);
        let listed = loan(100_000, 100_000);
        let criteria = open_criteria(5_000);
        let cases: Vec<AmountCase> = vec![
            (
                "a whole ticket",
                criteria.clone(),
                new_rule(),
                purse(50_000),
                listed,
                Ok(rub(5_000)),
            ),
            (
                "what the loan still needs",
                criteria.clone(),
                new_rule(),
                purse(50_000),
                loan(100_000, 3_000),
                Ok(rub(3_000)),
            ),
            (
                "the last piece below the minimum, taken whole",
                criteria.clone(),
                new_rule(),
                purse(50_000),
                loan(100_000, 400),
                Ok(rub(400)),
            ),
            (
                "the cash above the reserve",
                Criteria {
                    cash_reserve: rub(47_000),
                    ..criteria.clone()
                },
                new_rule(),
                purse(50_000),
                listed,
                Ok(rub(3_000)),
            ),
            (
                "less than a ticket above the reserve",
                Criteria {
                    cash_reserve: rub(49_500),
                    ..criteria.clone()
                },
                new_rule(),
                purse(50_000),
                listed,
                Err(Skip::NoCash),
            ),
            (
                "the room under the cap",
                Criteria {
                    exposure_cap: Some(rub(20_000)),
                    ..criteria.clone()
                },
                Standing {
                    placed: rub(18_000),
                    in_loan: false,
                },
                purse(50_000),
                listed,
                Ok(rub(2_000)),
            ),
            (
                "the cap reached",
                Criteria {
                    exposure_cap: Some(rub(20_000)),
                    ..criteria.clone()
                },
                Standing {
                    placed: rub(19_500),
                    in_loan: false,
                },
                purse(50_000),
                listed,
                Err(Skip::CapReached),
            ),
            (
                "the yearly limit's room",
                criteria.clone(),
                new_rule(),
                Purse {
                    available: rub(50_000),
                    yearly: Some(YearlyLimit {
                        limit: rub(600_000),
                        used: rub(598_500),
                    }),
                },
                listed,
                Ok(rub(1_500)),
            ),
            (
                "the yearly limit reached",
                criteria.clone(),
                new_rule(),
                Purse {
                    available: rub(50_000),
                    yearly: Some(YearlyLimit {
                        limit: rub(600_000),
                        used: rub(599_500),
                    }),
                },
                listed,
                Err(Skip::YearlyLimit),
            ),
            (
                "already in the loan",
                criteria.clone(),
                Standing {
                    placed: rub(0),
                    in_loan: true,
                },
                purse(50_000),
                listed,
                Err(Skip::AlreadyIn),
            ),
            (
                "nothing left",
                criteria.clone(),
                new_rule(),
                purse(50_000),
                loan(100_000, 0),
                Err(Skip::NothingLeft),
            ),
            (
                "a ticket below the platform's minimum",
                open_criteria(500),
                new_rule(),
                purse(50_000),
                listed,
                Err(Skip::TicketBelowMinimum),
            ),
            (
                "an empty wallet",
                criteria,
                new_rule(),
                purse(0),
                listed,
                Err(Skip::NoCash),
            ),
        ];
        for (name, criteria, standing, purse, listed, expected) in cases {
            assert_eq!(
                amount(&criteria, standing, purse, &listed, min),
                expected,
                "{name}"
            );
        }
    }

    fn equal_rules(count: u32, ticket: i64) -> Vec<Candidate<u32, u32>> {
        (0..count)
            .map(|n| Candidate {
                rule: n,
                investor: n,
                active: true,
                criteria: open_criteria(ticket),
                standing: new_rule(),
                placed_ever: rub(0),
                last_served: None,
            })
            .collect()
    }

    #[test]
    fn a_loan_is_funded_by_the_rules_served_least_and_an_off_rule_is_passed_over() {
        let mut rules = equal_rules(4, 5_000);
        rules[0].placed_ever = rub(5_000);
        rules[2].active = false;
        let mut purses: BTreeMap<u32, Purse> = (0..4).map(|n| (n, purse(100_000))).collect();
        let shared = allocate(&loan(9_000, 9_000), rules, &mut purses, rub(1_000));
        assert_eq!(shared.placed, vec![(1, rub(5_000)), (3, rub(4_000))]);
        assert!(shared.skipped.contains(&(2, Skip::Off)));
        assert!(shared.skipped.contains(&(0, Skip::NothingLeft)));
        assert_eq!(purses[&3].available, rub(96_000));
    }

    #[test]
    fn two_rules_of_one_investor_share_the_investor_s_cash() {
        let mut rules = equal_rules(2, 5_000);
        rules[1].investor = 0;
        let mut purses = BTreeMap::from([(0, purse(6_000))]);
        let shared = allocate(&loan(100_000, 100_000), rules, &mut purses, rub(1_000));
        assert_eq!(shared.placed, vec![(0, rub(5_000)), (1, rub(1_000))]);
        assert_eq!(purses[&0].available, rub(0));
    }

    #[test]
    fn a_rule_is_refused_with_a_message_for_each_field_it_gets_wrong() {
        let fine = open_criteria(5_000);
        assert!(check_rule(&fine, true, rub(1_000)).is_empty());
        let fields = |criteria: &Criteria, reinvest| -> Vec<String> {
            check_rule(criteria, reinvest, rub(1_000))
                .into_iter()
                .map(|p| p.field)
                .collect()
        };
        assert_eq!(fields(&open_criteria(999), true), ["max_per_loan"]);
        let empty_range = Criteria {
            min_loan_amount: Some(rub(50_000)),
            max_loan_amount: Some(rub(40_000)),
            ..fine.clone()
        };
        assert_eq!(fields(&empty_range, true), ["max_loan_amount"]);
        let small_cap = Criteria {
            exposure_cap: Some(rub(4_999)),
            ..fine.clone()
        };
        assert_eq!(fields(&small_cap, true), ["exposure_cap"]);
        assert_eq!(fields(&fine, false), ["exposure_cap"]);
        let budget = Criteria {
            exposure_cap: Some(rub(5_000)),
            ..fine
        };
        assert!(fields(&budget, false).is_empty());
    }

    #[test]
    fn a_simulation_invests_in_order_until_the_cash_above_the_reserve_runs_out() {
        let criteria = Criteria {
            grades: vec![Grade::B, Grade::C],
            cash_reserve: rub(2_000),
            ..open_criteria(5_000)
        };
        let graded = |grade, amount| Listed {
            grade: Some(grade),
            ..loan(amount, amount)
        };
        let loans = [
            graded(Grade::B, 100_000),
            graded(Grade::A, 100_000),
            graded(Grade::C, 3_000),
            graded(Grade::B, 50_000),
            graded(Grade::C, 50_000),
        ];
        let run = simulate(&criteria, rub(0), purse(12_500), &loans, rub(1_000));
        assert_eq!(run.loans, 5);
        // A is not looked for; B 5 000, C 3 000 (all it needs), B 2 500
        // (what is left above the reserve), then C finds no cash.
        assert_eq!(run.matched, 4);
        assert_eq!(run.invested_in, 3);
        assert_eq!(run.invested, rub(10_500));
        assert_eq!(
            run.by_grade,
            vec![(Grade::B, 2, rub(7_500)), (Grade::C, 1, rub(3_000))]
        );
        assert_eq!(run.passed_over, vec![(Skip::NoCash, 1)]);
        assert_eq!(run.idle, rub(2_000));
    }

    #[test]
    fn a_rule_that_does_not_reinvest_measures_its_cap_against_all_it_placed() {
        let rule = |reinvest| Rule {
            id: RuleId::new(),
            investor_id: UserId::new(),
            active: true,
            criteria: open_criteria(5_000),
            reinvest,
            placed_total: rub(40_000),
            last_served: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        assert_eq!(rule(true).exposure(rub(10_000)), rub(10_000));
        assert_eq!(rule(false).exposure(rub(10_000)), rub(40_000));
    }

    #[test]
    fn every_skip_has_a_stored_word_that_reads_back() {
        for skip in Skip::ALL {
            assert_eq!(Skip::parse(skip.as_str()), Some(*skip));
            assert!(!skip.to_string().is_empty());
        }
    }

    proptest! {
        /// Equal rules over many loans: what each has placed never differs
        /// by more than one ticket, and no loan gets more than it needs.
        #[test]
        fn equal_rules_stay_within_one_ticket_of_each_other(
            rules in 2u32..30,
            ticket in 1_000i64..20_000,
            loans in proptest::collection::vec(1_000i64..200_000, 1..60),
        ) {
            let mut candidates = equal_rules(rules, ticket);
            let mut purses: BTreeMap<u32, Purse> =
                (0..rules).map(|n| (n, purse(100_000_000))).collect();
            for (served, amount) in (0u64..).zip(&loans) {
                let listed = loan(*amount, *amount);
                let shared = allocate(&listed, candidates.clone(), &mut purses, rub(1_000));
                let total: i64 = shared.placed.iter().map(|(_, m)| m.minor()).sum();
                prop_assert!(total <= listed.remaining.minor());
                for (rule, put) in shared.placed {
                    let candidate = &mut candidates[rule as usize];
                    candidate.placed_ever = candidate.placed_ever.checked_add(put).unwrap();
                    candidate.last_served = Some(served);
                }
                let placed: Vec<i64> = candidates.iter().map(|c| c.placed_ever.minor()).collect();
                let spread = placed.iter().max().unwrap() - placed.iter().min().unwrap();
                prop_assert!(spread <= rub(ticket).minor(), "spread {spread} over {placed:?}");
            }
        }
    }
}
