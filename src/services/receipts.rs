//! What a payment on a loan being repaid writes (DESIGN.md sections 6 and
//! 7), in two steps. [`receipt`] works out in memory everything one payment
//! changes: the installments, the payment row, every stake's share
//! (`distributions`), the ledger entry from the borrower to the investors
//! and the fees wallet, the emails, the replaced schedule kept as a version,
//! and the loan's end when the payment settles it; it reads nothing but the
//! [`Stakes`] read beforehand for a set of loans in a few statements.
//! [`write`] then writes any number of receipts with one statement per
//! table. A borrower paying by hand writes one receipt; the due-payments job
//! writes a batch of loans in one transaction, so a due day costs a few
//! round trips per batch instead of two dozen per loan.
//!
//! Everything here runs in the caller's transaction, after the loans' locks
//! (and their borrowers' wallets' before them); the ledger then locks the
//! investors' and the fees wallets, last.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, Query},
};
use url::Url;

use crate::{
    db::{
        self,
        entities::{distributions, loan_payments, loan_requests, schedule_versions, wallets},
        repo::{installments, investments, loans, users},
    },
    domain::{
        distribution::{Received, Share, distribute},
        ids::{InvestmentId, LoanId, PaymentId, UserId},
        installment::InstallmentEvent,
        investment::{Investment, InvestmentEvent, InvestmentStatus},
        journal::EntryKind,
        lifecycle::LoanEvent,
        loan::Loan,
        money::{Currency, Money},
        repayment::{Allocation, InstallmentChange, LoanPaymentKind, PaymentKind},
        settings::Settings,
        split::Holding,
        user::User,
        wallet::{Wallet, WalletKind},
    },
    error::{AppError, FieldErrors},
    ledger::{JournalEntry, LedgerError, store},
    mail::messages::{DistributionReceived, LoanRepaid, PaymentReceived},
    paths,
    services::{funding::short_id, outbox, repayment::LoanAccount},
};

/// What taking payments on a set of loans needs to know besides the loans
/// themselves, read once for all of them.
#[derive(Debug, Default)]
pub struct Stakes {
    /// Each loan's active stakes, earliest first (the order that breaks ties
    /// in every pro-rata split).
    by_loan: BTreeMap<LoanId, Vec<Investment>>,
    /// The principal each stake has received so far.
    returned: BTreeMap<InvestmentId, i64>,
    /// The investors told today already of a payment on each loan.
    told_today: BTreeMap<LoanId, BTreeSet<UserId>>,
    /// The loans' borrowers and the stakes' investors.
    users: BTreeMap<UserId, User>,
    /// The investors' wallets and the fees wallets (owner `None`), by owner
    /// and currency.
    wallets: BTreeMap<(Option<UserId>, Currency), uuid::Uuid>,
}

impl Stakes {
    /// Reads what payments on `loans` need, in five statements however many
    /// loans there are.
    ///
    /// # Errors
    /// Database failures; rows that do not parse.
    pub async fn read(
        txn: &impl ConnectionTrait,
        loans: &[&Loan],
        today: NaiveDate,
    ) -> Result<Self, AppError> {
        if loans.is_empty() {
            return Ok(Self::default());
        }
        let ids: Vec<LoanId> = loans.iter().map(|loan| loan.id).collect();
        let by_loan = investments::of_loans(txn, loans, &[InvestmentStatus::Active]).await?;
        let returned = returned_principal(txn, &ids).await?;
        let told_today = told_on(txn, &ids, today).await?;
        let mut people: Vec<UserId> = loans.iter().map(|loan| loan.borrower_id).collect();
        let investors: Vec<UserId> = by_loan
            .values()
            .flatten()
            .map(|stake| stake.investor_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        people.extend(&investors);
        let users = users::get_many(txn, &people).await?;
        let wallets = wallets::Entity::find()
            .select_only()
            .columns([
                wallets::Column::Id,
                wallets::Column::UserId,
                wallets::Column::Currency,
            ])
            .filter(
                sea_orm::Condition::any()
                    .add(wallets::Column::UserId.is_in(investors))
                    .add(
                        sea_orm::Condition::all()
                            .add(wallets::Column::UserId.is_null())
                            .add(wallets::Column::Kind.eq(WalletKind::Fees.as_str())),
                    ),
            )
            .into_tuple::<(uuid::Uuid, Option<uuid::Uuid>, String)>()
            .all(txn)
            .await?
            .into_iter()
            .filter_map(|(id, owner, currency)| {
                Currency::parse(&currency).map(|c| ((owner.map(UserId::from_uuid), c), id))
            })
            .collect();
        Ok(Self {
            by_loan,
            returned,
            told_today,
            users,
            wallets,
        })
    }

    fn stakes_of(&self, loan: LoanId) -> &[Investment] {
        self.by_loan.get(&loan).map_or(&[], Vec::as_slice)
    }

    fn wallet(&self, owner: Option<UserId>, currency: Currency) -> Result<uuid::Uuid, AppError> {
        self.wallets
            .get(&(owner, currency))
            .copied()
            .ok_or_else(|| {
                AppError::unexpected(anyhow::anyhow!(
                    "no {currency} wallet for {}",
                    owner.map_or_else(|| "the fees".to_owned(), |id| id.to_string())
                ))
            })
    }

    fn user(&self, id: UserId) -> Result<&User, AppError> {
        self.users
            .get(&id)
            .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("no account {id}")))
    }
}

/// The principal each stake in `loans` has received so far.
///
/// # Errors
/// Database failures.
pub async fn returned_principal(
    conn: &impl ConnectionTrait,
    loans: &[LoanId],
) -> Result<BTreeMap<InvestmentId, i64>, AppError> {
    returned_principal_where(conn, loans, sea_orm::Condition::all()).await
}

/// The principal each stake in `loans` has received from the distributions
/// `only` admits (e.g. those of recoveries).
///
/// # Errors
/// Database failures.
pub async fn returned_principal_where(
    conn: &impl ConnectionTrait,
    loans: &[LoanId],
    only: sea_orm::Condition,
) -> Result<BTreeMap<InvestmentId, i64>, AppError> {
    let sums: Vec<(uuid::Uuid, i64)> = distributions::Entity::find()
        .select_only()
        .column(distributions::Column::InvestmentId)
        .column_as(Expr::cust("CAST(SUM(principal) AS BIGINT)"), "principal")
        .filter(distributions::Column::LoanId.is_in(loans.iter().copied()))
        .filter(only)
        .group_by(distributions::Column::InvestmentId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(sums
        .into_iter()
        .map(|(id, sum)| (InvestmentId::from_uuid(id), sum))
        .collect())
}

/// The investors who received a share of a payment on each of `loans`
/// dated `today` (told by email then: one email a day per loan).
async fn told_on(
    conn: &impl ConnectionTrait,
    loans: &[LoanId],
    today: NaiveDate,
) -> Result<BTreeMap<LoanId, BTreeSet<UserId>>, AppError> {
    let paid_today = Query::select()
        .column(loan_payments::Column::Id)
        .from(loan_payments::Entity)
        .and_where(loan_payments::Column::LoanId.is_in(loans.iter().copied()))
        .and_where(loan_payments::Column::PaidOn.eq(today))
        .to_owned();
    let pairs: Vec<(uuid::Uuid, uuid::Uuid)> = distributions::Entity::find()
        .select_only()
        .column(distributions::Column::LoanId)
        .column(distributions::Column::InvestorId)
        .distinct()
        .filter(distributions::Column::LoanId.is_in(loans.iter().copied()))
        .filter(distributions::Column::PaymentId.in_subquery(paid_today))
        .into_tuple()
        .all(conn)
        .await?;
    let mut told: BTreeMap<LoanId, BTreeSet<UserId>> = BTreeMap::new();
    for (loan, investor) in pairs {
        told.entry(LoanId::from_uuid(loan))
            .or_default()
            .insert(UserId::from_uuid(investor));
    }
    Ok(told)
}

/// How a payment came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The borrower, from the loan's page.
    Borrower(UserId),
    /// The due-payments job, from the borrower's wallet.
    Collection,
}

/// What a payment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paid {
    pub payment_id: PaymentId,
    pub amount: Money,
    /// Whether it settled the loan.
    pub repaid: bool,
}

/// One payment, worked out and not yet written.
#[derive(Debug)]
pub struct Receipt {
    loan: Loan,
    paid: Paid,
    payer: Option<UserId>,
    entry: JournalEntry,
    changes: Vec<InstallmentChange>,
    payment: loan_payments::ActiveModel,
    distributions: Vec<distributions::ActiveModel>,
    /// The installments the payment replaced, as the schedule's next version.
    replaced: Option<serde_json::Value>,
    /// The stakes that end with the loan when the payment settles it.
    ending: Vec<Investment>,
    /// What each investor not yet told today of a payment on the loan is
    /// told of this one.
    notes: Vec<Note>,
    emails: Vec<outbox::RenderedEmail>,
}

/// One investor's share of one payment, their stakes in the loan added up:
/// principal, interest, penalty, fee.
#[derive(Debug, Clone)]
struct Note {
    investor: UserId,
    stake: InvestmentId,
    parts: [Money; 4],
}

impl Receipt {
    #[must_use]
    pub fn paid(&self) -> Paid {
        self.paid
    }
}

/// Works out `allocation`, paid from `wallet` on the locked loan of
/// `account`: each stake's share of it by the principal it still holds, the
/// servicing fee, the ledger entry and the emails.
///
/// # Errors
/// `Unexpected` for stakes or wallets that do not add up.
pub fn receipt(
    stakes: &Stakes,
    (account, settings): (&LoanAccount, &Settings),
    allocation: &Allocation,
    (payment_id, source, wallet): (PaymentId, Source, &Wallet),
    (now, today): (DateTime<Utc>, NaiveDate),
    base_url: &Url,
) -> Result<Receipt, AppError> {
    let loan = &account.loan;
    let holders = stakes.stakes_of(loan.id);
    // Shared by the principal each stake still holds: the payment that
    // settles the loan then returns every stake exactly what it lent.
    let holdings: Vec<Holding<InvestmentId>> = holders
        .iter()
        .map(|i| Holding {
            key: i.id,
            weight: i.amount.minor() - stakes.returned.get(&i.id).copied().unwrap_or(0),
        })
        .filter(|h| h.weight > 0)
        .collect();
    let parts = allocation.parts;
    let received = Received {
        principal: parts.principal().map_err(AppError::unexpected)?,
        interest: parts.interest().map_err(AppError::unexpected)?,
        penalty: parts.penalties,
    };
    let (shares, fee) = distribute(received, settings.servicing_fee, &holdings)
        .map_err(|err| AppError::unexpected(anyhow::anyhow!("loan {}: {err}", loan.id)))?;
    let holder_of = |share: &Share<InvestmentId>| {
        holders
            .iter()
            .find(|h| h.id == share.key)
            .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("share of an unknown investment")))
    };

    let mut postings = Vec::with_capacity(shares.len() + 2);
    let mut paid = 0i64;
    for share in &shares {
        let holder = holder_of(share)?;
        let net = share.net().map_err(AppError::unexpected)?.minor();
        postings.push((
            stakes.wallet(Some(holder.investor_id), loan.currency())?,
            net,
        ));
        paid += net;
    }
    postings.push((stakes.wallet(None, loan.currency())?, fee.minor()));
    paid += fee.minor();
    postings.push((wallet.id.as_uuid(), -paid));
    let entry = JournalEntry::netted(
        EntryKind::Repayment,
        format!("Loan {} repayment", short_id(loan.id)),
        postings,
    )
    .map_err(AppError::unexpected)?;

    let (kind, payer) = match (source, allocation.kind) {
        (Source::Borrower(payer), PaymentKind::Payoff) => (LoanPaymentKind::Payoff, Some(payer)),
        (Source::Collection, PaymentKind::Payoff) => (LoanPaymentKind::Payoff, None),
        (Source::Collection, PaymentKind::Payment) => (LoanPaymentKind::Collection, None),
        (Source::Borrower(payer), PaymentKind::Payment) => (LoanPaymentKind::Payment, Some(payer)),
    };
    let payment = loan_payments::ActiveModel {
        id: Set(payment_id.into()),
        loan_id: Set(loan.id.into()),
        paid_by: Set(payer.map(Into::into)),
        kind: Set(kind.as_str().to_owned()),
        amount: Set(allocation.amount.minor()),
        currency: Set(loan.currency().code().to_owned()),
        penalty: Set(parts.penalties.minor()),
        interest: Set(received.interest.minor()),
        principal: Set(parts.overdue_principal.minor() + parts.current_principal.minor()),
        prepaid_principal: Set(parts.prepayment.minor()),
        reserve_repaid: Set(0),
        fee: Set(fee.minor()),
        paid_on: Set(today),
        created_at: Set(now),
        ..Default::default()
    };
    let distributions = shares
        .iter()
        .filter(|s| !(s.principal.is_zero() && s.interest.is_zero() && s.penalty.is_zero()))
        .map(|share| {
            Ok(distributions::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                payment_id: Set(payment_id.into()),
                investment_id: Set(share.key.into()),
                loan_id: Set(loan.id.into()),
                investor_id: Set(holder_of(share)?.investor_id.into()),
                principal: Set(share.principal.minor()),
                interest: Set(share.interest.minor()),
                penalty: Set(share.penalty.minor()),
                fee: Set(share.fee.minor()),
                created_at: Set(now),
            })
        })
        .collect::<Result<_, AppError>>()?;

    let repaid = allocation.settles_loan(&account.installments);
    let no_one = BTreeSet::new();
    let told_today = stakes.told_today.get(&loan.id).unwrap_or(&no_one);
    let notes = notes(holders, &shares, told_today)?;
    let mut emails = Vec::new();
    let borrower = stakes.user(loan.borrower_id)?;
    let loan_url = outbox::link(base_url, &paths::borrower_loan(loan.id));
    emails.push(outbox::render(
        borrower.email.as_str(),
        &PaymentReceived {
            full_name: borrower.full_name.clone(),
            loan_url: loan_url.clone(),
            amount: allocation.amount,
            collected: source == Source::Collection,
            penalties: parts.penalties,
            interest: received.interest,
            principal: received.principal,
            repaid,
        },
    )?);
    if repaid {
        emails.push(outbox::render(
            borrower.email.as_str(),
            &LoanRepaid {
                full_name: borrower.full_name.clone(),
                loan_url,
                to_borrower: true,
                loans: 1,
            },
        )?);
    }
    Ok(Receipt {
        loan: loan.clone(),
        paid: Paid {
            payment_id,
            amount: allocation.amount,
            repaid,
        },
        payer,
        entry,
        changes: allocation.changes.clone(),
        payment,
        distributions,
        replaced: allocation
            .reschedules
            .then(|| replaced_rows(account, allocation)),
        ending: if repaid { holders.to_vec() } else { Vec::new() },
        notes,
        emails,
    })
}

/// Each investor's share of a payment (their stakes added up, naming the
/// first), except for those told today already.
fn notes(
    holders: &[Investment],
    shares: &[Share<InvestmentId>],
    told_today: &BTreeSet<UserId>,
) -> Result<Vec<Note>, AppError> {
    let mut notes: Vec<Note> = Vec::new();
    for share in shares {
        let Some(holder) = holders.iter().find(|h| h.id == share.key) else {
            continue;
        };
        if told_today.contains(&holder.investor_id) {
            continue;
        }
        let parts = [share.principal, share.interest, share.penalty, share.fee];
        match notes.iter_mut().find(|n| n.investor == holder.investor_id) {
            Some(note) => add_parts(&mut note.parts, parts)?,
            None => notes.push(Note {
                investor: holder.investor_id,
                stake: holder.id,
                parts,
            }),
        }
    }
    Ok(notes)
}

fn add_parts(sum: &mut [Money; 4], parts: [Money; 4]) -> Result<(), AppError> {
    for (total, part) in sum.iter_mut().zip(parts) {
        *total = total.checked_add(part).map_err(AppError::unexpected)?;
    }
    Ok(())
}

/// "Repayments reached your wallet": one email per investor (and currency)
/// for all the payments written together, each loan in it at most once a
/// day; linking the investment when one loan paid, the portfolio when
/// several did. Nothing for shares that net to nothing.
fn distribution_emails(
    stakes: &Stakes,
    notes: impl IntoIterator<Item = Note>,
    base_url: &Url,
) -> Result<Vec<outbox::RenderedEmail>, AppError> {
    let mut per_investor: BTreeMap<(UserId, Currency), (InvestmentId, usize, [Money; 4])> =
        BTreeMap::new();
    for note in notes {
        let currency = note.parts[0].currency();
        match per_investor.get_mut(&(note.investor, currency)) {
            Some((_, loans, sum)) => {
                *loans += 1;
                add_parts(sum, note.parts)?;
            }
            None => {
                per_investor.insert((note.investor, currency), (note.stake, 1, note.parts));
            }
        }
    }
    let mut emails = Vec::with_capacity(per_investor.len());
    for ((investor_id, _), (stake, loans, [principal, interest, penalty, fee])) in per_investor {
        let net = principal
            .checked_add(interest)
            .and_then(|m| m.checked_add(penalty))
            .and_then(|m| m.checked_sub(fee))
            .map_err(AppError::unexpected)?;
        if !net.is_positive() {
            continue;
        }
        let investor = stakes.user(investor_id)?;
        let url = if loans == 1 {
            paths::investment(stake)
        } else {
            paths::INVESTMENTS.to_owned()
        };
        emails.push(outbox::render(
            investor.email.as_str(),
            &DistributionReceived {
                full_name: investor.full_name.clone(),
                loans,
                url: outbox::link(base_url, &url),
                principal,
                interest,
                penalty,
                fee,
                net,
            },
        )?);
    }
    Ok(emails)
}

/// The installments as they stood before `allocation` replaced them.
fn replaced_rows(account: &LoanAccount, allocation: &Allocation) -> serde_json::Value {
    let replaced = account
        .installments
        .iter()
        .filter(|row| {
            allocation.changes.iter().any(|c| {
                c.id == row.id
                    && (c.event == InstallmentEvent::Reschedule
                        || c.new_principal.is_some()
                        || c.new_interest.is_some())
            })
        })
        .map(|row| {
            serde_json::json!({
                "number": row.number,
                "due_date": row.due_date.to_string(),
                "principal": row.principal.minor(),
                "interest": row.interest.minor(),
            })
        })
        .collect();
    serde_json::Value::Array(replaced)
}

/// Writes `receipts` (at most one per loan, worked out from `stakes`): one
/// ledger post for all their entries, one statement for all their
/// installments, one multi-row insert per table, one email per investor; a
/// schedule version and the loan's end where a payment brings them.
/// Returns what each payment did, in order.
///
/// # Errors
/// `Validation` on `amount` when a payer's wallet no longer holds the
/// amount; `Conflict` when an installment or a loan moved meanwhile;
/// database failures.
pub async fn write(
    txn: &impl ConnectionTrait,
    stakes: &Stakes,
    receipts: Vec<Receipt>,
    (now, base_url): (DateTime<Utc>, &Url),
) -> Result<Vec<Paid>, AppError> {
    if receipts.is_empty() {
        return Ok(Vec::new());
    }
    let entries: Vec<(&JournalEntry, Option<UserId>)> =
        receipts.iter().map(|r| (&r.entry, r.payer)).collect();
    let entry_ids = store::post_all(txn, &entries, now)
        .await
        .map_err(|err| match err {
            store::PostError::Ledger(LedgerError::InsufficientFunds { .. }) => {
                AppError::Validation(FieldErrors::single(
                    "amount",
                    "Your wallet does not have that much available.",
                ))
            }
            other => other.into(),
        })?;
    let changes: Vec<InstallmentChange> = receipts
        .iter()
        .flat_map(|r| r.changes.iter().cloned())
        .collect();
    installments::apply_payments(txn, &changes, now).await?;

    let mut payments = Vec::with_capacity(receipts.len());
    let mut shares = Vec::new();
    let mut emails = Vec::new();
    let mut paid = Vec::with_capacity(receipts.len());
    let mut versions = Vec::new();
    let mut settled = Vec::new();
    let mut notes = Vec::new();
    for (receipt, entry_id) in receipts.into_iter().zip(entry_ids) {
        let mut payment = receipt.payment;
        payment.entry_id = Set(entry_id);
        payments.push(payment);
        shares.extend(receipt.distributions);
        emails.extend(receipt.emails);
        notes.extend(receipt.notes);
        paid.push(receipt.paid);
        if let Some(replaced) = receipt.replaced {
            versions.push((receipt.loan.id, replaced, receipt.paid.payment_id));
        }
        if receipt.paid.repaid {
            settled.push((receipt.loan, receipt.ending));
        }
    }
    db::insert_all(txn, payments).await?;
    db::insert_all(txn, shares).await?;
    for (loan_id, replaced, payment_id) in versions {
        keep_version(txn, loan_id, replaced, payment_id, now).await?;
    }
    emails.extend(end(txn, stakes, &settled, (now, base_url)).await?);
    emails.extend(distribution_emails(stakes, notes, base_url)?);
    outbox::queue(txn, now, emails).await?;
    Ok(paid)
}

/// The loans `settled` and their stakes `repaid`, two statements for all;
/// returns the investors' emails: one each (and currency) for the loans
/// ending together, about their first stake in them.
async fn end(
    txn: &impl ConnectionTrait,
    stakes: &Stakes,
    settled: &[(Loan, Vec<Investment>)],
    (now, base_url): (DateTime<Utc>, &Url),
) -> Result<Vec<outbox::RenderedEmail>, AppError> {
    if settled.is_empty() {
        return Ok(Vec::new());
    }
    let closed = loan_requests::ActiveModel {
        closed_at: Set(Some(now)),
        ..Default::default()
    };
    let loans: Vec<&Loan> = settled.iter().map(|(loan, _)| loan).collect();
    loans::apply_all(txn, &loans, LoanEvent::RepayInFull, now, closed).await?;
    let ids: Vec<LoanId> = loans.iter().map(|loan| loan.id).collect();
    let ending = settled.iter().map(|(_, holders)| holders.len()).sum();
    investments::apply_to_loans(
        txn,
        &ids,
        (InvestmentStatus::Active, InvestmentEvent::RepayInFull),
        ending,
        now,
    )
    .await?;

    let mut per_investor: BTreeMap<(UserId, Currency), (InvestmentId, usize)> = BTreeMap::new();
    for (loan, holders) in settled {
        let mut told = BTreeSet::new();
        for holder in holders.iter().filter(|h| told.insert(h.investor_id)) {
            per_investor
                .entry((holder.investor_id, loan.currency()))
                .and_modify(|(_, loans)| *loans += 1)
                .or_insert((holder.id, 1));
        }
    }
    per_investor
        .into_iter()
        .map(|((investor_id, _), (first, loans))| {
            let investor = stakes.user(investor_id)?;
            let url = if loans == 1 {
                paths::investment(first)
            } else {
                paths::INVESTMENTS.to_owned()
            };
            outbox::render(
                investor.email.as_str(),
                &LoanRepaid {
                    full_name: investor.full_name.clone(),
                    loan_url: outbox::link(base_url, &url),
                    to_borrower: false,
                    loans,
                },
            )
        })
        .collect()
}

/// Keeps `replaced` (the installments as they stood before the payment) as
/// the loan's next schedule version.
async fn keep_version(
    txn: &impl ConnectionTrait,
    loan_id: LoanId,
    replaced: serde_json::Value,
    payment_id: PaymentId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let last = schedule_versions::Entity::find()
        .filter(schedule_versions::Column::LoanId.eq(loan_id))
        .order_by_desc(schedule_versions::Column::Version)
        .one(txn)
        .await?
        .map_or(0, |v| v.version);
    schedule_versions::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        loan_id: Set(loan_id.into()),
        version: Set(last + 1),
        payment_id: Set(payment_id.into()),
        installments: Set(replaced.to_string()),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(())
}
