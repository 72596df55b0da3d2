//! The kinds of movement the ledger records (its entries' `kind`), in the
//! platform's words.

word_enum!(
    /// What a journal entry records; stored in `ledger_entries.kind`. A
    /// disbursement is a funded loan paid out: the investors' money to the
    /// borrower, the reserve fund and the fees wallet.
    EntryKind {
        Deposit => "deposit", "Deposit from bank account";
        Withdrawal => "withdrawal", "Withdrawal to bank account";
        Disbursement => "disbursement", "Loan paid out";
        Repayment => "repayment", "Loan repayment";
        Recovery => "recovery", "Recovery after a default";
        ReservePayout => "reserve_payout", "Reserve fund payout";
        SecondarySale => "secondary_sale", "Secondary market sale";
    }
);
