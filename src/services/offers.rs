//! Direct offers (DESIGN.md section 5, listing mode `offers`): a lender
//! offers a rate for the whole loan, the amount reserved in their wallet;
//! they may change the rate or withdraw the offer until the borrower
//! decides; the borrower accepts one (the cheapest is chosen for them
//! unless they pick another), every other pending offer is rejected and
//! released in the same transaction, and the accepted lender's reservation
//! becomes an ordinary commitment of the whole loan at the offered rate,
//! paid out and serviced as any other. Offers still pending when the
//! listing ends (expired, withdrawn) are released by `funding`.
//!
//! Locks in the platform's one order: the wallets of every lender
//! concerned (by id), then the loan.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection};
use url::Url;

use crate::{
    clock::Clock,
    db::{
        self,
        entities::loan_requests,
        queries::investments as investment_queries,
        repo::{
            investments::{self, NewCommitment},
            loans,
            offers::{self as offer_rows},
            users, wallets,
        },
    },
    domain::{
        application::ListingMode,
        error::DomainError,
        ids::{InvestmentId, LoanId, OfferId, UserId},
        investment::InvestmentSource,
        loan::Loan,
        money::{Money, Rate},
        offers::{Offer, OfferEvent, OfferStatus, check_offer, ranked},
        settings::Settings,
        wallet::Wallet,
    },
    error::{AppError, FieldErrors},
    ledger::{LedgerError, store},
    mail::messages::{OfferDecided, OfferOutcome as Outcome, OfferReceived},
    paths,
    services::{
        idempotency::{self, IdempotencyKey},
        investing::{calendar_year, fully_subscribed, may_invest},
        outbox, settings,
    },
};

/// An offer as the lender confirmed it.
#[derive(Debug)]
pub struct OfferRequest {
    pub loan_id: LoanId,
    pub rate: Rate,
    pub key: IdempotencyKey,
}

/// What an offer led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    /// A new offer, the loan's amount reserved.
    New,
    /// The lender's pending offer now has this rate.
    Edited,
    /// The same confirmation again: nothing changed.
    Replayed,
}

/// Whether `loan` takes offers at `now`.
///
/// # Errors
/// `Domain` for a loan not open for funding, or one at the platform's rate.
pub fn open_for_offers(loan: &Loan, now: DateTime<Utc>) -> Result<(), AppError> {
    loan.open_for_funding(now)?;
    if loan.listing_mode != ListingMode::Offers {
        return Err(DomainError::LoanAtPlatformRate.into());
    }
    Ok(())
}

/// The rates a loan's grade allows.
fn band(settings: &Settings, loan: &Loan) -> Result<(Rate, Rate), AppError> {
    let band = loan
        .grade
        .and_then(|grade| settings.band(grade))
        .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("loan {} has no grade", loan.id)))?;
    Ok((band.min_rate, band.max_rate))
}

/// What the offer page shows before anything is reserved.
#[derive(Debug, Clone)]
pub struct OfferPreview {
    pub loan: Loan,
    /// The rates the loan's grade allows.
    pub band: (Rate, Rate),
    pub wallet: Wallet,
    /// The lender's pending offer on it, if any.
    pub mine: Option<Offer>,
    /// How many offers are pending on it.
    pub pending: usize,
    /// Why the lender cannot make offers yet (identity check, risk
    /// declaration).
    pub blocker: Option<DomainError>,
}

/// The loan, the band and the lender's money and offer as they stand
/// (plain reads; the offer itself checks everything again under its locks).
///
/// # Errors
/// `NotFound` for an unknown loan; `Domain` for one that takes no offers.
pub async fn preview(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    lender_id: UserId,
    loan_id: LoanId,
) -> Result<OfferPreview, AppError> {
    let settings = settings::load(db).await?;
    let loan = loans::get(db, loan_id).await?;
    open_for_offers(&loan, clock.now())?;
    let investor = users::investor(db, lender_id).await?;
    let wallet = wallets::of_user(db, lender_id, loan.currency())
        .await?
        .ok_or(AppError::NotFound)?;
    let pending = offer_rows::of_loan(db, loan_id, &[OfferStatus::Pending]).await?;
    Ok(OfferPreview {
        band: band(&settings, &loan)?,
        wallet,
        mine: pending.iter().find(|o| o.lender_id == lender_id).cloned(),
        pending: pending.len(),
        blocker: may_invest(&investor, settings.kyc_required).err(),
        loan,
    })
}

/// Makes `lender_id`'s offer on the loan, or gives their pending offer the
/// new rate; a new offer reserves the loan's whole amount in the wallet,
/// and the borrower is told. A repeated submission (same key, same values)
/// changes nothing.
///
/// # Errors
/// `Validation` on `rate_annual` for a rate outside the grade's band, too
/// little cash, or this year's limit; `Domain` without the identity check
/// or the risk declaration, for a loan that takes no offers, or a reused
/// submission key; `NotFound` for an unknown loan.
pub async fn make(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    lender_id: UserId,
    request: &OfferRequest,
    base_url: &Url,
) -> Result<Made, AppError> {
    let hash = idempotency::request_hash(&[
        "offer",
        &request.loan_id.to_string(),
        &request.rate.bps().to_string(),
    ]);
    match attempt_make(db, clock, lender_id, request, &hash, base_url).await {
        Err(lost) if idempotency::lost_race(&lost) => {
            // The same confirmation committed first (answer as it did), or
            // another offer of this lender on the loan did (try again).
            match idempotency::replay(db, lender_id, &request.key, &hash).await? {
                Some(_) => Ok(Made::Replayed),
                None => Err(AppError::Conflict),
            }
        }
        other => other,
    }
}

fn on_rate(message: impl Into<String>) -> AppError {
    AppError::Validation(FieldErrors::single("rate_annual", message))
}

async fn attempt_make(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    lender_id: UserId,
    request: &OfferRequest,
    hash: &str,
    base_url: &Url,
) -> Result<Made, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    idempotency::claim(
        &txn,
        lender_id,
        &request.key,
        hash,
        &paths::listing(request.loan_id),
        now,
    )
    .await?;
    let settings = settings::load(&txn).await?;
    let investor = users::investor(&txn, lender_id).await?;
    may_invest(&investor, settings.kyc_required)?;
    let lender_wallets = wallets::lock_all_of(&txn, lender_id).await?;
    let loan = loans::lock(&txn, request.loan_id).await?;
    open_for_offers(&loan, now)?;
    let wallet = lender_wallets
        .into_iter()
        .find(|w| w.currency() == loan.currency())
        .ok_or(AppError::NotFound)?;
    let band = band(&settings, &loan)?;
    let pending = offer_rows::of_loan(&txn, loan.id, &[OfferStatus::Pending]).await?;
    if let Some(mine) = pending.iter().find(|o| o.lender_id == lender_id) {
        // Its amount is reserved already.
        check_offer(request.rate, band, loan.amount, loan.amount)
            .map_err(|problem| on_rate(problem.to_string()))?;
        offer_rows::set_rate(&txn, mine, request.rate, now).await?;
        db::commit(txn).await?;
        return Ok(Made::Edited);
    }
    check_offer(request.rate, band, loan.amount, wallet.available())
        .map_err(|problem| on_rate(problem.to_string()))?;
    if !investor.qualified {
        let (from, to) = calendar_year(now);
        let used = investment_queries::committed_between(&txn, lender_id, from, to).await?;
        let room = settings.unqualified_annual_limit.minor() - used;
        if loan.amount.minor() > room {
            return Err(on_rate(format!(
                "An offer lends the whole {}; this year's limit for unqualified investors leaves you {}.",
                loan.amount,
                Money::from_minor(room.max(0), loan.currency()).map_err(AppError::unexpected)?
            )));
        }
    }
    match store::reserve(&txn, wallet.id.as_uuid(), loan.amount.minor()).await {
        Ok(_) => {}
        Err(store::PostError::Ledger(LedgerError::InsufficientFunds { .. })) => {
            return Err(on_rate(format!(
                "You have {} available; an offer reserves the whole {}.",
                wallet.available(),
                loan.amount
            )));
        }
        Err(err) => return Err(err.into()),
    }
    offer_rows::insert(
        &txn,
        &Offer {
            id: OfferId::new(),
            loan_id: loan.id,
            lender_id,
            rate: request.rate,
            amount: loan.amount,
            status: OfferStatus::Pending,
            made_at: now,
            updated_at: now,
        },
    )
    .await?;
    let borrower = users::get(&txn, loan.borrower_id).await?;
    outbox::enqueue(
        &txn,
        now,
        borrower.email.as_str(),
        &OfferReceived {
            full_name: borrower.full_name.clone(),
            url: outbox::link(base_url, &paths::borrower_loan(loan.id)),
            loan_amount: loan.amount,
            rate: request.rate,
            pending: u32::try_from(pending.len() + 1).unwrap_or(u32::MAX),
        },
    )
    .await?;
    db::commit(txn).await?;
    Ok(Made::New)
}

/// Withdraws `lender_id`'s pending offer; its reservation is released.
/// Returns the loan it was on.
///
/// # Errors
/// `NotFound` for someone else's offer; `Domain` once it is no longer
/// pending.
pub async fn cancel(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    lender_id: UserId,
    offer_id: OfferId,
) -> Result<LoanId, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let read = offer_rows::owned_by(&txn, lender_id, offer_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let lender_wallets = wallets::lock_all_of(&txn, lender_id).await?;
    loans::lock(&txn, read.loan_id).await?;
    // Read again under the locks: every change to it holds them.
    let offer = offer_rows::owned_by(&txn, lender_id, offer_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if offer.status != OfferStatus::Pending {
        return Err(DomainError::OfferClosed.into());
    }
    let wallet = lender_wallets
        .iter()
        .find(|w| w.currency() == offer.amount.currency())
        .ok_or(AppError::NotFound)?;
    offer_rows::apply_all(&txn, std::slice::from_ref(&offer), OfferEvent::Cancel, now).await?;
    store::release(&txn, wallet.id.as_uuid(), offer.amount.minor()).await?;
    db::commit(txn).await?;
    Ok(offer.loan_id)
}

/// How many of a lender's latest offers their portfolio lists.
pub const OFFERS_SHOWN: u64 = 50;

/// `lender_id`'s latest offers, newest first, each with its loan.
///
/// # Errors
/// Database failures.
pub async fn of_lender(
    db: &DatabaseConnection,
    lender_id: UserId,
) -> Result<Vec<(Offer, Loan)>, AppError> {
    offer_rows::of_lender(db, lender_id, OFFERS_SHOWN).await
}

/// The loan's pending offers as its borrower sees them, cheapest first
/// (the first is the one chosen unless they pick another).
///
/// # Errors
/// `NotFound` for someone else's loan; database failures.
pub async fn for_borrower(
    db: &DatabaseConnection,
    borrower_id: UserId,
    loan_id: LoanId,
) -> Result<(Loan, Vec<Offer>), AppError> {
    let loan = loans::get(db, loan_id).await?;
    if loan.borrower_id != borrower_id {
        return Err(AppError::NotFound);
    }
    let pending = offer_rows::of_loan(db, loan_id, &[OfferStatus::Pending]).await?;
    let order = ranked(&pending.iter().map(Offer::standing).collect::<Vec<_>>());
    let ranked = order
        .iter()
        .filter_map(|s| pending.iter().find(|o| o.id == s.key).cloned())
        .collect();
    Ok((loan, ranked))
}

/// The borrower accepts `offer_id`: the loan takes its rate and the
/// lender's reservation becomes the commitment of the whole loan (it is
/// `funded`; the caller has it paid out); every other pending offer is
/// rejected and released; everyone is told. A repeated submission changes
/// nothing.
///
/// # Errors
/// `NotFound` for someone else's loan or an unknown offer; `Domain` for an
/// offer no longer pending, a loan no longer taking offers, or a reused
/// submission key.
pub async fn accept(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    borrower_id: UserId,
    (loan_id, offer_id): (LoanId, OfferId),
    key: &IdempotencyKey,
    base_url: &Url,
) -> Result<(), AppError> {
    let hash = idempotency::request_hash(&["accept", &loan_id.to_string(), &offer_id.to_string()]);
    match attempt_accept(
        db,
        clock,
        borrower_id,
        (loan_id, offer_id),
        (key, &hash),
        base_url,
    )
    .await
    {
        Err(lost) if idempotency::lost_race(&lost) => {
            idempotency::replay(db, borrower_id, key, &hash)
                .await?
                .map(|_| ())
                .ok_or(lost)
        }
        other => other,
    }
}

async fn attempt_accept(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    borrower_id: UserId,
    (loan_id, offer_id): (LoanId, OfferId),
    (key, hash): (&IdempotencyKey, &str),
    base_url: &Url,
) -> Result<(), AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    idempotency::claim(
        &txn,
        borrower_id,
        key,
        hash,
        &paths::borrower_loan(loan_id),
        now,
    )
    .await?;
    let listed = loans::get(&txn, loan_id).await?;
    if listed.borrower_id != borrower_id {
        return Err(AppError::NotFound);
    }
    let settings = settings::load(&txn).await?;
    let before = offer_rows::of_loan(&txn, loan_id, &[OfferStatus::Pending]).await?;
    let mut lenders: Vec<UserId> = before.iter().map(|o| o.lender_id).collect();
    lenders.sort_unstable();
    lenders.dedup();
    let locked = wallets::lock(&txn, &lenders, &[], listed.currency()).await?;
    let loan = loans::lock(&txn, loan_id).await?;
    open_for_offers(&loan, now)?;
    let pending = offer_rows::of_loan(&txn, loan_id, &[OfferStatus::Pending]).await?;
    let Some(chosen) = pending.iter().find(|o| o.id == offer_id).cloned() else {
        return Err(DomainError::OfferClosed.into());
    };
    let others: Vec<Offer> = pending.into_iter().filter(|o| o.id != offer_id).collect();
    offer_rows::apply_all(&txn, std::slice::from_ref(&chosen), OfferEvent::Accept, now).await?;
    offer_rows::apply_all(&txn, &others, OfferEvent::Reject, now).await?;
    for offer in &others {
        let wallet = locked
            .iter()
            .find(|w| w.owner == Some(offer.lender_id))
            .ok_or(AppError::Conflict)?;
        store::release(&txn, wallet.id.as_uuid(), offer.amount.minor()).await?;
    }
    // The lender's reservation stays: it is now this commitment's.
    loans::add_funded(&txn, loan.id, loan.amount.minor(), now).await?;
    investments::insert(
        &txn,
        NewCommitment {
            id: InvestmentId::new(),
            investor_id: chosen.lender_id,
            loan_id: loan.id,
            amount: loan.amount,
            source: InvestmentSource::Manual,
            at: now,
        },
    )
    .await?;
    let funded = Loan {
        funded: loan.amount,
        rate: Some(chosen.rate),
        ..loan
    };
    let rate = loan_requests::ActiveModel {
        rate_annual: Set(Some(i32::try_from(chosen.rate.bps()).unwrap_or(i32::MAX))),
        ..Default::default()
    };
    let automatic = settings.disbursement_automatic;
    fully_subscribed(&txn, &funded, rate, automatic, base_url, now).await?;
    let decided = std::iter::once((&chosen, Outcome::Accepted))
        .chain(others.iter().map(|o| (o, Outcome::NotChosen)));
    tell_lenders(&txn, &funded, decided, base_url, now).await?;
    db::commit(txn).await?;
    Ok(())
}

/// Tells each lender what became of their offer.
pub(crate) async fn tell_lenders<'a>(
    conn: &impl ConnectionTrait,
    loan: &Loan,
    decided: impl Iterator<Item = (&'a Offer, Outcome)>,
    base_url: &Url,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let decided: Vec<(&Offer, Outcome)> = decided.collect();
    let ids: Vec<UserId> = decided.iter().map(|(o, _)| o.lender_id).collect();
    let people = users::get_many(conn, &ids).await?;
    let mut emails = Vec::with_capacity(decided.len());
    for (offer, outcome) in decided {
        let lender = people.get(&offer.lender_id).ok_or(AppError::NotFound)?;
        emails.push(outbox::render(
            lender.email.as_str(),
            &OfferDecided {
                full_name: lender.full_name.clone(),
                url: outbox::link(base_url, &paths::listing(loan.id)),
                loan_amount: loan.amount,
                rate: offer.rate,
                outcome,
            },
        )?);
    }
    outbox::queue(conn, now, emails).await
}
