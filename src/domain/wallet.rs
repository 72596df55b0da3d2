//! Wallets as the use cases see them: whose, of which kind, and what they
//! hold (`db::repo::wallets` builds them from the stored rows; the ledger
//! moves their money).

use crate::domain::{
    ids::{UserId, WalletId},
    money::{Currency, Money},
};

word_enum!(
    /// What a wallet is for; stored in `wallets.kind`.
    WalletKind {
        User => "user", "A person's wallet";
        Settlement => "settlement", "Money entering and leaving the platform";
        Fees => "fees", "The platform's fees";
        ReserveFund => "reserve_fund", "The reserve fund";
    }
);

word_enum!(
    /// Which way money crosses the platform's boundary; stored in
    /// `bank_transfers.direction`.
    Direction {
        Deposit => "deposit", "Deposit";
        Withdrawal => "withdrawal", "Withdrawal";
    }
);

/// One wallet in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    pub id: WalletId,
    /// `None` for the platform's own wallets.
    pub owner: Option<UserId>,
    pub kind: WalletKind,
    pub balance: Money,
    /// Earmarked for open commitments (never more than the balance).
    pub reserved: Money,
}

/// `owner`'s wallet among `wallets`.
#[must_use]
pub fn owned_by(wallets: &[Wallet], owner: UserId) -> Option<&Wallet> {
    wallets.iter().find(|w| w.owner == Some(owner))
}

/// The platform's wallet of `kind` among `wallets`.
#[must_use]
pub fn platform(wallets: &[Wallet], kind: WalletKind) -> Option<&Wallet> {
    wallets.iter().find(|w| w.owner.is_none() && w.kind == kind)
}

impl Wallet {
    #[must_use]
    pub fn currency(&self) -> Currency {
        self.balance.currency()
    }

    /// What may be committed or withdrawn: the balance less what is reserved.
    #[must_use]
    pub fn available(&self) -> Money {
        self.balance
            .checked_sub(self.reserved)
            .unwrap_or_else(|_| Money::zero(self.currency()))
    }
}
