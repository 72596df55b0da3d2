//! What happens to a loan's commitments together (DESIGN.md section 5,
//! step 5): paying out a funded loan, and releasing every reservation of a
//! loan that closes unfunded (its deadline passed, or the borrower withdrew).
//!
//! Lock order, as everywhere: the wallets involved in ascending id, then the
//! loan, then (inside `ledger::store::post`) the chain head. The wallets are
//! found from the commitments read before the loan is locked; the
//! commitments are read again under the lock and the use case gives up if a
//! new investor appeared meanwhile (it cannot, once the loan is full or past
//! its deadline, but nothing here relies on that).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use url::Url;
use uuid::Uuid;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::{documents, investments, loan_requests, repayment_schedule, users, wallets},
        queries::investments as queries,
    },
    domain::ids::UserId,
    domain::{
        error::DomainError,
        installment::InstallmentStatus,
        investing::{InvestmentStatus, Payout, payout, schedule_shares},
        lifecycle::{LoanEvent, LoanStatus},
        money::{Currency, Money},
        schedule::{self, Installment, LoanTerms},
        split::Holding,
    },
    error::AppError,
    ledger::{EntryKind, JournalEntry, Posting, store},
    mail::messages::{FundingEnded, LoanDisbursed, ScheduleLine},
    pdf::{self, AgreementData, ShareRow},
    services::{
        RequestMeta,
        applications::{LoanChange, record_loan_event, reread},
        investing::{currency_of, investment_path, money, rate_of},
        loans, outbox, settings,
    },
};

/// The platform's name as agreements give it.
const PLATFORM_NAME: &str = "Crowdlend";

/// A loan locked with its open commitments and the wallets they reserve.
pub(crate) struct Locked {
    pub loan: loan_requests::Model,
    pub currency: Currency,
    /// Open commitments, earliest first.
    pub commitments: Vec<investments::Model>,
    /// Locked wallets by their owner.
    pub wallets: BTreeMap<Uuid, wallets::Model>,
}

impl Locked {
    /// What each investor's wallet holds reserved for this loan.
    fn reserved_per_wallet(&self) -> Result<BTreeMap<Uuid, i64>, AppError> {
        let mut per_wallet: BTreeMap<Uuid, i64> = BTreeMap::new();
        for c in &self.commitments {
            let wallet = self.wallets.get(&c.investor_id).ok_or(AppError::NotFound)?;
            *per_wallet.entry(wallet.id).or_default() += c.amount;
        }
        Ok(per_wallet)
    }

    /// Gives every reservation for this loan back to its wallet; returns
    /// what each wallet had reserved.
    async fn release_reservations(
        &self,
        conn: &impl ConnectionTrait,
    ) -> Result<BTreeMap<Uuid, i64>, AppError> {
        let per_wallet = self.reserved_per_wallet()?;
        for (wallet_id, amount) in &per_wallet {
            store::release(conn, *wallet_id, *amount)
                .await
                .map_err(|err| AppError::Unexpected(err.into()))?;
        }
        Ok(per_wallet)
    }
}

/// Locks the wallets of the loan's open commitments (and of the user `also`,
/// e.g. the borrower, and the platform wallets `platform`) in id order, then
/// the loan; reads the commitments again.
///
/// # Errors
/// `NotFound` for an unknown loan; `Conflict` if an investor committed
/// between the two reads (try again).
pub(crate) async fn lock_with_commitments(
    conn: &impl ConnectionTrait,
    loan_id: Uuid,
    also: Option<Uuid>,
    platform: &[Uuid],
) -> Result<Locked, AppError> {
    let listed = loan_requests::Entity::find_by_id(loan_id)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)?;
    let currency = currency_of(&listed)?;
    let before = queries::for_loan(conn, loan_id, &[InvestmentStatus::Pending]).await?;
    let mut owners: Vec<Uuid> = before.iter().map(|i| i.investor_id).collect();
    owners.extend(also);
    owners.sort_unstable();
    owners.dedup();
    let locked: BTreeMap<Uuid, wallets::Model> = wallets::Entity::find()
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(wallets::Column::UserId.is_in(owners))
                        .add(wallets::Column::Currency.eq(currency.code())),
                )
                .add(wallets::Column::Id.is_in(platform.to_vec())),
        )
        .order_by_asc(wallets::Column::Id)
        .lock_exclusive()
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|w| Some((w.user_id?, w)))
        .collect();
    let loan = loans::lock(conn, loan_id).await?;
    let commitments = queries::for_loan(conn, loan_id, &[InvestmentStatus::Pending]).await?;
    if commitments
        .iter()
        .any(|c| !locked.contains_key(&c.investor_id))
    {
        return Err(AppError::Conflict);
    }
    Ok(Locked {
        loan,
        currency,
        commitments,
        wallets: locked,
    })
}

/// Each investor among `commitments` with their total and their first
/// investment's id, in the order of their first commitment.
pub(crate) async fn per_investor(
    conn: &impl ConnectionTrait,
    commitments: &[investments::Model],
) -> Result<Vec<(users::Model, i64, Uuid)>, AppError> {
    let mut order: Vec<Uuid> = Vec::new();
    let mut totals: BTreeMap<Uuid, (i64, Uuid)> = BTreeMap::new();
    for c in commitments {
        let entry = totals.entry(c.investor_id).or_insert_with(|| {
            order.push(c.investor_id);
            (0, c.id)
        });
        entry.0 += c.amount;
    }
    let people: BTreeMap<Uuid, users::Model> = users::Entity::find()
        .filter(users::Column::Id.is_in(order.clone()))
        .all(conn)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(order
        .into_iter()
        .filter_map(|id| {
            let (total, first) = totals.get(&id)?;
            Some((people.get(&id)?.clone(), *total, *first))
        })
        .collect())
}

/// Releases every open commitment of the locked loan: each investor's
/// reservation goes back, and the commitments become `to`. The caller moves
/// the loan (with `funded_amount` back to 0) in the same transaction.
async fn release_all(
    conn: &impl ConnectionTrait,
    locked: &Locked,
    to: InvestmentStatus,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    locked.release_reservations(conn).await?;
    investments::Entity::update_many()
        .col_expr(investments::Column::Status, Expr::value(to.as_str()))
        .col_expr(investments::Column::UpdatedAt, Expr::value(now))
        .filter(investments::Column::LoanId.eq(locked.loan.id))
        .filter(investments::Column::Status.eq(InvestmentStatus::Pending.as_str()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Tells each investor whose commitments were released why.
async fn tell_released(
    conn: &impl ConnectionTrait,
    locked: &Locked,
    reason: &str,
    base_url: &Url,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let loan_amount = money(locked.loan.amount, locked.currency)?;
    for (investor, total, _) in per_investor(conn, &locked.commitments).await? {
        outbox::enqueue(
            conn,
            now,
            &investor.email,
            &FundingEnded {
                full_name: investor.full_name,
                url: outbox::link(base_url, "/marketplace"),
                loan_amount,
                released: Some(money(total, locked.currency)?),
                reason: reason.to_owned(),
            },
        )
        .await?;
    }
    Ok(())
}

/// The borrower takes back a loan before it is funded: every reservation is
/// released and the investors are told, in one transaction.
///
/// # Errors
/// `NotFound` for someone else's loan; `Domain` when the lifecycle does
/// not allow it.
pub async fn withdraw(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    borrower_id: UserId,
    loan_id: Uuid,
    base_url: &Url,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let now = clock.now();
    // Someone else's loan is not found, before anything is locked.
    loan_requests::Entity::find_by_id(loan_id)
        .filter(loan_requests::Column::BorrowerId.eq(borrower_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let txn = db::begin_write(db).await?;
    let locked = lock_with_commitments(&txn, loan_id, None, &[]).await?;
    release_all(&txn, &locked, InvestmentStatus::Cancelled, now).await?;
    let closed = loan_requests::ActiveModel {
        closed_at: Set(Some(now)),
        funded_amount: Set(0),
        ..Default::default()
    };
    loans::apply(&txn, &locked.loan, LoanEvent::Withdraw, now, closed).await?;
    tell_released(
        &txn,
        &locked,
        "The borrower has withdrawn a loan you had committed money to.",
        base_url,
        now,
    )
    .await?;
    let after = reread(&txn, loan_id).await?;
    record_loan_event(
        &txn,
        LoanChange {
            actor: Some(borrower_id),
            action: "loan_withdrawn",
            before: Some(&locked.loan),
            comment: None,
        },
        &after,
        meta,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Ends the funding of one loan whose deadline has passed: releases every
/// reservation, marks the commitments `expired` and the loan `expired`, and
/// tells everyone. Returns whether it did (a loan still in time, or no
/// longer in funding, is left alone), so it is safe to call on any access.
///
/// # Errors
/// Database failures.
pub async fn expire_if_due(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    loan_id: Uuid,
    base_url: &Url,
) -> Result<bool, AppError> {
    let now = clock.now();
    // Most calls come from pages looking at a loan still in time: answer
    // those from a plain read, without taking the write lock.
    let listed = loan_requests::Entity::find_by_id(loan_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if !is_due(&listed, now)? {
        return Ok(false);
    }
    let txn = db::begin_write(db).await?;
    let locked = lock_with_commitments(&txn, loan_id, None, &[]).await?;
    if !is_due(&locked.loan, now)? {
        return Ok(false);
    }
    release_all(&txn, &locked, InvestmentStatus::Expired, now).await?;
    let closed = loan_requests::ActiveModel {
        closed_at: Set(Some(now)),
        funded_amount: Set(0),
        ..Default::default()
    };
    loans::apply(&txn, &locked.loan, LoanEvent::Expire, now, closed).await?;
    let deadline = locked
        .loan
        .funding_deadline
        .map(|d| d.format("%-d %b %Y").to_string())
        .unwrap_or_default();
    let reason = format!(
        "A loan you had committed money to was not fully funded by its deadline, {deadline}."
    );
    tell_released(&txn, &locked, &reason, base_url, now).await?;
    let borrower = users::Entity::find_by_id(locked.loan.borrower_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    outbox::enqueue(
        &txn,
        now,
        &borrower.email,
        &FundingEnded {
            full_name: borrower.full_name,
            url: outbox::link(base_url, &format!("/borrower/loans/{loan_id}")),
            loan_amount: money(locked.loan.amount, locked.currency)?,
            released: None,
            reason: format!(
                "Your loan was not fully funded by its deadline, {deadline}, so the listing has ended."
            ),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Whether a loan is still in funding with its deadline passed.
fn is_due(loan: &loan_requests::Model, now: DateTime<Utc>) -> Result<bool, AppError> {
    Ok(loans::status_of(loan)? == LoanStatus::Funding
        && loan.funding_deadline.is_some_and(|d| d <= now))
}

/// The `funding-expiry` job: expires every loan in funding past its deadline.
/// Returns how many it expired. A loan that fails is logged and retried on
/// the next pass.
///
/// # Errors
/// When the loans due cannot be read.
pub async fn expire_due(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    base_url: &Url,
) -> Result<u64, AppError> {
    let due: Vec<Uuid> = loan_requests::Entity::find()
        .select_only()
        .column(loan_requests::Column::Id)
        .filter(loan_requests::Column::Status.eq(LoanStatus::Funding.as_str()))
        .filter(loan_requests::Column::FundingDeadline.lte(clock.now()))
        .into_tuple()
        .all(db)
        .await?;
    let mut expired = 0;
    for loan_id in due {
        match expire_if_due(db, clock, loan_id, base_url).await {
            Ok(true) => expired += 1,
            Ok(false) => {}
            Err(err) => tracing::warn!(%loan_id, error = ?err, "could not expire the loan"),
        }
    }
    Ok(expired)
}

/// Pays out a funded loan, in one transaction: every reservation becomes a
/// transfer (one journal entry: the investors' money to the borrower, less
/// the reserve contribution and the origination fee, which go to their
/// platform wallets); the schedule starts from today; the commitments become
/// `active`; each gets its PDF agreement, stored with its SHA-256; the loan
/// becomes `active`; the borrower and investors are emailed. `actor` is the
/// staff member who paid it out, `None` when automatic.
///
/// # Errors
/// `Domain(NotPayable)` unless the loan is `funded`; `NotFound` for an unknown loan.
pub async fn disburse(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    loan_id: Uuid,
    actor: Option<UserId>,
    base_url: &Url,
) -> Result<(), AppError> {
    let now = clock.now();
    let today = clock.today();
    let txn = db::begin_write(db).await?;
    let listed = loan_requests::Entity::find_by_id(loan_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let currency = currency_of(&listed)?;
    let reserve_fund = store::platform_wallet(&txn, "reserve_fund", currency.code()).await?;
    let fees = store::platform_wallet(&txn, "fees", currency.code()).await?;
    let locked = lock_with_commitments(
        &txn,
        loan_id,
        Some(listed.borrower_id),
        &[reserve_fund.id, fees.id],
    )
    .await?;
    let loan = &locked.loan;
    if loans::status_of(loan)? != LoanStatus::Funded {
        return Err(DomainError::NotPayable {
            status: loans::status_of(loan)?,
        }
        .into());
    }
    let committed: i64 = locked.commitments.iter().map(|c| c.amount).sum();
    if committed != loan.amount || loan.funded_amount != loan.amount {
        return Err(AppError::Unexpected(anyhow::anyhow!(
            "loan {loan_id} is funded but holds {committed} of {} in commitments",
            loan.amount
        )));
    }
    let settings = settings::load(&txn).await?;
    let loan_amount = money(loan.amount, currency)?;
    let split = payout(
        loan_amount,
        settings.reserve_contribution.bps(),
        settings.origination_fee.bps(),
    )
    .map_err(|err| AppError::Unexpected(err.into()))?;

    // The money: release each reservation, then one balanced entry taking
    // from each investor's wallet what it had reserved.
    let mut postings: BTreeMap<Uuid, i64> = locked
        .release_reservations(&txn)
        .await?
        .into_iter()
        .map(|(wallet_id, amount)| (wallet_id, -amount))
        .collect();
    let borrower_wallet = locked
        .wallets
        .get(&loan.borrower_id)
        .ok_or(AppError::NotFound)?;
    for (wallet_id, amount) in [
        (borrower_wallet.id, split.to_borrower.minor()),
        (reserve_fund.id, split.reserve_contribution.minor()),
        (fees.id, split.origination_fee.minor()),
    ] {
        *postings.entry(wallet_id).or_default() += amount;
    }
    let entry = JournalEntry::new(
        EntryKind::Disbursement,
        format!("Loan {} paid out", short_id(loan_id)),
        postings
            .into_iter()
            .filter(|(_, amount)| *amount != 0)
            .map(|(wallet_id, amount)| Posting { wallet_id, amount })
            .collect(),
    )
    .map_err(|err| AppError::Unexpected(err.into()))?;
    store::post(&txn, &entry, actor, now)
        .await
        .map_err(|err| AppError::Unexpected(err.into()))?;

    // The schedule, from the day of the payout.
    let rate = rate_of(loan)?;
    let term_months = u32::try_from(loan.term_months).unwrap_or(0);
    let plan = schedule::annuity(&LoanTerms {
        principal: loan_amount,
        rate,
        term_months,
        start: today,
    })
    .map_err(|err| AppError::Unexpected(anyhow::anyhow!("loan {loan_id}: {err}")))?;
    for row in &plan.installments {
        repayment_schedule::ActiveModel {
            id: Set(Uuid::now_v7()),
            loan_id: Set(loan_id),
            payment_num: Set(i32::try_from(row.number).unwrap_or(i32::MAX)),
            due_date: Set(row.due_date),
            principal: Set(row.principal.minor()),
            interest: Set(row.interest.minor()),
            paid_principal: Set(0),
            paid_interest: Set(0),
            penalty_accrued: Set(0),
            penalty_paid: Set(0),
            status: Set(InstallmentStatus::Scheduled.as_str().to_owned()),
            paid_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }

    // The commitments become loans, each with its agreement.
    let holdings: Vec<Holding<Uuid>> = locked
        .commitments
        .iter()
        .map(|c| Holding {
            key: c.id,
            weight: c.amount,
        })
        .collect();
    let shares = schedule_shares(&plan.installments, &holdings)
        .map_err(|err| AppError::Unexpected(err.into()))?;
    let borrower = users::Entity::find_by_id(loan.borrower_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let investors = per_investor(&txn, &locked.commitments).await?;
    for (commitment, (_, rows)) in locked.commitments.iter().zip(&shares) {
        let (investor, _, _) = investors
            .iter()
            .find(|(user, _, _)| user.id == commitment.investor_id)
            .ok_or(AppError::NotFound)?;
        let agreement = pdf::render_loan_agreement(&AgreementData {
            agreement_number: commitment.id.to_string(),
            lender_name: investor.full_name.clone(),
            lender_email: investor.email.clone(),
            borrower_name: borrower.full_name.clone(),
            borrower_email: borrower.email.clone(),
            platform_name: PLATFORM_NAME.to_owned(),
            loan_amount,
            investment_amount: money(commitment.amount, currency)?,
            rate,
            term_months,
            grade: loan.risk_grade.clone().unwrap_or_default(),
            purpose: crate::domain::application::Purpose::parse(&loan.purpose)
                .map_or_else(|| loan.purpose.clone(), |p| p.label().to_owned()),
            disbursed_on: today,
            accepted_at: commitment.accepted_at,
            servicing_fee: settings.servicing_fee,
            origination_fee: settings.origination_fee,
            reserve_contribution: settings.reserve_contribution,
            schedule: rows.iter().map(share_row).collect::<Result<_, _>>()?,
        })
        .map_err(|err| AppError::Unexpected(err.into()))?;
        let hash = pdf::sha256_hex(&agreement);
        documents::ActiveModel {
            id: Set(Uuid::now_v7()),
            kind: Set("loan_agreement".to_owned()),
            loan_id: Set(loan_id),
            investment_id: Set(Some(commitment.id)),
            file_name: Set(format!("crowdlend-agreement-{}.pdf", commitment.id)),
            content_type: Set("application/pdf".to_owned()),
            content: Set(agreement),
            sha256: Set(hash.clone()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let mut update: investments::ActiveModel = commitment.clone().into();
        update.status = Set(InvestmentStatus::Active.as_str().to_owned());
        update.agreement_hash = Set(Some(hash));
        update.agreement_path = Set(Some(format!(
            "{}/agreement.pdf",
            investment_path(commitment.id)
        )));
        update.updated_at = Set(now);
        update.update(&txn).await?;
    }
    let disbursed = loan_requests::ActiveModel {
        disbursed_at: Set(Some(now)),
        ..Default::default()
    };
    loans::apply(&txn, loan, LoanEvent::Disburse, now, disbursed).await?;

    tell_disbursed(
        &txn,
        &locked,
        (&borrower, &investors),
        (&plan.installments, &shares),
        split,
        base_url,
        now,
    )
    .await?;
    if let Some(staff) = actor {
        let after = reread(&txn, loan_id).await?;
        record_loan_event(
            &txn,
            LoanChange {
                actor: Some(staff),
                action: "loan_disbursed",
                before: Some(loan),
                comment: None,
            },
            &after,
            &RequestMeta::default(),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

fn short_id(id: Uuid) -> String {
    id.simple().to_string()[..8].to_owned()
}

fn share_row(row: &Installment) -> Result<ShareRow, AppError> {
    Ok(ShareRow {
        number: row.number,
        due_date: row.due_date,
        principal: row.principal,
        interest: row.interest,
        total: row
            .total()
            .map_err(|err| AppError::Unexpected(err.into()))?,
        balance_after: row.balance_after,
    })
}

/// Schedule lines for an email, and their total.
fn email_lines(
    rows: &[Installment],
    currency: Currency,
) -> Result<(Vec<ScheduleLine>, Money), AppError> {
    let mut total = Money::zero(currency);
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        let sum = row
            .total()
            .map_err(|err| AppError::Unexpected(err.into()))?;
        total = total
            .checked_add(sum)
            .map_err(|err| AppError::Unexpected(err.into()))?;
        lines.push(ScheduleLine {
            number: row.number,
            due_date: row.due_date.format("%-d %b %Y").to_string(),
            principal: row.principal,
            interest: row.interest,
            total: sum,
        });
    }
    Ok((lines, total))
}

/// Adds `more` to `into` installment by installment (one investor's several
/// commitments in one loan make one schedule).
fn add_rows(into: &mut Vec<Installment>, more: &[Installment]) -> Result<(), AppError> {
    if into.is_empty() {
        into.extend_from_slice(more);
        return Ok(());
    }
    let fail = |err: crate::domain::money::MoneyError| AppError::Unexpected(err.into());
    for (row, extra) in into.iter_mut().zip(more) {
        row.principal = row.principal.checked_add(extra.principal).map_err(fail)?;
        row.interest = row.interest.checked_add(extra.interest).map_err(fail)?;
        row.balance_after = row
            .balance_after
            .checked_add(extra.balance_after)
            .map_err(fail)?;
    }
    Ok(())
}

/// Emails the borrower the schedule and each investor (given by
/// [`per_investor`]) their share of it, summed over their commitments.
async fn tell_disbursed(
    conn: &impl ConnectionTrait,
    locked: &Locked,
    (borrower, investors): (&users::Model, &[(users::Model, i64, Uuid)]),
    (installments, shares): (&[Installment], &[(Uuid, Vec<Installment>)]),
    payout: Payout,
    base_url: &Url,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let loan = &locked.loan;
    let currency = locked.currency;
    let loan_amount = money(loan.amount, currency)?;
    let rate = rate_of(loan)?;
    let (schedule, schedule_total) = email_lines(installments, currency)?;
    outbox::enqueue(
        conn,
        now,
        &borrower.email,
        &LoanDisbursed {
            full_name: borrower.full_name.clone(),
            url: outbox::link(base_url, &format!("/borrower/loans/{}", loan.id)),
            loan_amount,
            rate,
            term_months: loan.term_months,
            borrower: Some(payout),
            your_amount: None,
            schedule,
            schedule_total,
        },
    )
    .await?;
    // One email per investor, however many commitments they made.
    let mut rows_by_investor: BTreeMap<Uuid, Vec<Installment>> = BTreeMap::new();
    for (commitment, (_, rows)) in locked.commitments.iter().zip(shares) {
        add_rows(
            rows_by_investor.entry(commitment.investor_id).or_default(),
            rows,
        )?;
    }
    for (investor, total, first) in investors {
        let rows = rows_by_investor
            .get(&investor.id)
            .map_or(&[][..], Vec::as_slice);
        let (schedule, schedule_total) = email_lines(rows, currency)?;
        outbox::enqueue(
            conn,
            now,
            &investor.email,
            &LoanDisbursed {
                full_name: investor.full_name.clone(),
                url: outbox::link(base_url, &investment_path(*first)),
                loan_amount,
                rate,
                term_months: loan.term_months,
                borrower: None,
                your_amount: Some(money(*total, currency)?),
                schedule,
                schedule_total,
            },
        )
        .await?;
    }
    Ok(())
}
