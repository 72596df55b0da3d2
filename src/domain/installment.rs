//! An installment's life (DESIGN.md section 7): the statuses one line of a
//! loan's repayment schedule goes through while the loan is serviced, the
//! events that move it, and the one function that decides where each one
//! leads. Services never write an installment status of their own; they ask
//! [`installment_transition`] and store what it answers, with a conditional
//! update on the status they read (so a job run twice for one day moves
//! nothing twice).
//!
//! ```text
//! scheduled ──FallDue──> due ──PayPart──> partially_paid      (PayPart: stays)
//! (Reschedule: stays)     │                     │
//!                         └──BecomeOverdue──> overdue <──BecomeOverdue
//!                                             (PayPart: stays)
//! scheduled, due, partially_paid, overdue ──PayInFull──> paid
//! scheduled, due, partially_paid, overdue ──WriteOff───> written_off
//! ```
//!
//! Decisions:
//! - A `scheduled` installment is never paid in part. Money beyond what is
//!   due prepays principal (the payment allocation order's last step), and
//!   that recomputes the schedule instead; paying a scheduled installment in
//!   full (the next one, early, or every one in an early payoff) is allowed.
//! - It becomes `overdue` only from `due` or `partially_paid`: a job that
//!   was down on the due date first lets it fall due, then finds it unpaid,
//!   so every overdue installment was due first. A partial payment of an
//!   overdue installment leaves it `overdue` (penalty interest runs on what
//!   is left); paying the rest makes it `paid`.
//! - A recomputed schedule (a prepayment keeps the term and lowers the
//!   remaining payments) is `Reschedule`, a move from `scheduled` to
//!   `scheduled`: each future row keeps its id, number and due date, and its
//!   principal and interest are replaced. The superseded amounts are kept
//!   apart from the live rows (the audit log today; a schedule-version
//!   table when servicing needs to show the history), not as extra rows
//!   with a `superseded` status: every sum over a loan's schedule (Σ
//!   principal = the loan's principal, what is outstanding, what is
//!   overdue) and the `UNIQUE(loan_id, payment_num)` key would otherwise
//!   have to know to skip them. A row that is due, partly paid or overdue
//!   is owed as it stands and is never rescheduled.
//! - A default writes off every unpaid installment. Money recovered after
//!   that is booked against the loan and distributed to its investors; it
//!   does not reopen a written-off row.
//!
//! `paid` and `written_off` are final.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{
    ids::{InstallmentId, LoanId},
    money::Money,
};

/// One line of a loan's repayment schedule as stored and serviced
/// (`db::repo::installments` builds it from the row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installment {
    pub id: InstallmentId,
    pub loan_id: LoanId,
    pub number: u32,
    pub due_date: NaiveDate,
    pub principal: Money,
    pub interest: Money,
    pub paid_principal: Money,
    pub paid_interest: Money,
    pub penalty_accrued: Money,
    pub penalty_paid: Money,
    pub status: InstallmentStatus,
    pub paid_at: Option<DateTime<Utc>>,
}

impl Installment {
    /// Principal plus interest as scheduled.
    ///
    /// # Errors
    /// `TooLarge` beyond what [`Money`] holds.
    pub fn total(&self) -> Result<Money, crate::domain::money::MoneyError> {
        self.principal.checked_add(self.interest)
    }
}

word_enum!(
    /// Where one installment stands; stored in `repayment_schedule.status`.
    InstallmentStatus {
        Scheduled => "scheduled", "Scheduled";
        Due => "due", "Due";
        PartiallyPaid => "partially_paid", "Partly paid";
        Paid => "paid", "Paid";
        Overdue => "overdue", "Overdue";
        WrittenOff => "written_off", "Written off";
    }
);

impl InstallmentStatus {
    /// The statuses with money still owed on them.
    pub const UNPAID: [Self; 4] = [
        Self::Scheduled,
        Self::Due,
        Self::PartiallyPaid,
        Self::Overdue,
    ];

    /// The words of `statuses`, for queries.
    #[must_use]
    pub fn words(statuses: &[Self]) -> Vec<&'static str> {
        statuses.iter().map(|s| s.as_str()).collect()
    }

    /// No event moves an installment out of a final status (a rescheduled
    /// or partly paid one may stay where it is; a final one refuses all).
    #[must_use]
    pub fn is_final(self) -> bool {
        !InstallmentEvent::ALL
            .iter()
            .any(|event| installment_transition(self, *event).is_ok_and(|to| to != self))
    }
}

impl fmt::Display for InstallmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What happens to an installment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstallmentEvent {
    /// Its due date arrives.
    FallDue,
    /// A payment covers part of what is owed on it.
    PayPart,
    /// A payment covers all of it, or the rest of it.
    PayInFull,
    /// Its due date passed and it is not paid in full.
    BecomeOverdue,
    /// The loan defaulted: what is unpaid is written off.
    WriteOff,
    /// A prepayment recomputed the remaining schedule.
    Reschedule,
}

impl InstallmentEvent {
    pub const ALL: [Self; 6] = [
        Self::FallDue,
        Self::PayPart,
        Self::PayInFull,
        Self::BecomeOverdue,
        Self::WriteOff,
        Self::Reschedule,
    ];

    /// "paid in part", "written off": the event as a past participle, for
    /// messages.
    #[must_use]
    fn done(self) -> &'static str {
        match self {
            Self::FallDue => "made due",
            Self::PayPart => "paid in part",
            Self::PayInFull => "paid in full",
            Self::BecomeOverdue => "marked overdue",
            Self::WriteOff => "written off",
            Self::Reschedule => "rescheduled",
        }
    }
}

/// A move an installment's life does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("An installment that is \"{}\" cannot be {}.", from.label().to_lowercase(), event.done())]
pub struct InstallmentTransitionError {
    pub from: InstallmentStatus,
    pub event: InstallmentEvent,
}

/// The status after `event`, or why the installment cannot go there.
///
/// # Errors
/// [`InstallmentTransitionError`] for every move not drawn in the module's
/// diagram.
pub fn installment_transition(
    from: InstallmentStatus,
    event: InstallmentEvent,
) -> Result<InstallmentStatus, InstallmentTransitionError> {
    use InstallmentEvent as E;
    use InstallmentStatus as S;
    let to = match (from, event) {
        (S::Scheduled, E::FallDue) => S::Due,
        (S::Scheduled, E::Reschedule) => S::Scheduled,
        (S::Due | S::PartiallyPaid, E::PayPart) => S::PartiallyPaid,
        (S::Overdue, E::PayPart) => S::Overdue,
        (S::Due | S::PartiallyPaid, E::BecomeOverdue) => S::Overdue,
        (S::Scheduled | S::Due | S::PartiallyPaid | S::Overdue, E::PayInFull) => S::Paid,
        (S::Scheduled | S::Due | S::PartiallyPaid | S::Overdue, E::WriteOff) => S::WrittenOff,
        _ => return Err(InstallmentTransitionError { from, event }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn statuses_round_trip_through_their_stored_words() {
        let words: Vec<&str> = InstallmentStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            words,
            [
                "scheduled",
                "due",
                "partially_paid",
                "paid",
                "overdue",
                "written_off"
            ]
        );
        for status in InstallmentStatus::ALL {
            assert_eq!(InstallmentStatus::parse(status.as_str()), Some(*status));
        }
        assert_eq!(
            InstallmentStatus::parse("pending"),
            None,
            "the old word is gone"
        );
        assert_eq!(InstallmentStatus::parse("Paid"), None);
        assert_eq!(InstallmentStatus::PartiallyPaid.to_string(), "Partly paid");
    }

    #[test]
    fn exactly_the_drawn_moves_are_allowed() {
        use InstallmentEvent as E;
        use InstallmentStatus as S;
        let allowed: HashSet<(S, E, S)> = [
            (S::Scheduled, E::FallDue, S::Due),
            (S::Scheduled, E::Reschedule, S::Scheduled),
            (S::Scheduled, E::PayInFull, S::Paid),
            (S::Scheduled, E::WriteOff, S::WrittenOff),
            (S::Due, E::PayPart, S::PartiallyPaid),
            (S::Due, E::PayInFull, S::Paid),
            (S::Due, E::BecomeOverdue, S::Overdue),
            (S::Due, E::WriteOff, S::WrittenOff),
            (S::PartiallyPaid, E::PayPart, S::PartiallyPaid),
            (S::PartiallyPaid, E::PayInFull, S::Paid),
            (S::PartiallyPaid, E::BecomeOverdue, S::Overdue),
            (S::PartiallyPaid, E::WriteOff, S::WrittenOff),
            (S::Overdue, E::PayPart, S::Overdue),
            (S::Overdue, E::PayInFull, S::Paid),
            (S::Overdue, E::WriteOff, S::WrittenOff),
        ]
        .into_iter()
        .collect();
        let mut tried = 0;
        let mut seen = 0;
        for from in InstallmentStatus::ALL.iter().copied() {
            for event in InstallmentEvent::ALL {
                tried += 1;
                match installment_transition(from, event) {
                    Ok(to) => {
                        seen += 1;
                        assert!(
                            allowed.contains(&(from, event, to)),
                            "{from:?} --{event:?}--> {to:?}"
                        );
                    }
                    Err(err) => {
                        assert!(
                            !allowed.iter().any(|(f, e, _)| *f == from && *e == event),
                            "{from:?} --{event:?}--> refused"
                        );
                        assert_eq!(err, InstallmentTransitionError { from, event });
                    }
                }
            }
        }
        assert_eq!(tried, 6 * 6, "every status and every event was tried");
        assert_eq!(seen, allowed.len());
    }

    #[test]
    fn paid_and_written_off_are_final_and_nothing_else_is() {
        let finals: Vec<InstallmentStatus> = InstallmentStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(
            finals,
            [InstallmentStatus::Paid, InstallmentStatus::WrittenOff]
        );
        for status in finals {
            for event in InstallmentEvent::ALL {
                assert!(
                    installment_transition(status, event).is_err(),
                    "{status:?} --{event:?}"
                );
            }
        }
        let unpaid: HashSet<InstallmentStatus> = InstallmentStatus::UNPAID.into_iter().collect();
        let not_final: HashSet<InstallmentStatus> = InstallmentStatus::ALL
            .iter()
            .copied()
            .filter(|s| !s.is_final())
            .collect();
        assert_eq!(unpaid, not_final, "unpaid means not final");
    }

    fn run(from: InstallmentStatus, events: &[InstallmentEvent]) -> InstallmentStatus {
        events.iter().fold(from, |status, event| {
            installment_transition(status, *event).unwrap()
        })
    }

    #[test]
    fn the_main_line_falls_due_and_is_paid() {
        use InstallmentEvent as E;
        assert_eq!(
            run(InstallmentStatus::Scheduled, &[E::FallDue, E::PayInFull]),
            InstallmentStatus::Paid
        );
        assert_eq!(
            run(
                InstallmentStatus::Scheduled,
                &[E::FallDue, E::PayPart, E::PayPart, E::PayInFull]
            ),
            InstallmentStatus::Paid
        );
    }

    #[test]
    fn an_unpaid_installment_goes_overdue_and_a_late_payment_settles_it() {
        use InstallmentEvent as E;
        let overdue = run(
            InstallmentStatus::Scheduled,
            &[E::FallDue, E::PayPart, E::BecomeOverdue],
        );
        assert_eq!(overdue, InstallmentStatus::Overdue);
        assert_eq!(
            run(overdue, &[E::PayPart]),
            InstallmentStatus::Overdue,
            "a part of it leaves it overdue"
        );
        assert_eq!(run(overdue, &[E::PayInFull]), InstallmentStatus::Paid);
        assert!(
            installment_transition(InstallmentStatus::Scheduled, E::BecomeOverdue).is_err(),
            "it falls due first"
        );
        assert!(installment_transition(overdue, E::BecomeOverdue).is_err());
    }

    #[test]
    fn a_prepayment_reschedules_or_settles_only_what_is_not_yet_due() {
        use InstallmentEvent as E;
        assert_eq!(
            run(
                InstallmentStatus::Scheduled,
                &[E::Reschedule, E::Reschedule]
            ),
            InstallmentStatus::Scheduled
        );
        assert_eq!(
            run(InstallmentStatus::Scheduled, &[E::PayInFull]),
            InstallmentStatus::Paid,
            "an early payoff settles future installments"
        );
        assert!(
            installment_transition(InstallmentStatus::Scheduled, E::PayPart).is_err(),
            "money beyond what is due prepays principal instead"
        );
        for owed in [
            InstallmentStatus::Due,
            InstallmentStatus::PartiallyPaid,
            InstallmentStatus::Overdue,
        ] {
            assert!(
                installment_transition(owed, E::Reschedule).is_err(),
                "{owed:?}"
            );
        }
    }

    #[test]
    fn a_default_writes_off_every_unpaid_installment() {
        for status in InstallmentStatus::UNPAID {
            assert_eq!(
                installment_transition(status, InstallmentEvent::WriteOff),
                Ok(InstallmentStatus::WrittenOff),
                "{status:?}"
            );
        }
        assert!(
            installment_transition(InstallmentStatus::Paid, InstallmentEvent::WriteOff).is_err()
        );
    }

    #[test]
    fn every_status_is_reachable_from_a_new_schedule() {
        let mut seen = HashSet::from([InstallmentStatus::Scheduled]);
        let mut frontier = vec![InstallmentStatus::Scheduled];
        while let Some(status) = frontier.pop() {
            for event in InstallmentEvent::ALL {
                if let Ok(next) = installment_transition(status, event)
                    && seen.insert(next)
                {
                    frontier.push(next);
                }
            }
        }
        assert_eq!(seen.len(), InstallmentStatus::ALL.len());
    }

    #[test]
    fn a_refusal_says_what_cannot_happen_in_words() {
        let err = installment_transition(InstallmentStatus::Paid, InstallmentEvent::WriteOff)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "An installment that is \"paid\" cannot be written off."
        );
        let err = installment_transition(InstallmentStatus::Scheduled, InstallmentEvent::PayPart)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "An installment that is \"scheduled\" cannot be paid in part."
        );
    }
}
