//! Wallet use cases: bank accounts, deposits and withdrawals. Each is one
//! transaction; money moves only through `ledger::store::post`.
//!
//! The bank transfer itself is simulated: a deposit is a posting from the
//! platform's `settlement` wallet (which mirrors money entering the
//! platform's nominal account), a withdrawal a posting back to it.

use chrono::NaiveTime;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter,
};
use uuid::Uuid;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::{bank_accounts, bank_transfers},
        queries::wallet as queries,
    },
    domain::ids::BankAccountId,
    domain::ids::UserId,
    domain::wallet::WalletKind,
    domain::{
        error::DomainError,
        money::{MAX_MINOR, Money},
        user::PersonName,
    },
    error::{AppError, FieldErrors},
    ledger::{EntryKind, JournalEntry, LedgerError, store},
    services::{
        RequestMeta,
        audit::{self, AuditEvent},
        idempotency::{self, IdempotencyKey},
        settings,
    },
};

/// Where a successful deposit or withdrawal sends the user.
pub const WALLET_PAGE: &str = "/wallet";

/// The refusal of a withdrawal larger than `available` (as people read it).
#[must_use]
pub fn over_withdrawal(available: &str) -> String {
    format!("You can withdraw at most {available}, the money available in your wallet.")
}

/// What one user may still withdraw today under the platform's daily limit
/// (a calendar day in UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithdrawalAllowance {
    pub limit: Money,
    pub withdrawn_today: Money,
}

impl WithdrawalAllowance {
    /// The limit less what was withdrawn today; never below zero.
    #[must_use]
    pub fn remaining(&self) -> Money {
        self.limit
            .checked_sub(self.withdrawn_today)
            .ok()
            .filter(|left| left.minor() >= 0)
            .unwrap_or_else(|| Money::zero(self.limit.currency()))
    }

    /// The refusal of a withdrawal above [`Self::remaining`].
    #[must_use]
    pub fn refusal(&self) -> String {
        format!(
            "You can withdraw at most {} more today: the daily limit is {} and {} has been \
             withdrawn since midnight UTC.",
            self.remaining(),
            self.limit,
            self.withdrawn_today
        )
    }
}

/// What `user_id` may still withdraw today, through `db` (pass the use
/// case's transaction, with the wallet locked, to decide on it).
///
/// # Errors
/// Database failures; `Unexpected` for a sum beyond what money holds.
pub async fn withdrawal_allowance(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    user_id: UserId,
) -> Result<WithdrawalAllowance, AppError> {
    let limit = settings::load(db).await?.daily_withdrawal_limit;
    let midnight = clock.today().and_time(NaiveTime::MIN).and_utc();
    let withdrawn = queries::withdrawn_since(db, user_id, midnight).await?;
    let withdrawn_today = Money::from_minor(withdrawn, limit.currency())
        .map_err(|err| anyhow::anyhow!("user {user_id} withdrew {withdrawn} today: {err}"))?;
    Ok(WithdrawalAllowance {
        limit,
        withdrawn_today,
    })
}

/// A bank account as validated from the form.
#[derive(Debug)]
pub struct NewBankAccount {
    pub holder_name: PersonName,
    pub bank_name: String,
    pub account_number: String,
}

impl NewBankAccount {
    /// # Errors
    /// Field errors for each invalid input.
    pub fn parse(holder: &str, bank: &str, number: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let holder_name = PersonName::parse(holder)
            .map_err(|e| errors.add("holder_name", e.to_string()))
            .ok();
        let bank_name = bank.trim();
        if bank_name.is_empty()
            || bank_name.chars().count() > 100
            || bank_name.chars().any(char::is_control)
        {
            errors.add(
                "bank_name",
                "Enter the bank's name (at most 100 characters).",
            );
        }
        let digits: String = number.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !(8..=34).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            errors.add(
                "account_number",
                "Enter the account number: 8 to 34 digits.",
            );
        }
        match holder_name {
            Some(holder_name) if errors.is_empty() => Ok(Self {
                holder_name,
                bank_name: bank_name.to_owned(),
                account_number: digits,
            }),
            _ => Err(errors),
        }
    }
}

/// "•••• 4821": enough to recognise an account, not enough to use it.
#[must_use]
pub fn mask(account_number: &str) -> String {
    let skip = account_number.chars().count().saturating_sub(4);
    format!(
        "•••• {}",
        account_number.chars().skip(skip).collect::<String>()
    )
}

/// Adds a bank account for `user_id`.
///
/// # Errors
/// Database failures.
pub async fn add_bank_account(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    user_id: UserId,
    account: NewBankAccount,
    meta: &RequestMeta,
) -> Result<BankAccountId, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let id = BankAccountId::new();
    bank_accounts::ActiveModel {
        id: Set(id.into()),
        user_id: Set(user_id.into()),
        holder_name: Set(account.holder_name.as_str().to_owned()),
        bank_name: Set(account.bank_name.clone()),
        account_number: Set(account.account_number.clone()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        AuditEvent {
            actor_id: Some(user_id),
            action: "bank_account_added",
            entity: Some(("bank_account", id.to_string())),
            before: None,
            after: Some(serde_json::json!({ "bank_name": account.bank_name, "account": mask(&account.account_number) })),
            meta,
            at: now,
        },
    )
    .await?;
    db::commit(txn).await?;
    Ok(id)
}

/// Removes one of the user's bank accounts, unless money has moved through it
/// (then it stays, for the record).
///
/// # Errors
/// `NotFound` for someone else's account; `Domain(BankAccountUsed)` for a used one.
pub async fn remove_bank_account(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    user_id: UserId,
    account_id: BankAccountId,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let txn = db::begin_write(db).await?;
    let account = own_bank_account(&txn, user_id, account_id).await?;
    let used = bank_transfers::Entity::find()
        .filter(bank_transfers::Column::BankAccountId.eq(account.id))
        .one(&txn)
        .await?
        .is_some();
    if used {
        return Err(DomainError::BankAccountUsed.into());
    }
    bank_accounts::Entity::delete_by_id(account.id)
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        AuditEvent {
            actor_id: Some(user_id),
            action: "bank_account_removed",
            entity: Some(("bank_account", account.id.to_string())),
            before: Some(serde_json::json!({ "bank_name": account.bank_name, "account": mask(&account.account_number) })),
            after: None,
            meta,
            at: clock.now(),
        },
    )
    .await?;
    db::commit(txn).await?;
    Ok(())
}

async fn own_bank_account(
    conn: &impl sea_orm::ConnectionTrait,
    user_id: UserId,
    account_id: BankAccountId,
) -> Result<bank_accounts::Model, AppError> {
    bank_accounts::Entity::find_by_id(account_id.as_uuid())
        .filter(bank_accounts::Column::UserId.eq(user_id))
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)
}

pub use crate::domain::wallet::Direction;

/// A deposit or withdrawal as the user asked for it.
#[derive(Debug)]
pub struct BankTransferRequest {
    pub direction: Direction,
    pub amount: Money,
    pub bank_account_id: BankAccountId,
    pub key: IdempotencyKey,
}

/// Moves money between the user's wallet and one of their bank accounts.
/// Returns where to send the user. A repeated submission (same key, same
/// values) moves nothing and returns the first answer.
///
/// # Errors
/// `Validation` on `amount` when a withdrawal exceeds the available balance;
/// `NotFound` for someone else's bank account; `Domain` for a reused key.
pub async fn transfer(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    user_id: UserId,
    request: &BankTransferRequest,
) -> Result<String, AppError> {
    let hash = idempotency::request_hash(&[
        request.direction.as_str(),
        &request.amount.minor().to_string(),
        request.amount.currency().code(),
        &request.bank_account_id.to_string(),
    ]);
    match attempt(db, clock, user_id, request, &hash).await {
        // A concurrent submission with the same key committed first: answer as it did.
        Err(lost) if idempotency::lost_race(&lost) => {
            idempotency::replay(db, user_id, &request.key, &hash)
                .await?
                .ok_or(lost)
        }
        other => other,
    }
}

async fn attempt(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    user_id: UserId,
    request: &BankTransferRequest,
    hash: &str,
) -> Result<String, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    idempotency::claim(&txn, user_id, &request.key, hash, WALLET_PAGE, now).await?;
    let account = own_bank_account(&txn, user_id, request.bank_account_id).await?;
    let currency = request.amount.currency().code();
    let wallet = queries::user_wallet(&txn, user_id, request.amount.currency())
        .await?
        .ok_or(AppError::NotFound)?;
    let settlement =
        store::platform_wallet(&txn, WalletKind::Settlement.as_str(), currency).await?;
    let (kind, from, to) = match request.direction {
        Direction::Deposit => (EntryKind::Deposit, settlement.id, wallet.id.as_uuid()),
        Direction::Withdrawal => (EntryKind::Withdrawal, wallet.id.as_uuid(), settlement.id),
    };
    if request.direction == Direction::Withdrawal {
        // Lock what the withdrawal will post to before reading today's sum,
        // so two withdrawals at once cannot both fit under the limit.
        store::lock_wallets(&txn, &[wallet.id.as_uuid(), settlement.id]).await?;
        let allowance = withdrawal_allowance(&txn, clock, user_id).await?;
        if request.amount.minor() > allowance.remaining().minor() {
            return Err(AppError::Validation(FieldErrors::single(
                "amount",
                allowance.refusal(),
            )));
        }
    }
    let memo = format!("{} {}", account.bank_name, mask(&account.account_number));
    let entry = JournalEntry::transfer(kind, memo, from, to, request.amount)
        .map_err(|err| AppError::Unexpected(err.into()))?;
    let entry_id = match store::post(&txn, &entry, Some(user_id), now).await {
        Ok(id) => id,
        Err(store::PostError::Ledger(LedgerError::InsufficientFunds { .. })) => {
            // Read again: `post` locked the wallet, so this is what was really there.
            let locked = queries::user_wallet(&txn, user_id, request.amount.currency())
                .await?
                .unwrap_or(wallet);
            return Err(AppError::Validation(FieldErrors::single(
                "amount",
                over_withdrawal(&locked.available().to_string()),
            )));
        }
        Err(store::PostError::Ledger(LedgerError::Money(_))) => {
            let largest = Money::from_minor(MAX_MINOR, request.amount.currency())
                .map_or_else(|_| String::new(), |m| m.to_string());
            return Err(AppError::Validation(FieldErrors::single(
                "amount",
                format!(
                    "This would take your wallet above the largest balance it can hold ({largest})."
                ),
            )));
        }
        Err(store::PostError::Ledger(err)) => return Err(AppError::Unexpected(err.into())),
        Err(store::PostError::Db(err)) => return Err(err.into()),
    };
    bank_transfers::ActiveModel {
        id: Set(Uuid::now_v7()),
        entry_id: Set(entry_id),
        bank_account_id: Set(account.id),
        direction: Set(request.direction.as_str().to_owned()),
        amount: Set(request.amount.minor()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    db::commit(txn).await?;
    Ok(WALLET_PAGE.to_owned())
}
