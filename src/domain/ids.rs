//! Typed ids: one newtype over [`Uuid`] per kind of record, so that a loan's
//! id cannot be passed where an investment's is expected. The rule of this
//! module: an id is never a bare `Uuid` above the database.
//!
//! The property is checked by the compiler, so it is written here as a
//! doctest that must fail to build:
//!
//! ```compile_fail,E0308
//! use crowdlend::domain::ids::{InvestmentId, LoanId};
//!
//! fn cancel(_investment: InvestmentId) {}
//!
//! cancel(LoanId::new()); // expected `InvestmentId`, found `LoanId`
//! ```
//!
//! Entity columns stay plain `Uuid` (the generated entities are never
//! hand-edited and carry no domain types): ids are converted at the
//! repository boundary, [`LoanId::from_uuid`] (or `From<Uuid>`) on the way
//! in and [`LoanId::as_uuid`] (or `From<LoanId> for Uuid`) on the way out.
//! This was chosen over sea-orm's `DeriveValueType` on the newtypes, which
//! would put a database derive in the pure domain (STYLE.md asks for one of
//! the two).
//!
//! Each id serializes as its UUID string (`#[serde(transparent)]`), so
//! `actix_web::web::Path<LoanId>` parses a path segment; a segment that is
//! not a UUID fails to parse, and the app answers 404 to that.

use std::{fmt, str::FromStr};

use uuid::Uuid;

/// A string that is not an id of the kind asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id: {reason}")]
pub struct ParseIdError {
    /// The kind of id that was expected, e.g. "loan".
    pub kind: &'static str,
    reason: uuid::Error,
}

/// Defines one typed id per line; the string is the kind's name in errors.
macro_rules! typed_ids {
    ($($(#[$meta:meta])* $name:ident => $kind:literal;)+) => {$(
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(Uuid);

        #[expect(
            clippy::new_without_default,
            reason = "a default id would be a fresh random one: a surprise inside a derived `Default`"
        )]
        impl $name {
            /// What this kind of id is called in messages.
            pub const KIND: &'static str = $kind;

            /// A new id: a UUID v7, so later ids sort after earlier ones
            /// (index locality). Its time prefix is only for ordering; no
            /// rule reads it.
            #[must_use]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The id a stored `Uuid` names (for the repositories).
            #[must_use]
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The `Uuid` to store or to query by (for the repositories).
            #[must_use]
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        /// The hyphenated lowercase UUID, as in URLs and the database.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        /// Any form [`Uuid::parse_str`] reads (hyphenated, simple, braced, URN).
        impl FromStr for $name {
            type Err = ParseIdError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(text)
                    .map(Self)
                    .map_err(|reason| ParseIdError { kind: $kind, reason })
            }
        }
    )+};
}

typed_ids! {
    /// An account (`users.id`): borrower, investor, staff or admin.
    UserId => "user";
    /// A loan request, from application to its end (`loan_requests.id`).
    LoanId => "loan";
    /// One investor's stake in one loan (`investments.id`).
    InvestmentId => "investment";
    /// A user's or the platform's wallet (`wallets.id`).
    WalletId => "wallet";
    /// One line of a loan's repayment schedule (`repayment_schedule.id`).
    InstallmentId => "installment";
    /// A registered bank account for deposits and withdrawals (`bank_accounts.id`).
    BankAccountId => "bank account";
    /// A stored document, such as a loan agreement (`documents.id`).
    DocumentId => "document";
    /// A queued email (`outbox_emails.id`).
    EmailId => "email";
    /// An amount received for a loan (`loan_payments.id`).
    PaymentId => "payment";
    /// An investor's auto-invest rule (`auto_invest_rules.id`).
    RuleId => "auto-invest rule";
    /// A lender's offer for a loan in listing mode `offers` (`offers.id`).
    OfferId => "offer";
    /// Principal offered on the secondary market (`secondary_listings.id`).
    ListingId => "listing";
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, de::value::StrDeserializer};

    use super::*;

    const TEXT: &str = "0193f000-0000-7000-8000-00000000002a";

    #[test]
    fn an_id_round_trips_through_its_text_and_its_uuid() {
        let id: LoanId = TEXT.parse().unwrap();
        assert_eq!(id.to_string(), TEXT);
        assert_eq!(id.as_uuid(), Uuid::parse_str(TEXT).unwrap());
        assert_eq!(LoanId::from_uuid(id.as_uuid()), id);
        assert_eq!(LoanId::from(Uuid::from(id)), id);
        let fresh = InvestmentId::new();
        assert_eq!(fresh.to_string().parse::<InvestmentId>(), Ok(fresh));
    }

    #[test]
    fn other_spellings_of_a_uuid_read_as_the_same_id() {
        let id: UserId = TEXT.parse().unwrap();
        for spelling in [
            "0193F000-0000-7000-8000-00000000002A",
            "0193f00000007000800000000000002a",
            "{0193f000-0000-7000-8000-00000000002a}",
            "urn:uuid:0193f000-0000-7000-8000-00000000002a",
        ] {
            assert_eq!(spelling.parse::<UserId>(), Ok(id), "{spelling}");
        }
    }

    #[test]
    fn text_that_is_not_a_uuid_is_refused_naming_the_kind() {
        for text in [
            "",
            "not-a-uuid",
            "42",
            "0193f000-0000-7000-8000-00000000002",
            "0193f000-0000-7000-8000-00000000002a0",
            "0193f000-0000-7000-8000-00000000002g",
            " 0193f000-0000-7000-8000-00000000002a",
        ] {
            let err = text.parse::<InstallmentId>().unwrap_err();
            assert_eq!(err.kind, "installment", "{text:?}");
            assert!(
                err.to_string().starts_with("not a valid installment id: "),
                "{err}"
            );
        }
        let err = "x".parse::<BankAccountId>().unwrap_err();
        assert!(err.to_string().starts_with("not a valid bank account id: "));
    }

    #[test]
    fn an_id_deserializes_from_a_path_segment_and_serializes_as_its_text() {
        let segment = StrDeserializer::<serde::de::value::Error>::new(TEXT);
        let id = WalletId::deserialize(segment).unwrap();
        assert_eq!(id.to_string(), TEXT);
        assert!(
            DocumentId::deserialize(StrDeserializer::<serde::de::value::Error>::new(
                "not-a-uuid"
            ))
            .is_err()
        );
        assert_eq!(
            serde_json::to_string(&EmailId::from_uuid(Uuid::parse_str(TEXT).unwrap())).unwrap(),
            format!("\"{TEXT}\"")
        );
        assert_eq!(
            serde_json::from_str::<EmailId>(&format!("\"{TEXT}\"")).unwrap(),
            TEXT.parse().unwrap()
        );
    }

    #[test]
    fn new_ids_are_distinct_and_sort_in_the_order_they_were_made() {
        let ids: Vec<LoanId> = (0..64).map(|_| LoanId::new()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids, "v7: later ids sort after earlier ones");
        assert_eq!(ids[0].as_uuid().get_version_num(), 7);
    }

    /// The kinds are distinct types; this only compiles because each call
    /// gets the id it asks for (the swapped call is the module's
    /// `compile_fail` doctest).
    #[test]
    fn each_kind_of_id_is_its_own_type() {
        fn pair(loan: LoanId, investment: InvestmentId) -> (Uuid, Uuid) {
            (loan.as_uuid(), investment.as_uuid())
        }
        let uuid = Uuid::parse_str(TEXT).unwrap();
        let (loan, investment) = pair(LoanId::from_uuid(uuid), InvestmentId::from_uuid(uuid));
        assert_eq!(loan, investment, "the same uuid, two different ids");
        assert_eq!(LoanId::KIND, "loan");
        assert_eq!(EmailId::KIND, "email");
    }
}
