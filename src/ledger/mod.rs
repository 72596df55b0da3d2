//! The double-entry ledger (DESIGN.md section 6). Every movement of money is
//! one journal entry of two or more postings that sum to zero; accounts are
//! wallets. `JournalEntry` can only be built balanced; `store::post` is the
//! one way an entry reaches the database.

pub mod store;
pub mod verify;

use chrono::{DateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::money::{Money, MoneyError};

pub use crate::domain::journal::EntryKind;

/// One side of an entry: `amount` minor units into (positive) or out of
/// (negative) a wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub wallet_id: Uuid,
    pub amount: i64,
}

/// A balanced journal entry, postings ordered by wallet id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    kind: EntryKind,
    memo: String,
    postings: Vec<Posting>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("an entry needs at least two postings")]
    TooFewPostings,
    #[error("a posting cannot be zero")]
    ZeroPosting,
    #[error("a wallet appears twice in one entry")]
    RepeatedWallet,
    #[error("the postings do not sum to zero")]
    Unbalanced,
    #[error("wallet {0} does not exist")]
    UnknownWallet(Uuid),
    #[error("the wallets of one entry must share a currency")]
    MixedCurrencies,
    #[error("not enough available money in the wallet")]
    InsufficientFunds { wallet_id: Uuid },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl JournalEntry {
    /// # Errors
    /// A [`LedgerError`] unless the postings are two or more, non-zero, on
    /// distinct wallets, and sum to zero.
    pub fn new(
        kind: EntryKind,
        memo: impl Into<String>,
        mut postings: Vec<Posting>,
    ) -> Result<Self, LedgerError> {
        if postings.len() < 2 {
            return Err(LedgerError::TooFewPostings);
        }
        if postings.iter().any(|p| p.amount == 0) {
            return Err(LedgerError::ZeroPosting);
        }
        postings.sort_by_key(|p| p.wallet_id);
        if postings
            .windows(2)
            .any(|pair| pair[0].wallet_id == pair[1].wallet_id)
        {
            return Err(LedgerError::RepeatedWallet);
        }
        if postings.iter().map(|p| i128::from(p.amount)).sum::<i128>() != 0 {
            return Err(LedgerError::Unbalanced);
        }
        Ok(Self {
            kind,
            memo: memo.into(),
            postings,
        })
    }

    /// The entry that moves each `(wallet, amount)`, amounts of one wallet
    /// added up and wallets that net to nothing left out (a use case adds
    /// what each party gets and gives; the entry holds each wallet once).
    ///
    /// # Errors
    /// As [`JournalEntry::new`].
    pub fn netted(
        kind: EntryKind,
        memo: impl Into<String>,
        amounts: impl IntoIterator<Item = (Uuid, i64)>,
    ) -> Result<Self, LedgerError> {
        let mut net: std::collections::BTreeMap<Uuid, i64> = std::collections::BTreeMap::new();
        for (wallet_id, amount) in amounts {
            *net.entry(wallet_id).or_default() += amount;
        }
        Self::new(
            kind,
            memo,
            net.into_iter()
                .filter(|(_, amount)| *amount != 0)
                .map(|(wallet_id, amount)| Posting { wallet_id, amount })
                .collect(),
        )
    }

    /// `amount` from one wallet to another.
    ///
    /// # Errors
    /// As [`JournalEntry::new`].
    pub fn transfer(
        kind: EntryKind,
        memo: impl Into<String>,
        from: Uuid,
        to: Uuid,
        amount: Money,
    ) -> Result<Self, LedgerError> {
        let minor = amount.minor();
        Self::new(
            kind,
            memo,
            vec![
                Posting {
                    wallet_id: from,
                    amount: -minor,
                },
                Posting {
                    wallet_id: to,
                    amount: minor,
                },
            ],
        )
    }

    #[must_use]
    pub fn kind(&self) -> EntryKind {
        self.kind
    }

    #[must_use]
    pub fn memo(&self) -> &str {
        &self.memo
    }

    #[must_use]
    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }
}

/// Entry timestamps keep microseconds: what both databases store exactly,
/// so a hash computed before the insert still matches after reading back.
#[must_use]
pub fn ledger_time(now: DateTime<Utc>) -> DateTime<Utc> {
    now.trunc_subsecs(6)
}

/// What an entry's hash covers, in a fixed text form.
#[derive(Debug)]
pub struct HashInput<'a> {
    pub prev_hash: Option<&'a str>,
    pub seq: i64,
    pub id: Uuid,
    pub kind: &'a str,
    pub memo: &'a str,
    pub created_at: DateTime<Utc>,
    /// (wallet, amount, balance after), ordered by wallet id.
    pub postings: &'a [(Uuid, i64, i64)],
}

/// SHA-256 over the previous hash and the entry's content: changing any
/// stored entry, posting or balance breaks every hash after it.
#[must_use]
pub fn entry_hash(input: &HashInput<'_>) -> String {
    let mut hasher = Sha256::new();
    let mut line = |text: &str| {
        hasher.update(text.as_bytes());
        hasher.update(b"\n");
    };
    line(input.prev_hash.unwrap_or("genesis"));
    line(&input.seq.to_string());
    line(&input.id.to_string());
    line(input.kind);
    line(input.memo);
    line(
        &input
            .created_at
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string(),
    );
    for (wallet, amount, balance_after) in input.postings {
        line(&format!("{wallet} {amount} {balance_after}"));
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wallet(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn a_netted_entry_holds_each_wallet_once_and_drops_those_that_net_to_nothing() {
        let entry = JournalEntry::netted(
            EntryKind::Repayment,
            "",
            [
                (wallet(3), 40),
                (wallet(1), -100),
                (wallet(3), 50),
                (wallet(2), 10),
                (wallet(4), 0),
            ],
        )
        .unwrap();
        let postings: Vec<(Uuid, i64)> = entry
            .postings()
            .iter()
            .map(|p| (p.wallet_id, p.amount))
            .collect();
        assert_eq!(
            postings,
            [(wallet(1), -100), (wallet(2), 10), (wallet(3), 90)]
        );
        assert_eq!(
            JournalEntry::netted(EntryKind::Repayment, "", [(wallet(1), 5), (wallet(1), -5)]),
            Err(LedgerError::TooFewPostings)
        );
    }

    #[test]
    fn only_balanced_entries_can_be_built() {
        let p = |w, amount| Posting {
            wallet_id: wallet(w),
            amount,
        };
        assert!(JournalEntry::new(EntryKind::Deposit, "", vec![p(1, -5), p(2, 5)]).is_ok());
        assert!(
            JournalEntry::new(EntryKind::Deposit, "", vec![p(1, -5), p(2, 3), p(3, 2)]).is_ok()
        );
        assert_eq!(
            JournalEntry::new(EntryKind::Deposit, "", vec![p(1, 5)]),
            Err(LedgerError::TooFewPostings)
        );
        assert_eq!(
            JournalEntry::new(EntryKind::Deposit, "", vec![p(1, -5), p(2, 4)]),
            Err(LedgerError::Unbalanced)
        );
        assert_eq!(
            JournalEntry::new(EntryKind::Deposit, "", vec![p(1, 0), p(2, 0)]),
            Err(LedgerError::ZeroPosting)
        );
        assert_eq!(
            JournalEntry::new(EntryKind::Deposit, "", vec![p(1, -5), p(1, 5)]),
            Err(LedgerError::RepeatedWallet)
        );
        assert_eq!(
            JournalEntry::new(
                EntryKind::Deposit,
                "",
                vec![p(1, i64::MAX), p(2, i64::MAX), p(3, 2)]
            ),
            Err(LedgerError::Unbalanced),
            "no overflow trick balances an entry"
        );
    }

    #[test]
    fn the_hash_changes_with_any_part_of_the_entry() {
        let postings = [(wallet(1), -500, -500), (wallet(2), 500, 500)];
        let base = HashInput {
            prev_hash: None,
            seq: 1,
            id: wallet(9),
            kind: "deposit",
            memo: "",
            created_at: DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap(),
            postings: &postings,
        };
        let original = entry_hash(&base);
        assert_eq!(original.len(), 64);
        assert_eq!(original, entry_hash(&base), "deterministic");
        let tampered = [(wallet(1), -501, -501), (wallet(2), 501, 501)];
        assert_ne!(
            original,
            entry_hash(&HashInput {
                postings: &tampered,
                ..base
            })
        );
        assert_ne!(
            original,
            entry_hash(&HashInput {
                prev_hash: Some("x"),
                ..base
            })
        );
        assert_ne!(original, entry_hash(&HashInput { seq: 2, ..base }));
    }
}
