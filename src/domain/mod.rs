//! The pure core: rules and types with no I/O, no database, no clock.
//! Time comes in as an argument; errors are enums named for the rule.

/// Defines a closed set of words stored in the database and shown in forms.
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $word:literal, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The word stored in the database and sent by forms.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $word),+ }
            }

            /// How people read it.
            #[must_use]
            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label),+ }
            }

            #[must_use]
            pub fn parse(word: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == word)
            }
        }
    };
}

pub mod accrual;
pub mod application;
pub mod auto_invest;
pub mod disbursement;
pub mod disclosure;
pub mod distribution;
pub mod error;
pub mod identity;
pub mod ids;
pub mod installment;
pub mod investing;
pub mod investment;
pub mod investor;
pub mod journal;
pub mod lifecycle;
pub mod loan;
pub mod money;
pub mod offers;
pub mod outbox;
pub mod recovery;
pub mod repayment;
pub mod schedule;
pub mod scoring;
pub mod secondary;
pub mod settings;
pub mod split;
pub mod user;
pub mod wallet;
pub mod xirr;
