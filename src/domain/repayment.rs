//! Paying a loan back (DESIGN.md section 7): what a loan owes on a day, what
//! paying it off costs, and where a payment of a given amount goes.
//!
//! The allocation order is the design's: penalties, overdue interest,
//! overdue principal, current interest, current principal, then principal
//! paid ahead. Each step takes the oldest installment first. "Current" is
//! an installment that has fallen due and is not yet overdue.
//!
//! Which amounts a borrower may pay:
//! - anything up to what is owed now (penalties, overdue and due amounts);
//! - what is owed now plus the next installment in full (paying it early
//!   settles it, with its whole interest), and anything beyond that up to
//!   the payoff: the rest prepays principal, and the installments after the
//!   next are recomputed over the same term with a lower payment;
//! - exactly the payoff: what is owed now, the principal not yet due, and
//!   the interest of the current period accrued to the day (no penalty for
//!   paying early). Every installment is then paid.
//!
//! An amount between what is owed and that plus the next installment is
//! refused with both figures: a scheduled installment is never paid in part
//! (see `installment`), and prepaying principal without first settling the
//! installment in progress would leave that period's interest undefined.
//! Such an amount is also never needed: every larger payment is allowed.

use chrono::NaiveDate;

use crate::domain::{
    accrual,
    ids::InstallmentId,
    installment::{self, Installment, InstallmentEvent, InstallmentStatus},
    money::{Currency, Money, MoneyError},
    schedule::{self, LoanTerms, ScheduleError},
};

/// What a loan owes on a day, in the allocation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owed {
    pub penalties: Money,
    pub overdue_interest: Money,
    pub overdue_principal: Money,
    pub current_interest: Money,
    pub current_principal: Money,
}

impl Owed {
    /// Everything owed now.
    ///
    /// # Errors
    /// `TooLarge` beyond what [`Money`] holds.
    pub fn total(&self) -> Result<Money, MoneyError> {
        self.penalties
            .checked_add(self.overdue_interest)?
            .checked_add(self.overdue_principal)?
            .checked_add(self.current_interest)?
            .checked_add(self.current_principal)
    }
}

/// What the borrower can pay on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub owed: Owed,
    /// The first installment not yet due, in full (none when every one has
    /// fallen due).
    pub next_installment: Option<Money>,
    /// Principal of the installments not yet due.
    pub principal_not_due: Money,
    /// Interest of the current period accrued to the day, on that principal.
    pub accrued_interest: Money,
    /// Everything, to close the loan today.
    pub payoff: Money,
}

impl Quote {
    /// The smallest payment that settles the next installment along with
    /// what is owed (or the payoff, when that is less).
    ///
    /// # Errors
    /// `TooLarge` beyond what [`Money`] holds.
    pub fn through_next_installment(&self) -> Result<Money, MoneyError> {
        let owed = self.owed.total()?;
        Ok(match self.next_installment {
            Some(next) => owed.checked_add(next)?.min_by_minor(self.payoff),
            None => self.payoff,
        })
    }
}

/// How a payment splits, by the allocation order's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub penalties: Money,
    pub overdue_interest: Money,
    pub overdue_principal: Money,
    pub current_interest: Money,
    pub current_principal: Money,
    /// Principal of installments not yet due (ahead of time).
    pub prepayment: Money,
}

impl Parts {
    fn zero(currency: Currency) -> Self {
        let zero = Money::zero(currency);
        Self {
            penalties: zero,
            overdue_interest: zero,
            overdue_principal: zero,
            current_interest: zero,
            current_principal: zero,
            prepayment: zero,
        }
    }

    /// Interest of every step.
    ///
    /// # Errors
    /// `TooLarge` beyond what [`Money`] holds.
    pub fn interest(&self) -> Result<Money, MoneyError> {
        self.overdue_interest.checked_add(self.current_interest)
    }

    /// Principal of every step, the prepayment included.
    ///
    /// # Errors
    /// `TooLarge` beyond what [`Money`] holds.
    pub fn principal(&self) -> Result<Money, MoneyError> {
        self.overdue_principal
            .checked_add(self.current_principal)?
            .checked_add(self.prepayment)
    }
}

/// What a payment does to one installment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallmentChange {
    pub id: InstallmentId,
    pub number: u32,
    /// The status it had (the conditional update's guard).
    pub from: InstallmentStatus,
    pub event: InstallmentEvent,
    pub penalty_paid: Money,
    pub interest_paid: Money,
    pub principal_paid: Money,
    /// Its amounts replaced (a prepayment's recomputed schedule, or a
    /// payoff charging only the interest accrued).
    pub new_principal: Option<Money>,
    pub new_interest: Option<Money>,
}

impl InstallmentChange {
    /// `row` as this change leaves it: its amounts replaced where the
    /// allocation recomputed them, what was paid added, moved by the event.
    ///
    /// # Errors
    /// `Inconsistent` for a change of another installment, from another
    /// status, or a move the status machine refuses; `TooLarge` sums.
    pub fn apply_to(&self, row: &mut Installment) -> Result<(), PaymentError> {
        if row.id != self.id || row.status != self.from {
            return Err(PaymentError::Inconsistent(
                "a change of another installment",
            ));
        }
        row.status = installment::installment_transition(self.from, self.event)
            .map_err(|_| PaymentError::Inconsistent("a move the installment refuses"))?;
        row.principal = self.new_principal.unwrap_or(row.principal);
        row.interest = self.new_interest.unwrap_or(row.interest);
        row.paid_principal = row.paid_principal.checked_add(self.principal_paid)?;
        row.paid_interest = row.paid_interest.checked_add(self.interest_paid)?;
        row.penalty_paid = row.penalty_paid.checked_add(self.penalty_paid)?;
        Ok(())
    }
}

/// Whether a payment closes the loan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentKind {
    Payment,
    Payoff,
}

/// Where a payment goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub amount: Money,
    pub kind: PaymentKind,
    pub parts: Parts,
    /// Every installment the payment touches, by number.
    pub changes: Vec<InstallmentChange>,
    /// Whether installments were recomputed or rewritten (the old schedule
    /// is kept as a version).
    pub reschedules: bool,
}

impl Allocation {
    /// Whether every installment ends up paid.
    #[must_use]
    pub fn settles_loan(&self, installments: &[Installment]) -> bool {
        installments.iter().all(|row| {
            row.status == InstallmentStatus::Paid
                || self
                    .changes
                    .iter()
                    .any(|c| c.id == row.id && c.event == InstallmentEvent::PayInFull)
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("Enter an amount more than zero.")]
    NotPositive,
    #[error("Nothing is owed on this loan.")]
    NothingOwed,
    #[error("That is more than the loan's payoff today, {payoff}.")]
    MoreThanPayoff { payoff: Money },
    #[error(
        "Pay up to {owed} (what is owed now), or at least {through_next} to settle the next installment too."
    )]
    BetweenInstallments { owed: Money, through_next: Money },
    #[error("The amount is in {got}; this loan is in {expected}.")]
    WrongCurrency { got: Currency, expected: Currency },
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error("The schedule is inconsistent: {0}")]
    Inconsistent(&'static str),
}

impl From<accrual::AccrualError> for PaymentError {
    fn from(err: accrual::AccrualError) -> Self {
        match err {
            accrual::AccrualError::Money(err) => Self::Money(err),
            accrual::AccrualError::EmptyPeriod => Self::Inconsistent("an empty period"),
        }
    }
}

trait MinorOps {
    fn min_by_minor(self, other: Self) -> Self;
}

impl MinorOps for Money {
    fn min_by_minor(self, other: Self) -> Self {
        if other.minor() < self.minor() {
            other
        } else {
            self
        }
    }
}

fn unpaid_interest(row: &Installment) -> Result<Money, MoneyError> {
    row.interest.checked_sub(row.paid_interest)
}

fn unpaid_principal(row: &Installment) -> Result<Money, MoneyError> {
    row.principal.checked_sub(row.paid_principal)
}

fn unpaid_penalty(row: &Installment) -> Result<Money, MoneyError> {
    row.penalty_accrued.checked_sub(row.penalty_paid)
}

/// What principal and interest remain unpaid on an installment (the base
/// penalty interest runs on).
///
/// # Errors
/// `TooLarge` beyond what [`Money`] holds.
pub fn overdue_base(row: &Installment) -> Result<Money, MoneyError> {
    unpaid_interest(row)?.checked_add(unpaid_principal(row)?)
}

fn is_current(status: InstallmentStatus) -> bool {
    matches!(
        status,
        InstallmentStatus::Due | InstallmentStatus::PartiallyPaid
    )
}

/// What the loan of `installments` (its whole schedule) owes on `today`,
/// and its payoff. `terms` are the loan's (its rate and schedule start).
///
/// # Errors
/// On amounts beyond what [`Money`] holds, or a schedule whose dates do not
/// follow from `terms`.
pub fn quote(
    installments: &[Installment],
    terms: &LoanTerms,
    today: NaiveDate,
) -> Result<Quote, PaymentError> {
    let currency = terms.principal.currency();
    let zero = Money::zero(currency);
    let mut owed = Owed {
        penalties: zero,
        overdue_interest: zero,
        overdue_principal: zero,
        current_interest: zero,
        current_principal: zero,
    };
    let mut principal_not_due = zero;
    let mut next: Option<&Installment> = None;
    for row in installments {
        if !InstallmentStatus::UNPAID.contains(&row.status) {
            continue;
        }
        owed.penalties = owed.penalties.checked_add(unpaid_penalty(row)?)?;
        match row.status {
            InstallmentStatus::Overdue => {
                owed.overdue_interest = owed.overdue_interest.checked_add(unpaid_interest(row)?)?;
                owed.overdue_principal =
                    owed.overdue_principal.checked_add(unpaid_principal(row)?)?;
            }
            status if is_current(status) => {
                owed.current_interest = owed.current_interest.checked_add(unpaid_interest(row)?)?;
                owed.current_principal =
                    owed.current_principal.checked_add(unpaid_principal(row)?)?;
            }
            _ => {
                principal_not_due = principal_not_due.checked_add(row.principal)?;
                if next.is_none() {
                    next = Some(row);
                }
            }
        }
    }
    let accrued_interest = match next {
        Some(row) => {
            let period_start = schedule::due_date(terms.start, row.number - 1)?;
            accrual::interest_to_day(
                principal_not_due,
                terms.rate,
                period_start,
                row.due_date,
                today,
            )?
            .min_by_minor(row.interest)
        }
        None => zero,
    };
    let payoff = owed
        .total()?
        .checked_add(principal_not_due)?
        .checked_add(accrued_interest)?;
    Ok(Quote {
        owed,
        next_installment: next.map(Installment::total).transpose()?,
        principal_not_due,
        accrued_interest,
        payoff,
    })
}

word_enum!(
    /// How an amount came in for a loan; stored in `loan_payments.kind`.
    LoanPaymentKind {
        Payment => "payment", "Payment";
        Payoff => "payoff", "Early payoff";
        Collection => "collection", "Taken from the wallet on the due date";
        Recovery => "recovery", "Recovery after the default";
    }
);

/// A running allocation: the amount left and the changes so far.
struct Pot {
    left: i64,
    changes: Vec<InstallmentChange>,
    parts: Parts,
}

impl Pot {
    fn change(&mut self, row: &Installment) -> &mut InstallmentChange {
        if let Some(index) = self.changes.iter().position(|c| c.id == row.id) {
            return &mut self.changes[index];
        }
        let zero = Money::zero(row.principal.currency());
        self.changes.push(InstallmentChange {
            id: row.id,
            number: row.number,
            from: row.status,
            event: InstallmentEvent::PayPart,
            penalty_paid: zero,
            interest_paid: zero,
            principal_paid: zero,
            new_principal: None,
            new_interest: None,
        });
        let last = self.changes.len() - 1;
        &mut self.changes[last]
    }

    /// Takes up to `owed` from what is left; returns what it took.
    fn take(&mut self, owed: Money) -> Result<Money, MoneyError> {
        let taken = owed.minor().min(self.left).max(0);
        self.left -= taken;
        Money::from_minor(taken, owed.currency())
    }
}

#[derive(Clone, Copy)]
enum Component {
    Penalty,
    Interest,
    Principal,
}

fn pay_component(
    pot: &mut Pot,
    rows: &[&Installment],
    component: Component,
) -> Result<Money, MoneyError> {
    let currency = rows
        .first()
        .map_or(Currency::Rub, |row| row.principal.currency());
    let mut total = Money::zero(currency);
    for row in rows {
        let owed = match component {
            Component::Penalty => unpaid_penalty(row)?,
            Component::Interest => unpaid_interest(row)?,
            Component::Principal => unpaid_principal(row)?,
        };
        if !owed.is_positive() || pot.left == 0 {
            continue;
        }
        let taken = pot.take(owed)?;
        let change = pot.change(row);
        let paid = match component {
            Component::Penalty => &mut change.penalty_paid,
            Component::Interest => &mut change.interest_paid,
            Component::Principal => &mut change.principal_paid,
        };
        *paid = paid.checked_add(taken)?;
        total = total.checked_add(taken)?;
    }
    Ok(total)
}

/// Where `amount` goes on the loan of `installments` on `today` (see the
/// module's rules).
///
/// # Errors
/// A [`PaymentError`] saying which amounts are allowed.
pub fn allocate(
    installments: &[Installment],
    terms: &LoanTerms,
    today: NaiveDate,
    amount: Money,
) -> Result<Allocation, PaymentError> {
    let currency = terms.principal.currency();
    if amount.currency() != currency {
        return Err(PaymentError::WrongCurrency {
            got: amount.currency(),
            expected: currency,
        });
    }
    if !amount.is_positive() {
        return Err(PaymentError::NotPositive);
    }
    let quote = quote(installments, terms, today)?;
    if !quote.payoff.is_positive() {
        return Err(PaymentError::NothingOwed);
    }
    if amount.minor() > quote.payoff.minor() {
        return Err(PaymentError::MoreThanPayoff {
            payoff: quote.payoff,
        });
    }
    let owed = quote.owed.total()?;
    let through_next = quote.through_next_installment()?;
    // Paying off settles installments not yet due; when every one has
    // fallen due, the payoff is simply what is owed.
    let payoff = amount == quote.payoff && quote.principal_not_due.is_positive();
    if !payoff && amount.minor() > owed.minor() && amount.minor() < through_next.minor() {
        return Err(PaymentError::BetweenInstallments { owed, through_next });
    }

    let mut sorted: Vec<&Installment> = installments
        .iter()
        .filter(|row| InstallmentStatus::UNPAID.contains(&row.status))
        .collect();
    sorted.sort_by_key(|row| row.number);
    let overdue: Vec<&Installment> = sorted
        .iter()
        .copied()
        .filter(|row| row.status == InstallmentStatus::Overdue)
        .collect();
    let current: Vec<&Installment> = sorted
        .iter()
        .copied()
        .filter(|row| is_current(row.status))
        .collect();
    let not_due: Vec<&Installment> = sorted
        .iter()
        .copied()
        .filter(|row| row.status == InstallmentStatus::Scheduled)
        .collect();

    let mut pot = Pot {
        left: amount.minor(),
        changes: Vec::new(),
        parts: Parts::zero(currency),
    };
    pot.parts.penalties = pay_component(&mut pot, &sorted, Component::Penalty)?;
    pot.parts.overdue_interest = pay_component(&mut pot, &overdue, Component::Interest)?;
    pot.parts.overdue_principal = pay_component(&mut pot, &overdue, Component::Principal)?;
    pot.parts.current_interest = pay_component(&mut pot, &current, Component::Interest)?;
    pot.parts.current_principal = pay_component(&mut pot, &current, Component::Principal)?;

    let mut reschedules = false;
    if payoff {
        // Every installment not yet due: its principal, and the interest
        // accrued to today in place of the first one's, none after it.
        for (index, row) in not_due.iter().enumerate() {
            let interest = if index == 0 {
                quote.accrued_interest
            } else {
                Money::zero(currency)
            };
            let principal = pot.take(row.principal)?;
            let interest_paid = pot.take(interest)?;
            pot.parts.current_interest = pot.parts.current_interest.checked_add(interest_paid)?;
            pot.parts.prepayment = pot.parts.prepayment.checked_add(principal)?;
            let change = pot.change(row);
            change.principal_paid = principal;
            change.interest_paid = interest_paid;
            if interest != row.interest {
                change.new_interest = Some(interest);
                reschedules = true;
            }
        }
    } else if let Some(next) = not_due.first()
        && pot.left >= next.total()?.minor()
    {
        let interest = pot.take(next.interest)?;
        let principal = pot.take(next.principal)?;
        pot.parts.current_interest = pot.parts.current_interest.checked_add(interest)?;
        pot.parts.current_principal = pot.parts.current_principal.checked_add(principal)?;
        let ahead = Money::from_minor(pot.left, currency)?;
        let change = pot.change(next);
        change.interest_paid = interest;
        change.principal_paid = principal;
        if ahead.is_positive() {
            // The principal paid ahead is booked on this installment (its
            // principal grows by it), so the schedule's principal stays
            // the loan's and what was repaid stays on the rows.
            let grown = principal.checked_add(ahead)?;
            change.principal_paid = grown;
            change.new_principal = Some(grown);
            let later = &not_due[1..];
            let remaining = later.iter().try_fold(Money::zero(currency), |sum, row| {
                sum.checked_add(row.principal)
            })?;
            let after = remaining.checked_sub(ahead)?;
            let first = later
                .first()
                .ok_or(PaymentError::Inconsistent("a prepayment with nothing left"))?;
            if !after.is_positive() {
                return Err(PaymentError::Inconsistent(
                    "a prepayment beyond the balance",
                ));
            }
            let recomputed = schedule::recompute_after_prepayment(terms, after, first.number)?;
            for row in later {
                let line = recomputed
                    .installments
                    .iter()
                    .find(|line| line.number == row.number)
                    .ok_or(PaymentError::Inconsistent("a recomputed row is missing"))?;
                let change = pot.change(row);
                // A prepayment that leaves a few kopecks can recompute later
                // installments to nothing: nothing is owed on them, so they
                // are settled now (the pass below marks them paid) rather
                // than left scheduled at zero.
                change.event = if line.principal.minor() == 0 && line.interest.minor() == 0 {
                    InstallmentEvent::PayPart
                } else {
                    InstallmentEvent::Reschedule
                };
                change.new_principal = Some(line.principal);
                change.new_interest = Some(line.interest);
            }
            pot.left = 0;
            pot.parts.prepayment = ahead;
            reschedules = true;
        }
    }
    if pot.left != 0 {
        return Err(PaymentError::Inconsistent("money left over"));
    }

    for change in &mut pot.changes {
        if change.event == InstallmentEvent::Reschedule {
            continue;
        }
        let row = sorted
            .iter()
            .find(|row| row.id == change.id)
            .ok_or(PaymentError::Inconsistent("a change to an unknown row"))?;
        let principal = change.new_principal.unwrap_or(row.principal);
        let interest = change.new_interest.unwrap_or(row.interest);
        let settled = row.paid_principal.checked_add(change.principal_paid)? == principal
            && row.paid_interest.checked_add(change.interest_paid)? == interest
            && row.penalty_paid.checked_add(change.penalty_paid)? == row.penalty_accrued;
        change.event = if settled {
            InstallmentEvent::PayInFull
        } else {
            InstallmentEvent::PayPart
        };
    }
    pot.changes.sort_by_key(|c| c.number);
    Ok(Allocation {
        amount,
        kind: if payoff {
            PaymentKind::Payoff
        } else {
            PaymentKind::Payment
        },
        parts: pot.parts,
        changes: pot.changes,
        reschedules,
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;
    use crate::domain::{ids::LoanId, money::Rate};

    fn rub(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Rub).unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::from_str(text).unwrap()
    }

    fn terms(principal: i64, rate_bps: u32, months: u32) -> LoanTerms {
        LoanTerms {
            principal: rub(principal),
            rate: Rate::from_bps(rate_bps).unwrap(),
            term_months: months,
            start: day("2026-01-15"),
        }
    }

    /// The schedule of `terms` as stored right after the payout.
    fn rows(terms: &LoanTerms) -> Vec<Installment> {
        let loan = LoanId::from(Uuid::from_u128(1));
        schedule::annuity(terms)
            .unwrap()
            .installments
            .iter()
            .map(|line| Installment {
                id: InstallmentId::from(Uuid::from_u128(100 + u128::from(line.number))),
                loan_id: loan,
                number: line.number,
                due_date: line.due_date,
                principal: line.principal,
                interest: line.interest,
                paid_principal: rub(0),
                paid_interest: rub(0),
                penalty_accrued: rub(0),
                penalty_paid: rub(0),
                status: InstallmentStatus::Scheduled,
                paid_at: None,
            })
            .collect()
    }

    /// `rows` after `allocation` (what the service stores).
    fn apply(rows: &mut [Installment], allocation: &Allocation) {
        for change in &allocation.changes {
            let row = rows.iter_mut().find(|r| r.id == change.id).unwrap();
            assert_eq!(row.status, change.from);
            if let Some(principal) = change.new_principal {
                row.principal = principal;
            }
            if let Some(interest) = change.new_interest {
                row.interest = interest;
            }
            row.paid_principal = row
                .paid_principal
                .checked_add(change.principal_paid)
                .unwrap();
            row.paid_interest = row.paid_interest.checked_add(change.interest_paid).unwrap();
            row.penalty_paid = row.penalty_paid.checked_add(change.penalty_paid).unwrap();
            row.status =
                crate::domain::installment::installment_transition(row.status, change.event)
                    .unwrap();
        }
    }

    fn principal_sum(rows: &[Installment]) -> i64 {
        rows.iter().map(|r| r.principal.minor()).sum()
    }

    #[test]
    fn the_next_installment_paid_early_is_settled_whole() {
        let terms = terms(12_000_000, 1_200, 12);
        let mut rows = rows(&terms);
        let quote = quote(&rows, &terms, day("2026-01-20")).unwrap();
        let next = rows[0].total().unwrap();
        assert_eq!(quote.next_installment, Some(next));
        assert_eq!(quote.owed.total().unwrap(), rub(0));
        let allocation = allocate(&rows, &terms, day("2026-01-20"), next).unwrap();
        assert_eq!(allocation.kind, PaymentKind::Payment);
        assert_eq!(allocation.changes.len(), 1);
        assert_eq!(allocation.changes[0].event, InstallmentEvent::PayInFull);
        assert_eq!(allocation.parts.current_interest, rows[0].interest);
        assert!(!allocation.reschedules);
        apply(&mut rows, &allocation);
        assert_eq!(rows[0].status, InstallmentStatus::Paid);
        // The next period has not started: nothing accrued yet.
        let quote = super::quote(&rows, &terms, day("2026-01-21")).unwrap();
        assert_eq!(quote.accrued_interest, rub(0));
        assert_eq!(quote.payoff.minor(), principal_sum(&rows[1..]));
    }

    #[test]
    fn a_payoff_charges_interest_to_the_day_and_settles_every_installment() {
        let terms = terms(12_000_000, 1_200, 12);
        let mut rows = rows(&terms);
        // 15 days of January 15 to February 15 (31 days): 120 000.00 × 1 % × 15/31.
        let quote = quote(&rows, &terms, day("2026-01-30")).unwrap();
        assert_eq!(quote.accrued_interest, rub(58_065));
        assert_eq!(quote.payoff, rub(12_000_000 + 58_065));
        let allocation = allocate(&rows, &terms, day("2026-01-30"), quote.payoff).unwrap();
        assert_eq!(allocation.kind, PaymentKind::Payoff);
        assert!(allocation.settles_loan(&rows));
        assert_eq!(allocation.parts.principal().unwrap(), rub(12_000_000));
        assert_eq!(allocation.parts.interest().unwrap(), rub(58_065));
        apply(&mut rows, &allocation);
        assert!(rows.iter().all(|r| r.status == InstallmentStatus::Paid));
        assert_eq!(
            principal_sum(&rows),
            12_000_000,
            "the principal stays whole"
        );
        assert_eq!(
            rows.iter().map(|r| r.interest.minor()).sum::<i64>(),
            58_065,
            "only the interest charged stays on the rows"
        );
        assert_eq!(
            allocate(&rows, &terms, day("2026-01-30"), rub(1)),
            Err(PaymentError::NothingOwed)
        );
    }

    #[test]
    fn a_prepayment_keeps_the_term_and_lowers_the_later_payments() {
        let terms = terms(12_000_000, 1_200, 12);
        let mut rows = rows(&terms);
        let first = rows[0].total().unwrap();
        let old_second = rows[1].total().unwrap();
        let amount = first.checked_add(rub(3_000_000)).unwrap();
        let allocation = allocate(&rows, &terms, day("2026-02-01"), amount).unwrap();
        assert_eq!(allocation.parts.prepayment, rub(3_000_000));
        assert!(allocation.reschedules);
        assert_eq!(
            allocation
                .changes
                .iter()
                .filter(|c| c.event == InstallmentEvent::Reschedule)
                .count(),
            11
        );
        apply(&mut rows, &allocation);
        assert_eq!(rows.len(), 12, "same term");
        assert_eq!(principal_sum(&rows), 12_000_000);
        let new_second = rows[1].total().unwrap();
        assert!(new_second.minor() < old_second.minor());
        assert_eq!(
            rows[0].paid_principal.minor(),
            first.minor() - rows[0].interest.minor() + 3_000_000,
            "the principal paid ahead is booked on the installment paid with it"
        );
        assert_eq!(rows[0].status, InstallmentStatus::Paid);
    }

    #[test]
    fn an_amount_between_what_is_owed_and_the_next_installment_is_refused_with_both() {
        let terms = terms(12_000_000, 1_200, 12);
        let rows = rows(&terms);
        let next = rows[0].total().unwrap();
        let err = allocate(&rows, &terms, day("2026-01-20"), rub(500_000)).unwrap_err();
        assert_eq!(
            err,
            PaymentError::BetweenInstallments {
                owed: rub(0),
                through_next: next
            }
        );
        assert!(err.to_string().contains("at least"));
        assert_eq!(
            allocate(&rows, &terms, day("2026-01-20"), rub(0)),
            Err(PaymentError::NotPositive)
        );
        let payoff = quote(&rows, &terms, day("2026-01-20")).unwrap().payoff;
        assert_eq!(
            allocate(
                &rows,
                &terms,
                day("2026-01-20"),
                payoff.checked_add(rub(1)).unwrap()
            ),
            Err(PaymentError::MoreThanPayoff { payoff })
        );
    }

    #[test]
    fn penalties_then_overdue_interest_then_overdue_principal_oldest_first() {
        let terms = terms(1_200_000, 1_200, 12);
        let mut rows = rows(&terms);
        for row in rows.iter_mut().take(2) {
            row.status = InstallmentStatus::Overdue;
            row.penalty_accrued = rub(1_000);
        }
        let quote = quote(&rows, &terms, day("2026-03-20")).unwrap();
        assert_eq!(quote.owed.penalties, rub(2_000));
        let interest = rows[0].interest.checked_add(rows[1].interest).unwrap();
        // Penalties, both interests, and 100.00 of the oldest principal.
        let amount = rub(2_000 + interest.minor() + 10_000);
        let allocation = allocate(&rows, &terms, day("2026-03-20"), amount).unwrap();
        assert_eq!(allocation.parts.penalties, rub(2_000));
        assert_eq!(allocation.parts.overdue_interest, interest);
        assert_eq!(allocation.parts.overdue_principal, rub(10_000));
        assert_eq!(allocation.changes[0].principal_paid, rub(10_000));
        assert_eq!(allocation.changes[1].principal_paid, rub(0));
        assert!(
            allocation
                .changes
                .iter()
                .all(|c| c.event == InstallmentEvent::PayPart)
        );
        apply(&mut rows, &allocation);
        assert_eq!(rows[0].status, InstallmentStatus::Overdue, "still owed");
    }

    fn arbitrary_loan() -> impl Strategy<Value = (LoanTerms, Vec<u8>, u32, u64)> {
        (
            100_000i64..50_000_000,
            0u32..5_000,
            1u32..=36,
            prop::collection::vec(0u8..4, 36),
            0u32..400,
            any::<u64>(),
        )
            .prop_map(|(principal, bps, months, statuses, days, pick)| {
                (terms(principal, bps, months), statuses, days, pick)
            })
    }

    proptest! {
        /// Any allowed amount on any schedule state: the parts sum to the
        /// amount, no installment is paid beyond what it owes, the principal
        /// of the schedule stays the loan's, and the payoff closes the loan.
        #[test]
        fn allocations_never_create_or_lose_a_kopeck((terms, statuses, days, pick) in arbitrary_loan()) {
            let mut rows = rows(&terms);
            let today = terms.start + chrono::Days::new(u64::from(days));
            for (row, status) in rows.iter_mut().zip(statuses) {
                if row.due_date > today {
                    break;
                }
                // Fallen due: paid, overdue with a penalty, or due.
                match status {
                    0 => {
                        row.paid_principal = row.principal;
                        row.paid_interest = row.interest;
                        row.status = InstallmentStatus::Paid;
                    }
                    1 | 2 => {
                        row.status = InstallmentStatus::Overdue;
                        row.penalty_accrued = rub(i64::from(status) * 137);
                    }
                    _ => row.status = InstallmentStatus::Due,
                }
            }
            let quote = quote(&rows, &terms, today).unwrap();
            prop_assume!(quote.payoff.is_positive());
            let owed = quote.owed.total().unwrap().minor();
            let through = quote.through_next_installment().unwrap().minor();
            let payoff = quote.payoff.minor();
            let candidates: Vec<i64> = [1, owed, owed / 2, through, (through + payoff) / 2, payoff, payoff - 1]
                .into_iter()
                .filter(|a| *a > 0 && *a <= payoff)
                .collect();
            let amount = candidates[usize::try_from(pick % candidates.len() as u64).unwrap()];
            match allocate(&rows, &terms, today, rub(amount)) {
                Err(PaymentError::BetweenInstallments { .. }) => {
                    prop_assert!(amount > owed && amount < through && amount != payoff);
                }
                Err(other) => prop_assert!(false, "{other}"),
                Ok(allocation) => {
                    let parts = allocation.parts;
                    let sum = parts.penalties.minor() + parts.interest().unwrap().minor()
                        + parts.principal().unwrap().minor();
                    prop_assert_eq!(sum, amount);
                    let paid: i64 = allocation.changes.iter().map(|c| {
                        c.penalty_paid.minor() + c.interest_paid.minor() + c.principal_paid.minor()
                    }).sum();
                    prop_assert_eq!(paid, amount, "every kopeck lands on an installment");
                    apply(&mut rows, &allocation);
                    prop_assert_eq!(principal_sum(&rows), terms.principal.minor());
                    for row in &rows {
                        prop_assert!(row.paid_principal.minor() <= row.principal.minor());
                        prop_assert!(row.paid_interest.minor() <= row.interest.minor());
                        prop_assert!(row.penalty_paid.minor() <= row.penalty_accrued.minor());
                        prop_assert_eq!(
                            row.status == InstallmentStatus::Paid,
                            row.paid_principal == row.principal && row.paid_interest == row.interest
                        );
                    }
                    if amount == payoff {
                        prop_assert!(rows.iter().all(|r| r.status == InstallmentStatus::Paid));
                    } else {
                        prop_assert!(rows.iter().any(|r| r.status != InstallmentStatus::Paid));
                    }
                }
            }
        }
    }
}
