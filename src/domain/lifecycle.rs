//! The loan lifecycle (DESIGN.md section 5): every status a loan request can
//! have, and the one function that moves it. Services never write a status
//! string of their own; they ask [`transition`] and store what it answers.
//!
//! The main line is pending → scoring → approved → funding → funded →
//! active → repaid. Side exits: rejected (from pending or scoring), expired
//! (from funding), defaulted (from active), and withdrawn by the borrower at
//! any point before the loan is funded. The side exits and repaid are final.

use std::fmt;

/// Where a loan request is in its life. Stored as the lowercase word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoanStatus {
    Pending,
    Scoring,
    Approved,
    Funding,
    Funded,
    Active,
    Repaid,
    Rejected,
    Withdrawn,
    Expired,
    Defaulted,
}

impl LoanStatus {
    pub const ALL: [Self; 11] = [
        Self::Pending,
        Self::Scoring,
        Self::Approved,
        Self::Funding,
        Self::Funded,
        Self::Active,
        Self::Repaid,
        Self::Rejected,
        Self::Withdrawn,
        Self::Expired,
        Self::Defaulted,
    ];

    /// The word stored in `loan_requests.status`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Scoring => "scoring",
            Self::Approved => "approved",
            Self::Funding => "funding",
            Self::Funded => "funded",
            Self::Active => "active",
            Self::Repaid => "repaid",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
            Self::Expired => "expired",
            Self::Defaulted => "defaulted",
        }
    }

    #[must_use]
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == word)
    }

    /// How the status reads to people.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Received",
            Self::Scoring => "In review",
            Self::Approved => "Approved",
            Self::Funding => "Open for investment",
            Self::Funded => "Fully funded",
            Self::Active => "Repaying",
            Self::Repaid => "Repaid",
            Self::Rejected => "Declined",
            Self::Withdrawn => "Withdrawn",
            Self::Expired => "Expired unfunded",
            Self::Defaulted => "Defaulted",
        }
    }

    /// No event moves a loan out of a final status.
    #[must_use]
    pub fn is_final(self) -> bool {
        LoanEvent::ALL
            .iter()
            .all(|event| transition(self, *event).is_err())
    }
}

impl fmt::Display for LoanStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What happens to a loan request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoanEvent {
    /// The application is complete and the scorecard runs.
    StartScoring,
    /// Staff approve it.
    Approve,
    /// A hard rule of the scorecard, or staff, decline it.
    Reject,
    /// It goes on the marketplace with a funding deadline.
    List,
    /// Investors (or the accepted offer) cover the whole amount.
    FullySubscribe,
    /// The money reaches the borrower and the schedule starts.
    Disburse,
    /// The last installment, or an early payoff, clears it.
    RepayInFull,
    /// Payments stopped for longer than the default threshold.
    Default,
    /// The borrower takes the application back before it is funded.
    Withdraw,
    /// The funding deadline passed before it was fully subscribed.
    Expire,
}

impl LoanEvent {
    pub const ALL: [Self; 10] = [
        Self::StartScoring,
        Self::Approve,
        Self::Reject,
        Self::List,
        Self::FullySubscribe,
        Self::Disburse,
        Self::RepayInFull,
        Self::Default,
        Self::Withdraw,
        Self::Expire,
    ];

    /// "approved", "withdrawn": the event as a past participle, for messages.
    #[must_use]
    fn done(self) -> &'static str {
        match self {
            Self::StartScoring => "sent to scoring",
            Self::Approve => "approved",
            Self::Reject => "declined",
            Self::List => "listed for investment",
            Self::FullySubscribe => "marked fully funded",
            Self::Disburse => "disbursed",
            Self::RepayInFull => "marked repaid",
            Self::Default => "marked defaulted",
            Self::Withdraw => "withdrawn",
            Self::Expire => "expired",
        }
    }
}

/// A move the lifecycle does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("A loan that is \"{}\" cannot be {}.", from.label().to_lowercase(), event.done())]
pub struct IllegalTransition {
    pub from: LoanStatus,
    pub event: LoanEvent,
}

/// The status after `event`, or why the loan cannot go there.
///
/// # Errors
/// [`IllegalTransition`] for every move not drawn in the module's diagram.
pub fn transition(from: LoanStatus, event: LoanEvent) -> Result<LoanStatus, IllegalTransition> {
    use LoanEvent as E;
    use LoanStatus as S;
    let to = match (from, event) {
        (S::Pending, E::StartScoring) => S::Scoring,
        (S::Scoring, E::Approve) => S::Approved,
        (S::Pending | S::Scoring, E::Reject) => S::Rejected,
        (S::Approved, E::List) => S::Funding,
        (S::Funding, E::FullySubscribe) => S::Funded,
        (S::Funding, E::Expire) => S::Expired,
        (S::Funded, E::Disburse) => S::Active,
        (S::Active, E::RepayInFull) => S::Repaid,
        (S::Active, E::Default) => S::Defaulted,
        (S::Pending | S::Scoring | S::Approved | S::Funding, E::Withdraw) => S::Withdrawn,
        _ => return Err(IllegalTransition { from, event }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn statuses_round_trip_through_their_stored_words() {
        for status in LoanStatus::ALL {
            assert_eq!(LoanStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(LoanStatus::parse("Funding"), None);
        assert_eq!(LoanStatus::parse(""), None);
    }

    #[test]
    fn exactly_the_drawn_moves_are_allowed() {
        use LoanEvent as E;
        use LoanStatus as S;
        let allowed: HashSet<(S, E, S)> = [
            (S::Pending, E::StartScoring, S::Scoring),
            (S::Scoring, E::Approve, S::Approved),
            (S::Pending, E::Reject, S::Rejected),
            (S::Scoring, E::Reject, S::Rejected),
            (S::Approved, E::List, S::Funding),
            (S::Funding, E::FullySubscribe, S::Funded),
            (S::Funding, E::Expire, S::Expired),
            (S::Funded, E::Disburse, S::Active),
            (S::Active, E::RepayInFull, S::Repaid),
            (S::Active, E::Default, S::Defaulted),
            (S::Pending, E::Withdraw, S::Withdrawn),
            (S::Scoring, E::Withdraw, S::Withdrawn),
            (S::Approved, E::Withdraw, S::Withdrawn),
            (S::Funding, E::Withdraw, S::Withdrawn),
        ]
        .into_iter()
        .collect();
        for from in LoanStatus::ALL {
            for event in LoanEvent::ALL {
                match transition(from, event) {
                    Ok(to) => assert!(
                        allowed.contains(&(from, event, to)),
                        "{from:?} --{event:?}--> {to:?}"
                    ),
                    Err(err) => {
                        assert!(
                            !allowed.iter().any(|(f, e, _)| *f == from && *e == event),
                            "{from:?} --{event:?}--> refused"
                        );
                        assert_eq!(err, IllegalTransition { from, event });
                    }
                }
            }
        }
    }

    #[test]
    fn final_statuses_have_no_way_out_and_the_rest_do() {
        let finals: Vec<LoanStatus> = LoanStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(
            finals,
            [
                LoanStatus::Repaid,
                LoanStatus::Rejected,
                LoanStatus::Withdrawn,
                LoanStatus::Expired,
                LoanStatus::Defaulted
            ]
        );
    }

    #[test]
    fn every_status_is_reachable_from_a_new_application() {
        let mut seen = HashSet::from([LoanStatus::Pending]);
        let mut frontier = vec![LoanStatus::Pending];
        while let Some(status) = frontier.pop() {
            for event in LoanEvent::ALL {
                if let Ok(next) = transition(status, event)
                    && seen.insert(next)
                {
                    frontier.push(next);
                }
            }
        }
        assert_eq!(seen.len(), LoanStatus::ALL.len());
    }

    #[test]
    fn a_refusal_says_what_cannot_happen_in_words() {
        let err = transition(LoanStatus::Withdrawn, LoanEvent::Approve).unwrap_err();
        assert_eq!(
            err.to_string(),
            "A loan that is \"withdrawn\" cannot be approved."
        );
        let err = transition(LoanStatus::Active, LoanEvent::Withdraw).unwrap_err();
        assert_eq!(
            err.to_string(),
            "A loan that is \"repaying\" cannot be withdrawn."
        );
    }
}
