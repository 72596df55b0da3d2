//! What happens to a loan's commitments together (DESIGN.md section 5,
//! step 5): paying out a funded loan, and releasing every reservation of a
//! loan that closes unfunded (its deadline passed, or the borrower withdrew).
//!
//! Lock order, as everywhere: the wallets involved in ascending id, then the
//! loan, then (inside `ledger::store::post`) the chain head. The wallets are
//! found from the commitments read before the loan is locked; the
//! commitments are read again under the lock and the use case gives up
//! (`Conflict`) if a new investor appeared meanwhile (none can, once the loan
//! is full or past its deadline, but nothing here relies on that).
//!
//! A payout is planned first, from plain reads (`domain::disbursement`):
//! the agreements are rendered and the emails written before the write
//! transaction opens, which then only checks that the loan and its
//! commitments are still the planned ones, moves the money and stores what
//! was prepared. A payout that fails (or a loan funded while automatic
//! payout was off and since switched on) is retried by the `payouts` job.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect,
};
use url::Url;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::loan_requests,
        repo::{
            documents::{self, Agreement},
            installments, investments, loans,
            offers::{self as offer_rows},
            users, wallets,
        },
    },
    domain::{
        disbursement::{self, Deductions, DisbursementPlan},
        error::DomainError,
        ids::{LoanId, UserId, WalletId},
        investment::{Investment, InvestmentEvent, InvestmentStatus, investor_totals},
        lifecycle::{LoanEvent, LoanStatus},
        loan::Loan,
        money::{Currency, Money},
        offers::{Offer, OfferEvent, OfferStatus},
        schedule::Installment,
        user::User,
        wallet::{self, Wallet, WalletKind},
    },
    error::AppError,
    ledger::{EntryKind, JournalEntry, store},
    mail::messages::{FundingEnd, FundingEnded, LoanDisbursed, OfferOutcome, ScheduleLine},
    paths,
    pdf::{self, AgreementData, ShareRow},
    services::{
        RequestMeta,
        applications::{LoanChange, record_loan_event},
        offers,
        outbox::{self, RenderedEmail},
        settings,
    },
};

/// The platform's name as agreements give it.
const PLATFORM_NAME: &str = "Crowdlend";

/// A loan locked with its open commitments and the wallets they reserve.
struct Locked {
    loan: Loan,
    /// Open commitments, earliest first.
    commitments: Vec<Investment>,
    /// Pending offers (listing mode `offers`), earliest first.
    offers: Vec<Offer>,
    /// The locked wallets, in id order.
    wallets: Vec<Wallet>,
}

impl Locked {
    fn wallet_of(&self, owner: UserId) -> Result<&Wallet, AppError> {
        wallet::owned_by(&self.wallets, owner).ok_or(AppError::Conflict)
    }

    fn platform_wallet(&self, kind: WalletKind) -> Result<&Wallet, AppError> {
        wallet::platform(&self.wallets, kind)
            .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("no {} wallet", kind.as_str())))
    }

    /// What each investor's wallet holds reserved for this loan.
    fn reserved_per_wallet(&self) -> Result<BTreeMap<WalletId, i64>, AppError> {
        let mut per_wallet: BTreeMap<WalletId, i64> = BTreeMap::new();
        for c in &self.commitments {
            *per_wallet
                .entry(self.wallet_of(c.investor_id)?.id)
                .or_default() += c.amount.minor();
        }
        Ok(per_wallet)
    }

    /// Gives every reservation for this loan back to its wallet; returns
    /// what each wallet had reserved.
    async fn release_reservations(
        &self,
        conn: &impl ConnectionTrait,
    ) -> Result<BTreeMap<WalletId, i64>, AppError> {
        let per_wallet = self.reserved_per_wallet()?;
        for (wallet_id, amount) in &per_wallet {
            store::release(conn, wallet_id.as_uuid(), *amount).await?;
        }
        Ok(per_wallet)
    }
}

/// Locks the wallets of the loan's open commitments (and of the user `also`,
/// e.g. the borrower, and the platform wallets of `platform` kinds) in id
/// order, then the loan; reads the commitments again.
///
/// # Errors
/// `NotFound` for an unknown loan; `Conflict` if an investor committed
/// between the two reads (try again).
async fn lock_with_commitments(
    conn: &impl ConnectionTrait,
    loan_id: LoanId,
    also: Option<UserId>,
    platform: &[WalletKind],
) -> Result<Locked, AppError> {
    let listed = loans::get(conn, loan_id).await?;
    let before = investments::of_loan(conn, &listed, &[InvestmentStatus::Pending]).await?;
    let offered = offer_rows::of_loan(conn, loan_id, &[OfferStatus::Pending]).await?;
    let mut owners: Vec<UserId> = before.iter().map(|i| i.investor_id).collect();
    owners.extend(offered.iter().map(|o| o.lender_id));
    owners.extend(also);
    owners.sort_unstable();
    owners.dedup();
    let wallets = wallets::lock(conn, &owners, platform, listed.currency()).await?;
    let loan = loans::lock(conn, loan_id).await?;
    let commitments = investments::of_loan(conn, &loan, &[InvestmentStatus::Pending]).await?;
    let offers = offer_rows::of_loan(conn, loan_id, &[OfferStatus::Pending]).await?;
    let locked = Locked {
        loan,
        commitments,
        offers,
        wallets,
    };
    for c in &locked.commitments {
        locked.wallet_of(c.investor_id)?;
    }
    for o in &locked.offers {
        locked.wallet_of(o.lender_id)?;
    }
    Ok(locked)
}

/// Releases every open commitment and pending offer of the locked loan:
/// each reservation goes back, the commitments move by `event`, the offers
/// expire (or, withdrawn, are rejected). The caller moves the loan (with
/// `funded_amount` back to 0) in the same transaction.
async fn release_all(
    conn: &impl ConnectionTrait,
    locked: &Locked,
    event: InvestmentEvent,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    locked.release_reservations(conn).await?;
    for offer in &locked.offers {
        store::release(
            conn,
            locked.wallet_of(offer.lender_id)?.id.as_uuid(),
            offer.amount.minor(),
        )
        .await?;
    }
    let offer_event = if event == InvestmentEvent::Expire {
        OfferEvent::Expire
    } else {
        OfferEvent::Reject
    };
    offer_rows::apply_all(conn, &locked.offers, offer_event, now).await?;
    investments::apply_to_loan(
        conn,
        locked.loan.id,
        InvestmentStatus::Pending,
        event,
        locked.commitments.len(),
        now,
    )
    .await
}

/// Tells each investor whose commitments were released why.
async fn tell_released(
    conn: &impl ConnectionTrait,
    locked: &Locked,
    why: FundingEnd,
    base_url: &Url,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let totals = investor_totals(&locked.commitments).map_err(AppError::unexpected)?;
    let ids: Vec<UserId> = totals.iter().map(|t| t.investor_id).collect();
    let people = users::get_many(conn, &ids).await?;
    let mut emails = Vec::with_capacity(totals.len());
    for total in totals {
        let investor = people.get(&total.investor_id).ok_or(AppError::NotFound)?;
        emails.push(outbox::render(
            investor.email.as_str(),
            &FundingEnded {
                full_name: investor.full_name.clone(),
                url: outbox::link(base_url, paths::MARKETPLACE),
                loan_amount: locked.loan.amount,
                released: Some(total.total),
                why,
            },
        )?);
    }
    outbox::queue(conn, now, emails).await
}

/// The loan's status back at nothing funded, closed now.
fn closed(now: DateTime<Utc>) -> loan_requests::ActiveModel {
    loan_requests::ActiveModel {
        closed_at: Set(Some(now)),
        funded_amount: Set(0),
        ..Default::default()
    }
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
    loan_id: LoanId,
    base_url: &Url,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let now = clock.now();
    // Someone else's loan is not found, before anything is locked.
    if loans::get(db, loan_id).await?.borrower_id != borrower_id {
        return Err(AppError::NotFound);
    }
    let txn = db::begin_write(db).await?;
    let locked = lock_with_commitments(&txn, loan_id, None, &[]).await?;
    release_all(&txn, &locked, InvestmentEvent::LoanWithdrawn, now).await?;
    loans::apply(&txn, &locked.loan, LoanEvent::Withdraw, now, closed(now)).await?;
    tell_released(&txn, &locked, FundingEnd::Withdrawn, base_url, now).await?;
    let withdrawn = locked.offers.iter().map(|o| (o, OfferOutcome::Withdrawn));
    offers::tell_lenders(&txn, &locked.loan, withdrawn, base_url, now).await?;
    let after = loans::get(&txn, loan_id).await?;
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
    db::commit(txn).await?;
    Ok(())
}

/// Ends the funding of one loan whose deadline has passed: releases every
/// reservation, marks the commitments `expired` and the loan `expired`, and
/// tells everyone. Returns whether it did (a loan still in time, or no
/// longer in funding, is left alone).
///
/// # Errors
/// Database failures.
pub async fn expire_if_due(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    loan_id: LoanId,
    base_url: &Url,
) -> Result<bool, AppError> {
    let now = clock.now();
    if !is_due(&loans::get(db, loan_id).await?, now) {
        return Ok(false);
    }
    let txn = db::begin_write(db).await?;
    let locked = lock_with_commitments(&txn, loan_id, None, &[]).await?;
    if !is_due(&locked.loan, now) {
        return Ok(false);
    }
    release_all(&txn, &locked, InvestmentEvent::Expire, now).await?;
    loans::apply(&txn, &locked.loan, LoanEvent::Expire, now, closed(now)).await?;
    let why = FundingEnd::Expired {
        deadline: locked.loan.funding_deadline,
    };
    tell_released(&txn, &locked, why, base_url, now).await?;
    let expired = locked.offers.iter().map(|o| (o, OfferOutcome::Expired));
    offers::tell_lenders(&txn, &locked.loan, expired, base_url, now).await?;
    let borrower = users::get(&txn, locked.loan.borrower_id).await?;
    outbox::enqueue(
        &txn,
        now,
        borrower.email.as_str(),
        &FundingEnded {
            full_name: borrower.full_name,
            url: outbox::link(base_url, &paths::borrower_loan(loan_id)),
            loan_amount: locked.loan.amount,
            released: None,
            why,
        },
    )
    .await?;
    db::commit(txn).await?;
    Ok(true)
}

/// Whether a loan is still in funding with its deadline passed.
fn is_due(loan: &Loan, now: DateTime<Utc>) -> bool {
    loan.status == LoanStatus::Funding && loan.is_past_deadline(now)
}

/// The ids of the loans in `status` (and, with `due_by`, past their funding
/// deadline at that time).
async fn loans_in(
    db: &DatabaseConnection,
    status: LoanStatus,
    due_by: Option<DateTime<Utc>>,
) -> Result<Vec<LoanId>, AppError> {
    let mut query = loan_requests::Entity::find()
        .select_only()
        .column(loan_requests::Column::Id)
        .filter(loan_requests::Column::Status.eq(status.as_str()));
    if let Some(now) = due_by {
        query = query.filter(loan_requests::Column::FundingDeadline.lte(now));
    }
    let ids: Vec<uuid::Uuid> = query.into_tuple().all(db).await?;
    Ok(ids.into_iter().map(LoanId::from_uuid).collect())
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
    let mut expired = 0;
    for loan_id in loans_in(db, LoanStatus::Funding, Some(clock.now())).await? {
        match expire_if_due(db, clock, loan_id, base_url).await {
            Ok(true) => expired += 1,
            Ok(false) => {}
            Err(err) => tracing::warn!(%loan_id, error = ?err, "could not expire the loan"),
        }
    }
    Ok(expired)
}

/// Pays `loan_id` out now when the platform pays out automatically (the
/// commitment that fills a loan asks for this). A failure is logged and
/// left to the `payouts` job; returns whether it was paid out.
pub async fn pay_out_if_automatic(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    loan_id: LoanId,
    base_url: &Url,
) -> bool {
    match settings::load(db).await {
        Ok(settings) if settings.disbursement_automatic => {}
        Ok(_) => return false,
        Err(err) => {
            tracing::error!(%loan_id, error = %err, "cannot read the settings to pay a loan out");
            return false;
        }
    }
    match disburse(db, clock, loan_id, None, base_url).await {
        Ok(()) => true,
        Err(err) => {
            tracing::error!(%loan_id, error = ?err, "automatic payout failed; the payouts job tries again");
            false
        }
    }
}

/// The `payouts` job: with automatic payout on, pays out every loan that is
/// fully funded and not yet paid out (one whose payout failed, or one funded
/// while payout was left to staff). Returns how many it paid out; a loan
/// that fails is logged and tried again on the next pass.
///
/// # Errors
/// When the settings or the funded loans cannot be read.
pub async fn pay_out_due(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    base_url: &Url,
) -> Result<u64, AppError> {
    if !settings::load(db).await?.disbursement_automatic {
        return Ok(0);
    }
    let mut paid = 0;
    for loan_id in loans_in(db, LoanStatus::Funded, None).await? {
        match disburse(db, clock, loan_id, None, base_url).await {
            Ok(()) => paid += 1,
            // Paid out meanwhile by staff or another instance.
            Err(AppError::Domain(DomainError::NotPayable { .. }) | AppError::Conflict) => {}
            Err(err) => tracing::warn!(%loan_id, error = ?err, "could not pay the loan out"),
        }
    }
    Ok(paid)
}

/// Pays out a funded loan: every reservation becomes a transfer (one journal
/// entry: the investors' money to the borrower, less the reserve
/// contribution and the origination fee, which go to their platform
/// wallets); the schedule starts from today; the commitments become
/// `active`; each gets its PDF agreement, stored with its SHA-256; the loan
/// becomes `active`; the borrower and investors are emailed. `actor` is the
/// staff member who paid it out, `None` when automatic.
///
/// # Errors
/// `Domain(NotPayable)` unless the loan is `funded`; `Conflict` when its
/// commitments changed while the payout was prepared; `NotFound` for an
/// unknown loan.
pub async fn disburse(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    loan_id: LoanId,
    actor: Option<UserId>,
    base_url: &Url,
) -> Result<(), AppError> {
    // The plan, from plain reads: nothing is locked while it is prepared.
    let loan = loans::get(db, loan_id).await?;
    if loan.status != LoanStatus::Funded {
        return Err(DomainError::NotPayable {
            status: loan.status,
        }
        .into());
    }
    let commitments = investments::of_loan(db, &loan, &[InvestmentStatus::Pending]).await?;
    let settings = settings::load(db).await?;
    let deductions = Deductions {
        reserve_contribution: settings.reserve_contribution,
        origination_fee: settings.origination_fee,
    };
    let plan = disbursement::plan(&loan, &commitments, deductions, clock.today())
        .map_err(|err| AppError::unexpected(anyhow::anyhow!("loan {loan_id}: {err}")))?;
    let mut ids: Vec<UserId> = plan.investors.iter().map(|i| i.investor_id).collect();
    ids.push(loan.borrower_id);
    let people = users::get_many(db, &ids).await?;
    let agreements = render_agreements(&plan, &loan, &people, &settings).await?;
    let emails = payout_emails(&plan, &loan, &people, base_url)?;

    // The money and the records, in one short transaction.
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let locked = lock_with_commitments(
        &txn,
        loan_id,
        Some(loan.borrower_id),
        &[WalletKind::ReserveFund, WalletKind::Fees],
    )
    .await?;
    if locked.loan.status != LoanStatus::Funded {
        return Err(DomainError::NotPayable {
            status: locked.loan.status,
        }
        .into());
    }
    if !plan.still_matches(&locked.commitments) {
        return Err(AppError::Conflict);
    }
    post_payout(&txn, &locked, &plan, actor, now).await?;
    installments::insert_schedule(&txn, loan_id, &plan.schedule.installments, now).await?;
    for agreement in &agreements {
        let stake = plan
            .stakes
            .iter()
            .find(|s| s.investment.id == agreement.investment_id)
            .ok_or(AppError::Conflict)?;
        investments::disburse(&txn, &stake.investment, &agreement.sha256, now).await?;
    }
    documents::insert_agreements(&txn, loan_id, agreements, now).await?;
    let disbursed = loan_requests::ActiveModel {
        disbursed_at: Set(Some(now)),
        ..Default::default()
    };
    loans::apply(&txn, &locked.loan, LoanEvent::Disburse, now, disbursed).await?;
    outbox::queue(&txn, now, emails).await?;
    if let Some(staff) = actor {
        let after = loans::get(&txn, loan_id).await?;
        record_loan_event(
            &txn,
            LoanChange {
                actor: Some(staff),
                action: "loan_disbursed",
                before: Some(&locked.loan),
                comment: None,
            },
            &after,
            &RequestMeta::default(),
            now,
        )
        .await?;
    }
    db::commit(txn).await?;
    Ok(())
}

/// Releases the reservations and posts one balanced entry: each investor's
/// wallet gives what it had reserved, the borrower, the reserve fund and the
/// fees wallet get their parts of the payout.
async fn post_payout(
    conn: &impl ConnectionTrait,
    locked: &Locked,
    plan: &DisbursementPlan,
    actor: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut postings: BTreeMap<WalletId, i64> = locked
        .release_reservations(conn)
        .await?
        .into_iter()
        .map(|(wallet_id, amount)| (wallet_id, -amount))
        .collect();
    for (wallet, amount) in [
        (locked.wallet_of(plan.borrower_id)?, plan.payout.to_borrower),
        (
            locked.platform_wallet(WalletKind::ReserveFund)?,
            plan.payout.reserve_contribution,
        ),
        (
            locked.platform_wallet(WalletKind::Fees)?,
            plan.payout.origination_fee,
        ),
    ] {
        *postings.entry(wallet.id).or_default() += amount.minor();
    }
    let entry = JournalEntry::netted(
        EntryKind::Disbursement,
        format!("Loan {} paid out", short_id(plan.loan_id)),
        postings
            .into_iter()
            .map(|(wallet_id, amount)| (wallet_id.as_uuid(), amount)),
    )
    .map_err(AppError::unexpected)?;
    store::post(conn, &entry, actor, now).await?;
    Ok(())
}

/// Every stake's PDF agreement, rendered off the async workers (a few
/// milliseconds each), with its SHA-256.
async fn render_agreements(
    plan: &DisbursementPlan,
    loan: &Loan,
    people: &BTreeMap<UserId, User>,
    settings: &crate::domain::settings::Settings,
) -> Result<Vec<Agreement>, AppError> {
    let borrower = people.get(&plan.borrower_id).ok_or(AppError::NotFound)?;
    let rate = loan
        .rate
        .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("loan {} has no rate", loan.id)))?;
    let data = plan
        .stakes
        .iter()
        .map(|stake| {
            let investor = people
                .get(&stake.investment.investor_id)
                .ok_or(AppError::NotFound)?;
            Ok((
                stake.investment.id,
                AgreementData {
                    agreement_number: stake.investment.id.to_string(),
                    lender_name: investor.full_name.clone(),
                    lender_email: investor.email.as_str().to_owned(),
                    borrower_name: borrower.full_name.clone(),
                    borrower_email: borrower.email.as_str().to_owned(),
                    platform_name: PLATFORM_NAME.to_owned(),
                    loan_amount: loan.amount,
                    investment_amount: stake.investment.amount,
                    rate,
                    term_months: loan.term_months,
                    grade: loan
                        .grade
                        .map(|g| g.as_str().to_owned())
                        .unwrap_or_default(),
                    purpose: loan.purpose.label().to_owned(),
                    disbursed_on: plan.day,
                    accepted_at: stake.investment.accepted_at,
                    servicing_fee: settings.servicing_fee,
                    origination_fee: settings.origination_fee,
                    reserve_contribution: settings.reserve_contribution,
                    schedule: stake
                        .share
                        .iter()
                        .map(share_row)
                        .collect::<Result<_, _>>()?,
                },
            ))
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    tokio::task::spawn_blocking(move || {
        data.into_iter()
            .map(|(investment_id, data)| {
                let content = pdf::render_loan_agreement(&data).map_err(AppError::unexpected)?;
                Ok(Agreement {
                    investment_id,
                    sha256: pdf::sha256_hex(&content),
                    content,
                })
            })
            .collect::<Result<Vec<_>, AppError>>()
    })
    .await
    .map_err(AppError::unexpected)?
}

/// The first eight hex digits of a loan's id, for journal memos.
pub(crate) fn short_id(id: LoanId) -> String {
    id.as_uuid().simple().to_string()[..8].to_owned()
}

fn share_row(row: &Installment) -> Result<ShareRow, AppError> {
    Ok(ShareRow {
        number: row.number,
        due_date: row.due_date,
        principal: row.principal,
        interest: row.interest,
        total: row.total().map_err(AppError::unexpected)?,
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
        let sum = row.total().map_err(AppError::unexpected)?;
        total = total.checked_add(sum).map_err(AppError::unexpected)?;
        lines.push(ScheduleLine {
            number: row.number,
            due_date: row.due_date,
            principal: row.principal,
            interest: row.interest,
            total: sum,
        });
    }
    Ok((lines, total))
}

/// The borrower's email with the schedule, and one per investor with their
/// share of it, summed over their commitments.
fn payout_emails(
    plan: &DisbursementPlan,
    loan: &Loan,
    people: &BTreeMap<UserId, User>,
    base_url: &Url,
) -> Result<Vec<RenderedEmail>, AppError> {
    let rate = loan
        .rate
        .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("loan {} has no rate", loan.id)))?;
    let term_months = i32::try_from(loan.term_months).unwrap_or(i32::MAX);
    let borrower = people.get(&plan.borrower_id).ok_or(AppError::NotFound)?;
    let (schedule, schedule_total) = email_lines(&plan.schedule.installments, loan.currency())?;
    let mut emails = vec![outbox::render(
        borrower.email.as_str(),
        &LoanDisbursed {
            full_name: borrower.full_name.clone(),
            url: outbox::link(base_url, &paths::borrower_loan(loan.id)),
            loan_amount: loan.amount,
            rate,
            term_months,
            borrower: Some(plan.payout),
            your_amount: None,
            schedule,
            schedule_total,
        },
    )?];
    for investor_plan in &plan.investors {
        let investor = people
            .get(&investor_plan.investor_id)
            .ok_or(AppError::NotFound)?;
        let (schedule, schedule_total) = email_lines(&investor_plan.share, loan.currency())?;
        emails.push(outbox::render(
            investor.email.as_str(),
            &LoanDisbursed {
                full_name: investor.full_name.clone(),
                url: outbox::link(base_url, &paths::investment(investor_plan.first)),
                loan_amount: loan.amount,
                rate,
                term_months,
                borrower: None,
                your_amount: Some(investor_plan.total),
                schedule,
                schedule_total,
            },
        )?);
    }
    Ok(emails)
}
