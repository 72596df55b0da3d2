//! Default and recovery (DESIGN.md section 7). A loan overdue too long (the
//! `defaults` job) or declared so by staff with a reason becomes
//! `defaulted` in one transaction: its unpaid installments written off, its
//! investments `defaulted`, and the reserve fund paying every stake its
//! outstanding principal, pro rata up to the fund's available balance.
//! What the borrower pays afterwards is a recovery, shared as
//! `domain::recovery` says (the fund repaid first for what it covered).
//!
//! Locks: the loan first, then (through the ledger) the wallets posted to,
//! as a payment does.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect,
    sea_query::{Expr, Query},
};
use url::Url;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::{distributions, loan_payments, loan_requests, reserve_fund_events},
        repo::{installments, investments, loans, users, wallets},
    },
    domain::{
        error::DomainError,
        ids::{InvestmentId, LoanId, PaymentId, UserId},
        installment::{InstallmentEvent, InstallmentStatus},
        investment::{Investment, InvestmentEvent, InvestmentStatus, investors_of},
        journal::EntryKind,
        lifecycle::{LoanEvent, LoanStatus},
        loan::Loan,
        money::{Money, MoneyError},
        recovery::{self, RecoveryShare, ReserveEventKind, Stake},
        repayment::LoanPaymentKind,
        split::{self, Holding},
        wallet::{self, Wallet, WalletKind},
    },
    error::{AppError, FieldErrors},
    ledger::{JournalEntry, store},
    mail::messages::{LoanDefaulted, RecoveryReceived},
    paths,
    services::{
        RequestMeta, audit, funding::short_id, outbox, penalties, receipts, repayment::Paid,
        settings,
    },
};

/// Why a loan is declared defaulted.
#[derive(Debug, Clone, Copy)]
pub enum Cause<'a> {
    /// The `defaults` job: an installment overdue more than the setting's days.
    Overdue,
    /// Staff, with their reason.
    Staff {
        staff: UserId,
        reason: &'a str,
        meta: &'a RequestMeta,
    },
}

/// What a default did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaulted {
    /// The stakes' principal outstanding.
    pub outstanding: Money,
    /// What the reserve fund paid of it.
    pub covered: Money,
}

/// The most a reason may say.
pub const REASON_LENGTH: usize = 1_000;

fn money_error(loan: LoanId) -> impl Fn(MoneyError) -> AppError {
    move |err| AppError::unexpected(anyhow::anyhow!("loan {loan}: {err}"))
}

/// The oldest unpaid due date of the loan's overdue installments.
fn oldest_overdue(rows: &[crate::domain::installment::Installment]) -> Option<NaiveDate> {
    rows.iter()
        .filter(|r| r.status == InstallmentStatus::Overdue)
        .map(|r| r.due_date)
        .min()
}

/// Declares `loan_id` defaulted, in one transaction. For `Cause::Overdue`
/// only when an installment is still overdue more than the setting's days
/// (checked under the loan's lock: `None` otherwise).
///
/// # Errors
/// `Domain(NotRepaying)` for a loan not being repaid; `Validation` on
/// `reason` for an empty or too long one; `NotFound`; database failures.
pub async fn declare(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    loan_id: LoanId,
    cause: Cause<'_>,
    base_url: &Url,
) -> Result<Option<Defaulted>, AppError> {
    if let Cause::Staff { reason, .. } = cause {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > REASON_LENGTH {
            return Err(AppError::Validation(FieldErrors::single(
                "reason",
                format!("Say why the loan is in default, in 1 to {REASON_LENGTH} characters."),
            )));
        }
    }
    let (now, today) = (clock.now(), clock.today());
    let txn = db::begin_write(db).await?;
    let loan = loans::lock(&txn, loan_id).await?;
    if loan.status != LoanStatus::Active {
        return Err(DomainError::NotRepaying {
            status: loan.status,
        }
        .into());
    }
    let settings = settings::load(&txn).await?;
    let rows = installments::of_loan(&txn, loan.id, loan.currency()).await?;
    let reason = match cause {
        Cause::Overdue => {
            let limit = today
                .checked_sub_days(chrono::Days::new(u64::from(settings.default_after_days)))
                .unwrap_or(NaiveDate::MIN);
            match oldest_overdue(&rows) {
                Some(due) if due < limit => format!(
                    "An installment due on {} stayed unpaid more than {} days.",
                    crate::format::day(due),
                    settings.default_after_days
                ),
                _ => return Ok(None),
            }
        }
        Cause::Staff { reason, .. } => reason.trim().to_owned(),
    };
    // The claim includes the penalties up to the default.
    let (rows, _) = penalties::accrue(&txn, &loan, rows, &settings, (now, today), base_url).await?;
    for row in rows
        .iter()
        .filter(|r| InstallmentStatus::UNPAID.contains(&r.status))
    {
        installments::apply(&txn, row, InstallmentEvent::WriteOff, now).await?;
    }
    let holders = investments::of_loan(&txn, &loan, &[InvestmentStatus::Active]).await?;
    let returned = receipts::returned_principal(&txn, &[loan.id]).await?;
    let outstanding: Vec<(Investment, Money)> = holders
        .iter()
        .map(|h| {
            let back = returned.get(&h.id).copied().unwrap_or(0);
            Ok((
                h.clone(),
                Money::from_minor(h.amount.minor() - back, loan.currency())?,
            ))
        })
        .collect::<Result<_, MoneyError>>()
        .map_err(money_error(loan.id))?;
    let covered = cover_from_reserve(&txn, &loan, &outstanding, now).await?;
    investments::apply_to_loan(
        &txn,
        loan.id,
        InvestmentStatus::Active,
        InvestmentEvent::Default,
        holders.len(),
        now,
    )
    .await?;
    let changes = loan_requests::ActiveModel {
        closed_at: Set(Some(now)),
        default_reason: Set(Some(reason.clone())),
        ..Default::default()
    };
    loans::apply(&txn, &loan, LoanEvent::Default, now, changes).await?;

    let total_outstanding = sum(outstanding.iter().map(|(_, m)| *m), &loan)?;
    let total_covered = sum(covered.values().copied(), &loan)?;
    tell_default(&txn, &loan, &outstanding, &covered, now, base_url).await?;
    if let Cause::Staff { staff, meta, .. } = cause {
        audit::record(
            &txn,
            audit::AuditEvent {
                actor_id: Some(staff),
                action: "loan.default",
                entity: Some(("loan", loan.id.to_string())),
                before: Some(serde_json::json!({ "status": loan.status.as_str() })),
                after: Some(serde_json::json!({
                    "status": LoanStatus::Defaulted.as_str(),
                    "reason": reason,
                    "outstanding": total_outstanding.minor(),
                    "covered": total_covered.minor(),
                })),
                meta,
                at: now,
            },
        )
        .await?;
    }
    db::commit(txn).await?;
    Ok(Some(Defaulted {
        outstanding: total_outstanding,
        covered: total_covered,
    }))
}

fn sum(mut amounts: impl Iterator<Item = Money>, loan: &Loan) -> Result<Money, AppError> {
    amounts
        .try_fold(Money::zero(loan.currency()), Money::checked_add)
        .map_err(money_error(loan.id))
}

/// The reserve fund pays each stake its `outstanding` principal, pro rata up
/// to the fund's available balance: one ledger entry and one event per
/// stake paid. Returns what each stake got.
async fn cover_from_reserve(
    txn: &impl ConnectionTrait,
    loan: &Loan,
    outstanding: &[(Investment, Money)],
    now: DateTime<Utc>,
) -> Result<BTreeMap<InvestmentId, Money>, AppError> {
    let mut covered = BTreeMap::new();
    let holdings: Vec<Holding<InvestmentId>> = outstanding
        .iter()
        .filter(|(_, o)| o.is_positive())
        .map(|(i, o)| Holding {
            key: i.id,
            weight: o.minor(),
        })
        .collect();
    if holdings.is_empty() {
        return Ok(covered);
    }
    let investors = investors_of(outstanding.iter().map(|(i, _)| i));
    let locked =
        wallets::lock(txn, &investors, &[WalletKind::ReserveFund], loan.currency()).await?;
    let Some(reserve) = wallet::platform(&locked, WalletKind::ReserveFund) else {
        return Ok(covered);
    };
    let owed = sum(outstanding.iter().map(|(_, o)| *o), loan)?;
    let available = reserve.available();
    let payout = if available.minor() < owed.minor() {
        available
    } else {
        owed
    };
    if !payout.is_positive() {
        return Ok(covered);
    }
    let split = split::pro_rata(payout, 0, &holdings)
        .map_err(|err| AppError::unexpected(anyhow::anyhow!("loan {}: {err}", loan.id)))?;
    let mut postings = vec![(reserve.id.as_uuid(), -payout.minor())];
    for (id, part) in &split.parts {
        let (stake, _) = outstanding
            .iter()
            .find(|(i, _)| i.id == *id)
            .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("unknown stake {id}")))?;
        postings.push((
            wallet_of(&locked, stake.investor_id)?.id.as_uuid(),
            part.minor(),
        ));
    }
    let entry = JournalEntry::netted(
        EntryKind::ReservePayout,
        format!("Loan {} default: reserve fund payout", short_id(loan.id)),
        postings,
    )
    .map_err(AppError::unexpected)?;
    let entry_id = store::post(txn, &entry, None, now).await?;
    let mut events = Vec::new();
    for (id, part) in split.parts {
        if !part.is_positive() {
            continue;
        }
        let o = outstanding
            .iter()
            .find(|(i, _)| i.id == id)
            .map_or(0, |(_, o)| o.minor());
        events.push(reserve_fund_events::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            loan_id: Set(loan.id.into()),
            investment_id: Set(id.into()),
            kind: Set(ReserveEventKind::Covered.as_str().to_owned()),
            amount: Set(part.minor()),
            outstanding: Set(o),
            entry_id: Set(entry_id),
            created_at: Set(now),
        });
        covered.insert(id, part);
    }
    if !events.is_empty() {
        reserve_fund_events::Entity::insert_many(events)
            .exec(txn)
            .await?;
    }
    Ok(covered)
}

fn wallet_of(wallets: &[Wallet], user: UserId) -> Result<&Wallet, AppError> {
    wallet::owned_by(wallets, user)
        .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("investor {user} has no wallet")))
}

async fn tell_default(
    txn: &impl ConnectionTrait,
    loan: &Loan,
    outstanding: &[(Investment, Money)],
    covered: &BTreeMap<InvestmentId, Money>,
    now: DateTime<Utc>,
    base_url: &Url,
) -> Result<(), AppError> {
    let borrower = users::get(txn, loan.borrower_id).await?;
    let zero = Money::zero(loan.currency());
    let mut emails = vec![outbox::render(
        borrower.email.as_str(),
        &LoanDefaulted {
            full_name: borrower.full_name.clone(),
            loan_url: outbox::link(base_url, &paths::borrower_loan(loan.id)),
            to_borrower: true,
            outstanding: zero,
            covered: zero,
        },
    )?];
    let ids = investors_of(outstanding.iter().map(|(i, _)| i));
    let investors = users::get_many(txn, &ids).await?;
    // One email per investor, their stakes added up, linking the first.
    let mut per_investor: BTreeMap<UserId, (InvestmentId, Money, Money)> = BTreeMap::new();
    for (stake, owed) in outstanding {
        let got = covered.get(&stake.id).copied().unwrap_or(zero);
        let entry = per_investor
            .entry(stake.investor_id)
            .or_insert((stake.id, zero, zero));
        entry.1 = entry.1.checked_add(*owed).map_err(money_error(loan.id))?;
        entry.2 = entry.2.checked_add(got).map_err(money_error(loan.id))?;
    }
    for (investor_id, (first, owed, got)) in per_investor {
        let Some(investor) = investors.get(&investor_id) else {
            continue;
        };
        emails.push(outbox::render(
            investor.email.as_str(),
            &LoanDefaulted {
                full_name: investor.full_name.clone(),
                loan_url: outbox::link(base_url, &paths::investment(first)),
                to_borrower: false,
                outstanding: owed,
                covered: got,
            },
        )?);
    }
    outbox::queue(txn, now, emails).await
}

/// A defaulted loan's debt as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// What was unpaid at the default.
    pub at_default: Money,
    pub recovered: Money,
    pub remaining: Money,
}

/// The defaulted `loan`'s claim and what has been recovered of it.
///
/// # Errors
/// Database failures; amounts out of range.
pub async fn claim(conn: &impl ConnectionTrait, loan: &Loan) -> Result<Claim, AppError> {
    let rows = installments::of_loan(conn, loan.id, loan.currency()).await?;
    let defaulted_on = loan.closed_at.map_or(NaiveDate::MAX, |at| at.date_naive());
    let at_default =
        recovery::claim_at_default(&rows, defaulted_on).map_err(money_error(loan.id))?;
    let recovered: Option<i64> = loan_payments::Entity::find()
        .select_only()
        .column_as(Expr::cust("CAST(SUM(amount) AS BIGINT)"), "recovered")
        .filter(loan_payments::Column::LoanId.eq(loan.id))
        .filter(loan_payments::Column::Kind.eq(LoanPaymentKind::Recovery.as_str()))
        .into_tuple()
        .one(conn)
        .await?
        .flatten();
    let recovered =
        Money::from_minor(recovered.unwrap_or(0), loan.currency()).map_err(money_error(loan.id))?;
    let remaining = at_default
        .checked_sub(recovered)
        .map_err(money_error(loan.id))?;
    Ok(Claim {
        at_default,
        recovered,
        remaining: if remaining.is_positive() {
            remaining
        } else {
            Money::zero(loan.currency())
        },
    })
}

/// Whether `amount` may be paid towards the claim.
///
/// # Errors
/// `Validation` on `amount`.
pub fn check_recovery(claim: &Claim, amount: Money) -> Result<(), AppError> {
    let problem = if !amount.is_positive() {
        Some("Enter an amount more than zero.".to_owned())
    } else if !claim.remaining.is_positive() {
        Some("Nothing is owed on this loan any more.".to_owned())
    } else if amount.minor() > claim.remaining.minor() {
        Some(format!(
            "The loan is owed {}; you cannot pay more than that.",
            claim.remaining
        ))
    } else {
        None
    };
    match problem {
        Some(message) => Err(AppError::Validation(FieldErrors::single("amount", message))),
        None => Ok(()),
    }
}

/// How each stake of the defaulted `loan` shares a recovery of `amount`.
///
/// # Errors
/// Database failures; amounts out of range.
pub async fn plan_recovery(
    conn: &impl ConnectionTrait,
    loan: &Loan,
    amount: Money,
) -> Result<(Vec<Investment>, Vec<RecoveryShare<InvestmentId>>), AppError> {
    let settings = settings::load(conn).await?;
    let holders = investments::of_loan(conn, loan, &[InvestmentStatus::Defaulted]).await?;
    let before = principal_by_kind(conn, loan.id, false).await?;
    let recovered = principal_by_kind(conn, loan.id, true).await?;
    let reserve = reserve_by_kind(conn, loan.id).await?;
    let minor = |m: i64| Money::from_minor(m, loan.currency()).map_err(money_error(loan.id));
    let stakes = holders
        .iter()
        .map(|h| {
            let (covered, repaid) = reserve.get(&h.id).copied().unwrap_or((0, 0));
            Ok(Stake {
                key: h.id,
                outstanding: minor(h.amount.minor() - before.get(&h.id).copied().unwrap_or(0))?,
                covered: minor(covered)?,
                reserve_repaid: minor(repaid)?,
                principal_recovered: minor(recovered.get(&h.id).copied().unwrap_or(0))?,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let shares = recovery::share(amount, settings.servicing_fee, &stakes)
        .map_err(|err| AppError::unexpected(anyhow::anyhow!("loan {}: {err}", loan.id)))?;
    Ok((holders, shares))
}

/// Principal each stake got from payments that were (or were not) recoveries.
async fn principal_by_kind(
    conn: &impl ConnectionTrait,
    loan_id: LoanId,
    recoveries: bool,
) -> Result<BTreeMap<InvestmentId, i64>, AppError> {
    let recovery_payments = Query::select()
        .column(loan_payments::Column::Id)
        .from(loan_payments::Entity)
        .and_where(loan_payments::Column::Kind.eq(LoanPaymentKind::Recovery.as_str()))
        .to_owned();
    let payment = distributions::Column::PaymentId;
    let only = if recoveries {
        payment.in_subquery(recovery_payments)
    } else {
        payment.not_in_subquery(recovery_payments)
    };
    receipts::returned_principal_where(conn, &[loan_id], Condition::all().add(only)).await
}

/// What the reserve fund paid (covered) and had back (repaid) per stake.
async fn reserve_by_kind(
    conn: &impl ConnectionTrait,
    loan_id: LoanId,
) -> Result<BTreeMap<InvestmentId, (i64, i64)>, AppError> {
    let sums: Vec<(uuid::Uuid, String, i64)> = reserve_fund_events::Entity::find()
        .select_only()
        .column(reserve_fund_events::Column::InvestmentId)
        .column(reserve_fund_events::Column::Kind)
        .column_as(Expr::cust("CAST(SUM(amount) AS BIGINT)"), "amount")
        .filter(reserve_fund_events::Column::LoanId.eq(loan_id))
        .group_by(reserve_fund_events::Column::InvestmentId)
        .group_by(reserve_fund_events::Column::Kind)
        .into_tuple()
        .all(conn)
        .await?;
    let mut by_stake: BTreeMap<InvestmentId, (i64, i64)> = BTreeMap::new();
    for (id, kind, amount) in sums {
        let entry = by_stake.entry(InvestmentId::from_uuid(id)).or_default();
        if kind == ReserveEventKind::Covered.as_str() {
            entry.0 += amount;
        } else {
            entry.1 += amount;
        }
    }
    Ok(by_stake)
}

/// Books a recovery of `amount` from `wallet` on the locked, defaulted
/// `loan` (the caller checked it against the claim and the wallet).
///
/// # Errors
/// Database and ledger failures.
pub async fn recover(
    txn: &impl ConnectionTrait,
    loan: &Loan,
    (wallet, payer): (&Wallet, UserId),
    (payment_id, amount): (PaymentId, Money),
    (now, today): (DateTime<Utc>, NaiveDate),
    base_url: &Url,
) -> Result<Paid, AppError> {
    let (holders, shares) = plan_recovery(txn, loan, amount).await?;
    let zero = Money::zero(loan.currency());
    let total = |f: fn(&RecoveryShare<InvestmentId>) -> Money| sum(shares.iter().map(f), loan);
    let to_reserve = total(|s| s.to_reserve)?;
    let principal = total(|s| s.principal)?;
    let interest = total(|s| s.interest)?;
    let fee = total(|s| s.fee)?;

    let investors = investors_of(&holders);
    let locked = wallets::lock(
        txn,
        &investors,
        &[WalletKind::ReserveFund, WalletKind::Fees],
        loan.currency(),
    )
    .await?;
    let platform = |kind: WalletKind| {
        wallet::platform(&locked, kind)
            .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("no {kind:?} wallet")))
    };
    let holder = |id: InvestmentId| {
        holders
            .iter()
            .find(|h| h.id == id)
            .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("share of an unknown stake")))
    };
    let mut postings = vec![
        (
            platform(WalletKind::ReserveFund)?.id.as_uuid(),
            to_reserve.minor(),
        ),
        (platform(WalletKind::Fees)?.id.as_uuid(), fee.minor()),
        (wallet.id.as_uuid(), -amount.minor()),
    ];
    for share in &shares {
        let net = share.net().map_err(money_error(loan.id))?;
        postings.push((
            wallet_of(&locked, holder(share.key)?.investor_id)?
                .id
                .as_uuid(),
            net.minor(),
        ));
    }
    let entry = JournalEntry::netted(
        EntryKind::Recovery,
        format!("Loan {} recovery", short_id(loan.id)),
        postings,
    )
    .map_err(AppError::unexpected)?;
    let entry_id = store::post(txn, &entry, Some(payer), now).await?;
    loan_payments::ActiveModel {
        id: Set(payment_id.into()),
        loan_id: Set(loan.id.into()),
        paid_by: Set(Some(payer.into())),
        kind: Set(LoanPaymentKind::Recovery.as_str().to_owned()),
        amount: Set(amount.minor()),
        currency: Set(loan.currency().code().to_owned()),
        penalty: Set(0),
        interest: Set(interest.minor()),
        principal: Set(principal.minor()),
        prepaid_principal: Set(0),
        reserve_repaid: Set(to_reserve.minor()),
        fee: Set(fee.minor()),
        entry_id: Set(entry_id),
        paid_on: Set(today),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    let mut rows = Vec::new();
    let mut events = Vec::new();
    let mut told: BTreeMap<UserId, (InvestmentId, Money)> = BTreeMap::new();
    for share in &shares {
        let stake = holder(share.key)?;
        if share.to_reserve.is_positive() {
            events.push(reserve_fund_events::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                loan_id: Set(loan.id.into()),
                investment_id: Set(share.key.into()),
                kind: Set(ReserveEventKind::Repaid.as_str().to_owned()),
                amount: Set(share.to_reserve.minor()),
                outstanding: Set(0),
                entry_id: Set(entry_id),
                created_at: Set(now),
            });
        }
        if share.principal.is_positive() || share.interest.is_positive() {
            rows.push(distributions::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                payment_id: Set(payment_id.into()),
                investment_id: Set(share.key.into()),
                loan_id: Set(loan.id.into()),
                investor_id: Set(stake.investor_id.into()),
                principal: Set(share.principal.minor()),
                interest: Set(share.interest.minor()),
                penalty: Set(0),
                fee: Set(share.fee.minor()),
                created_at: Set(now),
            });
            let net = share.net().map_err(money_error(loan.id))?;
            let entry = told.entry(stake.investor_id).or_insert((stake.id, zero));
            entry.1 = entry.1.checked_add(net).map_err(money_error(loan.id))?;
        }
    }
    if !rows.is_empty() {
        distributions::Entity::insert_many(rows).exec(txn).await?;
        investments::apply_to_loan(
            txn,
            loan.id,
            InvestmentStatus::Defaulted,
            InvestmentEvent::Recover,
            holders.len(),
            now,
        )
        .await?;
    }
    if !events.is_empty() {
        reserve_fund_events::Entity::insert_many(events)
            .exec(txn)
            .await?;
    }
    let ids: Vec<UserId> = told.keys().copied().collect();
    let investors = users::get_many(txn, &ids).await?;
    let mut emails = Vec::new();
    for (investor_id, (first, net)) in told {
        if let Some(investor) = investors.get(&investor_id) {
            emails.push(outbox::render(
                investor.email.as_str(),
                &RecoveryReceived {
                    full_name: investor.full_name.clone(),
                    investment_url: outbox::link(base_url, &paths::investment(first)),
                    amount: net,
                },
            )?);
        }
    }
    outbox::queue(txn, now, emails).await?;
    Ok(Paid {
        payment_id,
        amount,
        repaid: false,
    })
}
