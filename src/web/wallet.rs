//! `/wallet`: balance, history (page and CSV), bank accounts, and deposits
//! and withdrawals. A transfer goes form → confirmation (a GET with the
//! values as query parameters, DESIGN.md section 10) → POST, which moves the
//! money once whatever the browser repeats.

use std::time::Instant;

use actix_session::Session;
use actix_web::{
    HttpResponse,
    web::{Data, Path, Query},
};
use askama::Template;
use serde::Deserialize;

use crate::{
    db::queries::{
        Page,
        wallet::{self as queries, BankAccount, HistoryRow},
    },
    domain::{
        ids::BankAccountId,
        journal::EntryKind,
        money::{Currency, Money},
        wallet::Wallet,
    },
    error::{AppError, FieldErrors},
    format,
    services::{
        RequestMeta, auth,
        idempotency::IdempotencyKey,
        wallet::{self, BankTransferRequest, Direction, NewBankAccount, WithdrawalAllowance},
    },
    state::AppState,
    web::{
        error::{WebError, refusal},
        extractors::{ClientMeta, CurrentUser},
        forms::{Empty, StrictForm},
        layout::{BaseCtx, form_status, render, see_other},
        session::{self, FlashLevel, SessionUser},
    },
};

/// Wallets are in roubles until multi-currency wallets arrive.
const CURRENCY: Currency = Currency::Rub;

struct AccountOption {
    id: BankAccountId,
    label: String,
}

struct HistoryLine {
    date: String,
    description: String,
    amount: String,
    incoming: bool,
    balance_after: String,
}

struct Balances {
    balance: String,
    reserved: String,
    available: String,
    available_minor: i64,
}

#[derive(Template)]
#[template(path = "wallet/index.html")]
struct WalletPage {
    base: BaseCtx,
    balances: Balances,
    accounts: Vec<AccountOption>,
    history: Page<HistoryLine>,
    holder_name: String,
    bank_name: String,
    account_number: String,
    errors: FieldErrors,
    ask_password: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletQuery {
    page: Option<u64>,
    format: Option<String>,
}

fn show_money(minor: i64) -> String {
    format::money(minor, CURRENCY)
}

/// The user's wallet and their bank accounts as choices, in one statement.
async fn own_wallet_and_accounts(
    state: &AppState,
    user: &SessionUser,
) -> Result<(Wallet, Vec<AccountOption>), WebError> {
    let (wallet, accounts) = queries::wallet_and_accounts(&state.db, user.id, CURRENCY)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok((wallet, accounts.into_iter().map(account_option).collect()))
}

fn balances(wallet: &Wallet) -> Balances {
    let available = wallet.available();
    Balances {
        balance: wallet.balance.to_string(),
        reserved: wallet.reserved.to_string(),
        available: available.to_string(),
        available_minor: available.minor(),
    }
}

/// What the transfer pages show of the user's money and accounts, and for a
/// withdrawal what is left of today's limit.
struct Holdings {
    balances: Balances,
    accounts: Vec<AccountOption>,
    allowance: Option<WithdrawalAllowance>,
}

async fn holdings(
    state: &AppState,
    user: &SessionUser,
    direction: Direction,
) -> Result<Holdings, WebError> {
    let allowance = match direction {
        Direction::Withdrawal => {
            Some(wallet::withdrawal_allowance(&state.db, state.clock.as_ref(), user.id).await?)
        }
        Direction::Deposit => None,
    };
    let (wallet, accounts) = own_wallet_and_accounts(state, user).await?;
    Ok(Holdings {
        balances: balances(&wallet),
        accounts,
        allowance,
    })
}

fn account_option(account: BankAccount) -> AccountOption {
    AccountOption {
        id: account.id,
        label: format!(
            "{} {} ({})",
            account.bank_name,
            wallet::mask(&account.account_number),
            account.holder_name
        ),
    }
}

async fn account_options(
    state: &AppState,
    user: &SessionUser,
) -> Result<Vec<AccountOption>, WebError> {
    Ok(queries::bank_accounts(&state.db, user.id)
        .await?
        .into_iter()
        .map(account_option)
        .collect())
}

fn history_line(row: HistoryRow) -> HistoryLine {
    HistoryLine {
        date: format::datetime(&row.created_at),
        description: format!(
            "{} · {}",
            EntryKind::parse(&row.kind).map_or("Other movement", EntryKind::label),
            row.memo
        ),
        amount: show_money(row.amount),
        incoming: row.amount > 0,
        balance_after: show_money(row.balance_after),
    }
}

async fn render_wallet(
    base: BaseCtx,
    state: &AppState,
    user: &SessionUser,
    page: Option<u64>,
    form: BankAccountForm,
    errors: FieldErrors,
    ask_password: bool,
) -> Result<HttpResponse, WebError> {
    let view = queries::wallet_view(&state.db, user.id, CURRENCY, page)
        .await?
        .ok_or(WebError::NotFound)?;
    let history = view.history;
    let status = form_status(&errors);
    render(
        status,
        &WalletPage {
            base,
            balances: balances(&view.wallet),
            accounts: view.accounts.into_iter().map(account_option).collect(),
            history: Page {
                items: history.items.into_iter().map(history_line).collect(),
                page: history.page,
                pages: history.pages,
                total: history.total,
            },
            holder_name: form.holder_name,
            bank_name: form.bank_name,
            account_number: form.account_number,
            errors,
            ask_password,
        },
    )
}

pub async fn show(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    Query(query): Query<WalletQuery>,
) -> Result<HttpResponse, WebError> {
    match query.format.as_deref() {
        None | Some("" | "html") => {
            render_wallet(
                base,
                &state,
                &user,
                query.page,
                BankAccountForm::default(),
                FieldErrors::new(),
                needs_password(&session, &state),
            )
            .await
        }
        Some("csv") => {
            let mut csv = String::from("date,type,description,amount,balance_after\n");
            for row in queries::full_history(&state.db, user.id, CURRENCY).await? {
                let amount = Money::from_minor(row.amount, CURRENCY)
                    .map_or(row.amount.to_string(), |m| m.amount().to_string());
                let after = Money::from_minor(row.balance_after, CURRENCY)
                    .map_or(row.balance_after.to_string(), |m| m.amount().to_string());
                csv.push_str(&format!(
                    "{},{},{},{amount},{after}\n",
                    row.created_at.format("%Y-%m-%d %H:%M:%S"),
                    row.kind,
                    csv_field(&row.memo)
                ));
            }
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    "Content-Disposition",
                    "attachment; filename=\"wallet-history.csv\"",
                ))
                .body(csv))
        }
        Some(_) => Err(WebError::BadRequest(
            "The format must be csv or html.".into(),
        )),
    }
}

/// Quotes a CSV field, and defuses spreadsheet formulas (`=`, `+`, `-`, `@`).
fn csv_field(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BankAccountForm {
    holder_name: String,
    bank_name: String,
    account_number: String,
    /// Asked for when it was last typed long ago.
    password: String,
}

pub async fn add_bank_account(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    StrictForm(mut form): StrictForm<BankAccountForm>,
) -> Result<HttpResponse, WebError> {
    let password = std::mem::take(&mut form.password);
    let result = async {
        let account =
            NewBankAccount::parse(&form.holder_name, &form.bank_name, &form.account_number)
                .map_err(AppError::Validation)?;
        reconfirm(&session, &state, &user, &meta, password).await?;
        wallet::add_bank_account(&state.db, state.clock.as_ref(), user.id, account, &meta).await
    }
    .await;
    match result {
        Ok(_) => {
            session::flash(&session, FlashLevel::Success, "Bank account added.");
            Ok(see_other("/wallet#bank-accounts"))
        }
        Err(AppError::Validation(errors)) => {
            let ask_password = needs_password(&session, &state);
            render_wallet(base, &state, &user, None, form, errors, ask_password).await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn remove_bank_account(
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    path: Path<BankAccountId>,
    StrictForm(_): StrictForm<Empty>,
) -> Result<HttpResponse, WebError> {
    match wallet::remove_bank_account(
        &state.db,
        state.clock.as_ref(),
        user.id,
        path.into_inner(),
        &meta,
    )
    .await
    {
        Ok(()) => session::flash(&session, FlashLevel::Success, "Bank account removed."),
        Err(AppError::Domain(reason)) => {
            session::flash(&session, FlashLevel::Warning, refusal(&reason));
        }
        Err(other) => return Err(other.into()),
    }
    Ok(see_other("/wallet#bank-accounts"))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferQuery {
    amount: Option<String>,
    bank_account_id: Option<String>,
    /// Set by the confirmation's "Change" link: show the filled-in form again.
    change: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransferForm {
    amount: String,
    bank_account_id: String,
    idempotency_key: String,
    /// Asked for on withdrawals when it was last typed long ago.
    password: String,
}

/// The values of a confirmed transfer, shown and carried in hidden fields.
struct Confirmation {
    amount: String,
    amount_input: String,
    account_label: String,
    bank_account_id: BankAccountId,
    idempotency_key: String,
}

impl Confirmation {
    fn new(
        amount: Money,
        account_id: BankAccountId,
        accounts: &[AccountOption],
        key: String,
    ) -> Self {
        Self {
            amount: amount.to_string(),
            amount_input: amount.amount().to_string(),
            account_label: accounts
                .iter()
                .find(|a| a.id == account_id)
                .map(|a| a.label.clone())
                .unwrap_or_default(),
            bank_account_id: account_id,
            idempotency_key: key,
        }
    }
}

#[derive(Template)]
#[template(path = "wallet/transfer.html")]
struct TransferPage {
    base: BaseCtx,
    withdrawal: bool,
    available: String,
    /// For a withdrawal: "X more today (the daily limit is Y)".
    allowance: Option<AllowanceView>,
    accounts: Vec<AccountOption>,
    amount: String,
    bank_account_id: String,
    errors: FieldErrors,
    confirmation: Option<Confirmation>,
    ask_password: bool,
}

struct AllowanceView {
    remaining: String,
    limit: String,
}

impl TransferPage {
    fn action(&self) -> &'static str {
        if self.withdrawal {
            "/wallet/withdraw"
        } else {
            "/wallet/deposit"
        }
    }

    fn is_selected(&self, id: &BankAccountId) -> bool {
        self.bank_account_id == id.to_string()
    }
}

/// The amount and the user's own bank account, or messages for the form.
fn validate(
    amount: &str,
    bank_account_id: &str,
    accounts: &[AccountOption],
) -> Result<(Money, BankAccountId), FieldErrors> {
    let mut errors = FieldErrors::new();
    let money = match Money::parse(amount, CURRENCY) {
        Ok(money) if money.is_positive() => Some(money),
        Ok(_) => {
            errors.add("amount", "Enter an amount greater than zero.");
            None
        }
        Err(err) => {
            errors.add("amount", err.to_string());
            None
        }
    };
    let account = bank_account_id
        .trim()
        .parse::<BankAccountId>()
        .ok()
        .filter(|id| accounts.iter().any(|a| a.id == *id));
    if account.is_none() {
        errors.add("bank_account_id", "Choose one of your bank accounts.");
    }
    match (money, account) {
        (Some(money), Some(account)) => Ok((money, account)),
        _ => Err(errors),
    }
}

/// What the transfer page shows: the form (with what was typed and what is
/// wrong with it), or the confirmation of valid values (with what is wrong
/// with the password, when it was asked for).
enum Step {
    Form {
        amount: String,
        bank_account_id: String,
        errors: FieldErrors,
    },
    Confirm(Confirmation, FieldErrors),
}

impl Step {
    fn form(amount: String, bank_account_id: String, errors: FieldErrors) -> Self {
        Self::Form {
            amount,
            bank_account_id,
            errors,
        }
    }
}

fn transfer_page(
    base: BaseCtx,
    direction: Direction,
    ask_password: bool,
    holdings: Holdings,
    step: Step,
) -> Result<HttpResponse, WebError> {
    let (amount, bank_account_id, errors, confirmation) = match step {
        Step::Form {
            amount,
            bank_account_id,
            errors,
        } => (amount, bank_account_id, errors, None),
        Step::Confirm(confirmation, errors) => {
            (String::new(), String::new(), errors, Some(confirmation))
        }
    };
    render(
        form_status(&errors),
        &TransferPage {
            base,
            withdrawal: direction == Direction::Withdrawal,
            available: holdings.balances.available,
            allowance: holdings.allowance.map(|a| AllowanceView {
                remaining: a.remaining().to_string(),
                limit: a.limit.to_string(),
            }),
            accounts: holdings.accounts,
            amount,
            bank_account_id,
            errors,
            confirmation,
            ask_password,
        },
    )
}

/// Withdrawals and new bank details need a password typed in the last
/// [`session::PASSWORD_FRESH_MINUTES`] (ASVS 3.7.1): at sign-in, or here.
fn needs_password(session: &Session, state: &AppState) -> bool {
    !session::password_is_fresh(session, state.clock.now())
}

/// Checks the password typed for a sensitive action, when one is needed.
async fn reconfirm(
    session: &Session,
    state: &AppState,
    user: &SessionUser,
    meta: &RequestMeta,
    password: String,
) -> Result<(), AppError> {
    if !needs_password(session, state) {
        return Ok(());
    }
    if password.is_empty() {
        return Err(AppError::Validation(FieldErrors::single(
            "password",
            format!(
                "Enter your password to confirm: you last typed it more than {} minutes ago.",
                session::PASSWORD_FRESH_MINUTES
            ),
        )));
    }
    auth::confirm_password(&state.db, state.clock.as_ref(), user.id, password, meta).await?;
    session::password_confirmed(session, state.clock.now());
    Ok(())
}

/// The confirmation page, or the form again when something is missing or wrong.
async fn confirm(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    user: SessionUser,
    direction: Direction,
    query: TransferQuery,
) -> Result<HttpResponse, WebError> {
    let holdings = holdings(&state, &user, direction).await?;
    let step = match (query.amount, query.bank_account_id) {
        (Some(amount), Some(bank_account_id)) if query.change.is_none() => {
            match validate(&amount, &bank_account_id, &holdings.accounts) {
                Ok((money, account_id)) => {
                    let available = &holdings.balances;
                    let over_limit = holdings
                        .allowance
                        .filter(|a| money.minor() > a.remaining().minor());
                    if direction == Direction::Withdrawal
                        && money.minor() > available.available_minor
                    {
                        let errors = FieldErrors::single(
                            "amount",
                            wallet::over_withdrawal(&available.available),
                        );
                        Step::form(amount, bank_account_id, errors)
                    } else if let Some(allowance) = over_limit {
                        let errors = FieldErrors::single("amount", allowance.refusal());
                        Step::form(amount, bank_account_id, errors)
                    } else {
                        let key = IdempotencyKey::generate();
                        let confirmation =
                            Confirmation::new(money, account_id, &holdings.accounts, key);
                        Step::Confirm(confirmation, FieldErrors::new())
                    }
                }
                Err(errors) => Step::form(amount, bank_account_id, errors),
            }
        }
        (amount, bank_account_id) => Step::form(
            amount.unwrap_or_default(),
            bank_account_id.unwrap_or_default(),
            FieldErrors::new(),
        ),
    };
    let ask_password = direction == Direction::Withdrawal && needs_password(&session, &state);
    transfer_page(base, direction, ask_password, holdings, step)
}

async fn submit(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    (user, meta): (SessionUser, RequestMeta),
    direction: Direction,
    form: TransferForm,
) -> Result<HttpResponse, WebError> {
    let key = IdempotencyKey::parse(&form.idempotency_key)?;
    let accounts = account_options(&state, &user).await?;
    let (amount, bank_account_id) = match validate(&form.amount, &form.bank_account_id, &accounts) {
        Ok(valid) => valid,
        Err(errors) => {
            let step = Step::form(form.amount, form.bank_account_id, errors);
            return transfer_page(
                base,
                direction,
                false,
                holdings(&state, &user, direction).await?,
                step,
            );
        }
    };
    state
        .money_limit
        .admit(user.id, Some(key.as_str()), Instant::now())?;
    if direction == Direction::Withdrawal {
        match reconfirm(&session, &state, &user, &meta, form.password).await {
            Ok(()) => {}
            Err(AppError::Validation(errors)) => {
                let confirmation =
                    Confirmation::new(amount, bank_account_id, &accounts, form.idempotency_key);
                let step = Step::Confirm(confirmation, errors);
                return transfer_page(
                    base,
                    direction,
                    true,
                    holdings(&state, &user, direction).await?,
                    step,
                );
            }
            Err(other) => return Err(other.into()),
        }
    }
    let request = BankTransferRequest {
        direction,
        amount,
        bank_account_id,
        key,
    };
    match wallet::transfer(&state.db, state.clock.as_ref(), user.id, &request).await {
        Ok(location) => {
            let message = match direction {
                Direction::Deposit => format!("{amount} has been added to your wallet."),
                Direction::Withdrawal => format!("{amount} is on its way to your bank account."),
            };
            session::flash(&session, FlashLevel::Success, message);
            Ok(see_other(&location))
        }
        Err(AppError::Validation(errors)) => {
            let step = Step::form(form.amount, form.bank_account_id, errors);
            transfer_page(
                base,
                direction,
                false,
                holdings(&state, &user, direction).await?,
                step,
            )
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn confirm_deposit(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    Query(query): Query<TransferQuery>,
) -> Result<HttpResponse, WebError> {
    confirm(base, session, state, user, Direction::Deposit, query).await
}

pub async fn confirm_withdrawal(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    Query(query): Query<TransferQuery>,
) -> Result<HttpResponse, WebError> {
    confirm(base, session, state, user, Direction::Withdrawal, query).await
}

pub async fn deposit(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    StrictForm(form): StrictForm<TransferForm>,
) -> Result<HttpResponse, WebError> {
    submit(base, session, state, (user, meta), Direction::Deposit, form).await
}

pub async fn withdraw(
    base: BaseCtx,
    session: Session,
    state: Data<AppState>,
    CurrentUser(user): CurrentUser,
    ClientMeta(meta): ClientMeta,
    StrictForm(form): StrictForm<TransferForm>,
) -> Result<HttpResponse, WebError> {
    submit(
        base,
        session,
        state,
        (user, meta),
        Direction::Withdrawal,
        form,
    )
    .await
}
