//! An investment's life (DESIGN.md sections 5, 7 and 8): the events that
//! move it and the one function that decides where each one leads. Services
//! never write an investment status of their own; they ask
//! [`investment_transition`] and store what it answers, with a conditional
//! update on the status they read.
//!
//! A commitment is made `pending` (its money reserved in the investor's
//! wallet); a stake bought on the secondary market starts `active`.
//! Creating one is not a move: this machine starts from what is stored.
//!
//! ```text
//! pending ──Disburse──> active ──RepayInFull──> repaid
//!    │                    │ └────Sell─────────> sold
//!    │                    └──Default──> defaulted ──Recover──> defaulted
//!    ├──Cancel────────> cancelled      (the investor takes it back)
//!    ├──LoanWithdrawn─> cancelled      (the borrower takes the loan back)
//!    └──Expire────────> expired        (the funding deadline passed)
//! ```
//!
//! Decisions:
//! - The borrower withdrawing the loan is its own event, not `Cancel` or
//!   `Expire`: it is neither the investor's act nor the clock's, the emails
//!   and the audit say so, and the status it leads to is a product choice
//!   kept in this one line. It leads to `cancelled`, the word stored for it
//!   today; `expired` ("Released, loan not funded") stays the deadline's.
//! - Money received after a default (the borrower's late payments, the
//!   reserve fund's payout) is `Recover`, and the investment stays
//!   `defaulted`: the loss and what came back are reported from the
//!   distributions, and a defaulted stake never turns `repaid`.
//! - Reducing a pending commitment, and selling part of an active stake,
//!   change its amount, not its status: they are not events here. Selling
//!   all of it is `Sell`.
//! - Only an `active` stake is sold (DESIGN.md section 8 sells active,
//!   non-overdue investments; whether the loan is overdue is the
//!   secondary market's check, not this machine's).
//!
//! `repaid`, `defaulted`, `cancelled`, `expired` and `sold` are final: no
//! event takes an investment out of them (`Recover` leaves a defaulted one
//! where it is).

use chrono::{DateTime, Utc};

pub use crate::domain::investing::InvestmentStatus;
use crate::domain::{
    ids::{InvestmentId, LoanId, UserId},
    money::{Money, MoneyError},
};

word_enum!(
    /// How an investment was made; stored in `investments.source`.
    InvestmentSource {
        Manual => "manual", "By hand";
        Auto => "auto", "By an auto-invest rule";
        Secondary => "secondary", "Bought on the secondary market";
    }
);

/// One investor's stake in one loan, as the use cases see it
/// (`db::repo::investments` builds it from the stored row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Investment {
    pub id: InvestmentId,
    pub investor_id: UserId,
    pub loan_id: LoanId,
    /// In the loan's currency.
    pub amount: Money,
    pub status: InvestmentStatus,
    pub source: InvestmentSource,
    /// When the investor confirmed it (accepting the loan agreement).
    pub accepted_at: DateTime<Utc>,
    /// The SHA-256 of its loan agreement, once the loan is paid out.
    pub agreement_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One investor's stakes in one loan together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvestorTotal {
    pub investor_id: UserId,
    pub total: Money,
    /// Their first stake (the page an email about the loan links to).
    pub first: InvestmentId,
}

/// The investors among `stakes` (earliest first) with their totals, in the
/// order of their first stake.
///
/// # Errors
/// `TooLarge` when a total leaves what money holds.
pub fn investor_totals(stakes: &[Investment]) -> Result<Vec<InvestorTotal>, MoneyError> {
    let mut totals: Vec<InvestorTotal> = Vec::new();
    for stake in stakes {
        match totals
            .iter_mut()
            .find(|t| t.investor_id == stake.investor_id)
        {
            Some(total) => total.total = total.total.checked_add(stake.amount)?,
            None => totals.push(InvestorTotal {
                investor_id: stake.investor_id,
                total: stake.amount,
                first: stake.id,
            }),
        }
    }
    Ok(totals)
}

/// What happens to an investment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvestmentEvent {
    /// The investor cancels the commitment before the loan is funded.
    Cancel,
    /// The borrower withdraws the loan before it is funded.
    LoanWithdrawn,
    /// The loan's funding deadline passed before it was fully subscribed.
    Expire,
    /// The loan is paid out: the reservation becomes money lent.
    Disburse,
    /// The loan is repaid, by its last installment or an early payoff.
    RepayInFull,
    /// The loan defaults.
    Default,
    /// Money comes in after the default: a late payment or the reserve fund.
    Recover,
    /// The whole stake is sold on the secondary market.
    Sell,
}

/// The investors holding `stakes`, each once, in id order (the order
/// their wallets are locked in).
pub fn investors_of<'a>(stakes: impl IntoIterator<Item = &'a Investment>) -> Vec<UserId> {
    let mut ids: Vec<UserId> = stakes.into_iter().map(|i| i.investor_id).collect();
    ids.sort();
    ids.dedup();
    ids
}

impl InvestmentEvent {
    pub const ALL: [Self; 8] = [
        Self::Cancel,
        Self::LoanWithdrawn,
        Self::Expire,
        Self::Disburse,
        Self::RepayInFull,
        Self::Default,
        Self::Recover,
        Self::Sell,
    ];

    /// "cancelled", "sold": the event as a past participle, for messages.
    #[must_use]
    fn done(self) -> &'static str {
        match self {
            Self::Cancel => "cancelled",
            Self::LoanWithdrawn => "released for a withdrawn loan",
            Self::Expire => "released for an unfunded loan",
            Self::Disburse => "paid out",
            Self::RepayInFull => "marked repaid",
            Self::Default => "marked defaulted",
            Self::Recover => "credited with a recovery",
            Self::Sell => "sold",
        }
    }
}

/// A move the investment's life does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("An investment that is \"{}\" cannot be {}.", from.label().to_lowercase(), event.done())]
pub struct InvestmentTransitionError {
    pub from: InvestmentStatus,
    pub event: InvestmentEvent,
}

/// The status after `event`, or why the investment cannot go there.
///
/// # Errors
/// [`InvestmentTransitionError`] for every move not drawn in the module's
/// diagram.
pub fn investment_transition(
    from: InvestmentStatus,
    event: InvestmentEvent,
) -> Result<InvestmentStatus, InvestmentTransitionError> {
    use InvestmentEvent as E;
    use InvestmentStatus as S;
    let to = match (from, event) {
        (S::Pending, E::Cancel | E::LoanWithdrawn) => S::Cancelled,
        (S::Pending, E::Expire) => S::Expired,
        (S::Pending, E::Disburse) => S::Active,
        (S::Active, E::RepayInFull) => S::Repaid,
        (S::Active, E::Default) => S::Defaulted,
        (S::Active, E::Sell) => S::Sold,
        (S::Defaulted, E::Recover) => S::Defaulted,
        _ => return Err(InvestmentTransitionError { from, event }),
    };
    Ok(to)
}

impl InvestmentStatus {
    /// No event moves an investment out of a final status (an event may
    /// leave it where it is, as a recovery leaves a defaulted one).
    #[must_use]
    pub fn is_final(self) -> bool {
        !InvestmentEvent::ALL
            .iter()
            .any(|event| investment_transition(self, *event).is_ok_and(|to| to != self))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_stored_words_and_labels_are_unchanged() {
        let words: Vec<(&str, &str)> = InvestmentStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect();
        assert_eq!(
            words,
            [
                ("pending", "Reserved"),
                ("active", "Repaying"),
                ("repaid", "Repaid"),
                ("defaulted", "Defaulted"),
                ("cancelled", "Cancelled"),
                ("expired", "Released, loan not funded"),
                ("sold", "Sold"),
            ]
        );
        for status in InvestmentStatus::ALL {
            assert_eq!(InvestmentStatus::parse(status.as_str()), Some(*status));
        }
    }

    #[test]
    fn exactly_the_drawn_moves_are_allowed() {
        use InvestmentEvent as E;
        use InvestmentStatus as S;
        let allowed: HashSet<(S, E, S)> = [
            (S::Pending, E::Cancel, S::Cancelled),
            (S::Pending, E::LoanWithdrawn, S::Cancelled),
            (S::Pending, E::Expire, S::Expired),
            (S::Pending, E::Disburse, S::Active),
            (S::Active, E::RepayInFull, S::Repaid),
            (S::Active, E::Default, S::Defaulted),
            (S::Active, E::Sell, S::Sold),
            (S::Defaulted, E::Recover, S::Defaulted),
        ]
        .into_iter()
        .collect();
        let mut seen = 0;
        for from in InvestmentStatus::ALL.iter().copied() {
            for event in InvestmentEvent::ALL {
                match investment_transition(from, event) {
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
                        assert_eq!(err, InvestmentTransitionError { from, event });
                    }
                }
            }
        }
        assert_eq!(seen, allowed.len());
        assert_eq!(
            InvestmentStatus::ALL.len() * InvestmentEvent::ALL.len(),
            7 * 8,
            "every status and every event was tried"
        );
    }

    #[test]
    fn final_statuses_have_no_way_out_and_the_rest_do() {
        let finals: Vec<InvestmentStatus> = InvestmentStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(
            finals,
            [
                InvestmentStatus::Repaid,
                InvestmentStatus::Defaulted,
                InvestmentStatus::Cancelled,
                InvestmentStatus::Expired,
                InvestmentStatus::Sold,
            ]
        );
    }

    #[test]
    fn a_commitment_is_paid_out_and_repaid() {
        let active =
            investment_transition(InvestmentStatus::Pending, InvestmentEvent::Disburse).unwrap();
        assert_eq!(active, InvestmentStatus::Active);
        assert_eq!(
            investment_transition(active, InvestmentEvent::RepayInFull),
            Ok(InvestmentStatus::Repaid)
        );
    }

    #[test]
    fn recoveries_after_a_default_keep_it_defaulted() {
        let defaulted =
            investment_transition(InvestmentStatus::Active, InvestmentEvent::Default).unwrap();
        for _ in 0..3 {
            assert_eq!(
                investment_transition(defaulted, InvestmentEvent::Recover),
                Ok(InvestmentStatus::Defaulted)
            );
        }
        assert!(investment_transition(defaulted, InvestmentEvent::RepayInFull).is_err());
        assert!(investment_transition(InvestmentStatus::Active, InvestmentEvent::Recover).is_err());
    }

    #[test]
    fn a_commitment_ends_unfunded_three_ways_and_only_while_pending() {
        use InvestmentEvent as E;
        for (event, to) in [
            (E::Cancel, InvestmentStatus::Cancelled),
            (E::LoanWithdrawn, InvestmentStatus::Cancelled),
            (E::Expire, InvestmentStatus::Expired),
        ] {
            assert_eq!(
                investment_transition(InvestmentStatus::Pending, event),
                Ok(to)
            );
            assert!(investment_transition(InvestmentStatus::Active, event).is_err());
        }
    }

    #[test]
    fn every_status_is_reachable_from_a_commitment() {
        let mut seen = HashSet::from([InvestmentStatus::Pending]);
        let mut frontier = vec![InvestmentStatus::Pending];
        while let Some(status) = frontier.pop() {
            for event in InvestmentEvent::ALL {
                if let Ok(next) = investment_transition(status, event)
                    && seen.insert(next)
                {
                    frontier.push(next);
                }
            }
        }
        assert_eq!(seen.len(), InvestmentStatus::ALL.len());
    }

    #[test]
    fn a_refusal_says_what_cannot_happen_in_words() {
        let err =
            investment_transition(InvestmentStatus::Active, InvestmentEvent::Cancel).unwrap_err();
        assert_eq!(
            err.to_string(),
            "An investment that is \"repaying\" cannot be cancelled."
        );
        let err =
            investment_transition(InvestmentStatus::Pending, InvestmentEvent::Sell).unwrap_err();
        assert_eq!(
            err.to_string(),
            "An investment that is \"reserved\" cannot be sold."
        );
    }
}
