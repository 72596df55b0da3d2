//! The secondary market (DESIGN.md section 8): an investor lists principal
//! of an active stake whose loan is not overdue, at its outstanding value
//! times (1 + markup) inside the platform's band; a buyer pays the price in
//! one ledger entry (buyer → seller, less the platform's fee → fees) and
//! from then on holds that principal: a partial sale takes it out of the
//! seller's stake into a new one of the buyer's, a whole sale hands the
//! stake itself over. Repayments are shared by the principal each stake
//! holds, so they follow at once. Listings of loans that fall overdue or
//! end are withdrawn by [`withdraw_unsellable`] (after the servicing jobs)
//! and are refused at purchase meanwhile.
//!
//! Locks in the platform's one order: the buyer's, the seller's and the
//! fees wallets (by id), then the loan.

use chrono::SubsecRound;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use url::Url;

use crate::{
    clock::Clock,
    db::{
        self,
        queries::{
            investments as investment_queries,
            secondary::{self as queries, SecondaryFilter},
        },
        repo::{
            installments,
            investments::{self, NewCommitment},
            listings::{self, Sale, Withdrawn},
            loans, users, wallets,
        },
    },
    domain::{
        error::DomainError,
        ids::{InvestmentId, ListingId, LoanId, UserId},
        installment::InstallmentStatus,
        investment::{Investment, InvestmentSource},
        journal::EntryKind,
        lifecycle::LoanStatus,
        loan::Loan,
        money::{Currency, Money, Rate, TypedAmount},
        secondary::{
            Listing, ListingStatus, Markup, MarkupBand, Stake, buyer_view, check_listing,
            fair_value, place_in_queue, proceeds, yield_to_maturity,
        },
        wallet::WalletKind,
        xirr::Xirr,
    },
    error::{AppError, FieldErrors},
    ledger::{JournalEntry, LedgerError, Posting, store},
    mail::messages::SecondarySaleDone,
    paths,
    services::{
        idempotency::{self, IdempotencyKey},
        investing::{calendar_year, may_invest},
        outbox, receipts, settings,
    },
};

/// A sale as the seller confirmed it.
#[derive(Debug)]
pub struct SaleRequest {
    pub investment_id: InvestmentId,
    /// The principal to sell, as typed.
    pub principal: TypedAmount,
    pub markup: Markup,
    pub key: IdempotencyKey,
}

/// A stake as the market sees it: what it holds, whether its loan is
/// overdue.
async fn stake_of(
    conn: &impl ConnectionTrait,
    investment: &Investment,
    loan: &Loan,
) -> Result<Stake, AppError> {
    let returned = receipts::returned_principal(conn, &[loan.id])
        .await?
        .get(&investment.id)
        .copied()
        .unwrap_or(0);
    let overdue = installments::of_loan(conn, loan.id, loan.currency())
        .await?
        .iter()
        .any(|i| i.status == InstallmentStatus::Overdue);
    Ok(Stake {
        status: investment.status,
        overdue: overdue || loan.status != LoanStatus::Active,
        outstanding: Money::from_minor(investment.amount.minor() - returned, loan.currency())
            .map_err(AppError::unexpected)?,
    })
}

fn on(field: &str, message: impl Into<String>) -> AppError {
    AppError::Validation(FieldErrors::single(field, message))
}

/// Lists principal of `seller_id`'s stake for sale. A repeated submission
/// (same key, same values) lists nothing more.
///
/// # Errors
/// `Validation` on `markup_percent` outside the band, on `amount` for a
/// principal the stake cannot sell (more than it holds, below the minimum,
/// leaving too little, an overdue loan); `Domain` when it is listed
/// already; `NotFound` for someone else's stake.
pub async fn list(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    seller_id: UserId,
    request: &SaleRequest,
) -> Result<ListingId, AppError> {
    let hash = idempotency::request_hash(&[
        "sell",
        &request.investment_id.to_string(),
        &request.principal.minor().to_string(),
        &request.markup.bps().to_string(),
    ]);
    match attempt_list(db, clock, seller_id, request, &hash).await {
        Err(lost) if idempotency::lost_race(&lost) => {
            match idempotency::replay(db, seller_id, &request.key, &hash).await? {
                Some(first) => first
                    .parse()
                    .map_err(|err| anyhow::anyhow!("stored answer {first:?}: {err}").into()),
                None => Err(DomainError::AlreadyListed.into()),
            }
        }
        other => other,
    }
}

async fn attempt_list(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    seller_id: UserId,
    request: &SaleRequest,
    hash: &str,
) -> Result<ListingId, AppError> {
    let now = clock.now();
    let id = ListingId::new();
    let txn = db::begin_write(db).await?;
    idempotency::claim(&txn, seller_id, &request.key, hash, &id.to_string(), now).await?;
    let settings = settings::load(&txn).await?;
    let (_, listed) = investments::owned_by(&txn, seller_id, request.investment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    // The loan's lock keeps payments (which change what the stake holds) out.
    let loan = loans::lock(&txn, listed.id).await?;
    let (investment, _) = investments::owned_by(&txn, seller_id, request.investment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let markup = settings
        .secondary_band
        .check(request.markup)
        .map_err(|problem| on("markup_percent", problem.to_string()))?;
    let stake = stake_of(&txn, &investment, &loan).await?;
    let principal = request.principal.in_currency(loan.currency());
    check_listing(stake, principal, markup, settings.min_investment)
        .map_err(|problem| on("amount", problem.to_string()))?;
    if listings::open_of_loan(&txn, loan.id)
        .await?
        .iter()
        .any(|l| l.investment_id == investment.id)
    {
        return Err(DomainError::AlreadyListed.into());
    }
    listings::insert(
        &txn,
        &Listing {
            id,
            loan_id: loan.id,
            investment_id: investment.id,
            seller_id,
            principal,
            markup,
            status: ListingStatus::Open,
            // In microseconds, as both databases keep it and the market's
            // page cursor carries it.
            listed_at: now.trunc_subsecs(6),
        },
    )
    .await?;
    db::commit(txn).await?;
    Ok(id)
}

/// The seller takes their listing back; returns the investment it was of.
///
/// # Errors
/// `NotFound` for someone else's listing; `Domain` once it is sold or
/// withdrawn.
pub async fn cancel(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    seller_id: UserId,
    listing_id: ListingId,
) -> Result<InvestmentId, AppError> {
    let txn = db::begin_write(db).await?;
    let withdrawn = listings::withdraw(
        &txn,
        Withdrawn::One(listing_id, seller_id),
        "withdrawn by the seller",
        clock.now(),
    )
    .await?;
    if withdrawn == 0 {
        return match listings::find(&txn, listing_id).await? {
            Some(listing) if listing.seller_id == seller_id => {
                Err(DomainError::ListingClosed.into())
            }
            _ => Err(AppError::NotFound),
        };
    }
    let investment = listings::find(&txn, listing_id)
        .await?
        .ok_or(AppError::NotFound)?
        .investment_id;
    db::commit(txn).await?;
    Ok(investment)
}

/// What a purchase bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bought {
    /// The buyer's stake now.
    pub investment_id: InvestmentId,
    pub principal: Money,
    pub price: Money,
}

/// `buyer_id` buys listing `listing_id` whole: pays its price, and holds
/// its principal from now on. A repeated submission buys nothing more.
///
/// # Errors
/// `Domain` for one's own listing, a listing no longer on sale (sold,
/// withdrawn, its loan overdue or ended, the stake changed), without the
/// identity check or the risk declaration; `Validation` on `amount` when
/// the buyer's available money or yearly limit falls short; `NotFound`.
pub async fn buy(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    buyer_id: UserId,
    listing_id: ListingId,
    key: &IdempotencyKey,
    base_url: &Url,
) -> Result<Bought, AppError> {
    let hash = idempotency::request_hash(&["buy", &listing_id.to_string()]);
    match attempt_buy(db, clock, buyer_id, listing_id, (key, &hash), base_url).await {
        Err(lost) if idempotency::lost_race(&lost) => {
            idempotency::replay(db, buyer_id, key, &hash)
                .await?
                .ok_or(lost)?;
            let (investment_id, principal, price) = listings::bought_with(db, listing_id)
                .await?
                .ok_or(AppError::Conflict)?;
            let currency = Currency::Rub;
            let money = |minor| Money::from_minor(minor, currency).map_err(AppError::unexpected);
            Ok(Bought {
                investment_id,
                principal: money(principal)?,
                price: money(price)?,
            })
        }
        other => other,
    }
}

async fn attempt_buy(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    buyer_id: UserId,
    listing_id: ListingId,
    (key, hash): (&IdempotencyKey, &str),
    base_url: &Url,
) -> Result<Bought, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    idempotency::claim(&txn, buyer_id, key, hash, &listing_id.to_string(), now).await?;
    let read = listings::find(&txn, listing_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if read.seller_id == buyer_id {
        return Err(DomainError::OwnListing.into());
    }
    let settings = settings::load(&txn).await?;
    let buyer = users::investor(&txn, buyer_id).await?;
    may_invest(&buyer, settings.kyc_required)?;
    let currency = read.principal.currency();
    let locked = wallets::lock(
        &txn,
        &[buyer_id, read.seller_id],
        &[WalletKind::Fees],
        currency,
    )
    .await?;
    let loan = loans::lock(&txn, read.loan_id).await?;
    let listing = listings::find(&txn, listing_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if listing.status != ListingStatus::Open {
        return Err(DomainError::ListingClosed.into());
    }
    let (investment, _) = investments::owned_by(&txn, listing.seller_id, listing.investment_id)
        .await?
        .ok_or(DomainError::ListingClosed)?;
    let stake = stake_of(&txn, &investment, &loan).await?;
    // Repayments since the listing may have lowered what the stake holds.
    let principal = if listing.principal.minor() > stake.outstanding.minor() {
        stake.outstanding
    } else {
        listing.principal
    };
    let terms = check_listing(stake, principal, listing.markup, settings.min_investment)
        .map_err(|_| DomainError::ListingClosed)?;
    if !buyer.qualified {
        let (from, to) = calendar_year(now);
        let used = investment_queries::committed_between(&txn, buyer_id, from, to).await?;
        let room = settings.unqualified_annual_limit.minor() - used;
        if principal.minor() > room {
            return Err(on(
                "amount",
                format!(
                    "This year's limit for unqualified investors leaves you {}.",
                    Money::from_minor(room.max(0), currency).map_err(AppError::unexpected)?
                ),
            ));
        }
    }
    let (to_seller, fee) =
        proceeds(terms.price, settings.secondary_fee).map_err(AppError::unexpected)?;
    let wallet_of = |owner: Option<UserId>, kind: WalletKind| {
        locked
            .iter()
            .find(|w| w.owner == owner && w.kind == kind)
            .map(|w| w.id.as_uuid())
            .ok_or(AppError::Conflict)
    };
    let mut postings = vec![
        Posting {
            wallet_id: wallet_of(Some(buyer_id), WalletKind::User)?,
            amount: -terms.price.minor(),
        },
        Posting {
            wallet_id: wallet_of(Some(listing.seller_id), WalletKind::User)?,
            amount: to_seller.minor(),
        },
    ];
    if fee.minor() > 0 {
        postings.push(Posting {
            wallet_id: wallet_of(None, WalletKind::Fees)?,
            amount: fee.minor(),
        });
    }
    let entry = JournalEntry::new(EntryKind::SecondarySale, "Secondary market sale", postings)
        .map_err(AppError::unexpected)?;
    let entry_id = match store::post(&txn, &entry, Some(buyer_id), now).await {
        Ok(id) => id,
        Err(store::PostError::Ledger(LedgerError::InsufficientFunds { .. })) => {
            return Err(on(
                "amount",
                format!(
                    "The price is {}; your wallet has less available.",
                    terms.price
                ),
            ));
        }
        Err(err) => return Err(err.into()),
    };
    let bought = if principal.minor() == stake.outstanding.minor() {
        investments::transfer(&txn, &investment, buyer_id, now).await?;
        investment.id
    } else {
        let id = InvestmentId::new();
        investments::sell_part(&txn, &investment, principal, now).await?;
        investments::insert_bought(
            &txn,
            NewCommitment {
                id,
                investor_id: buyer_id,
                loan_id: loan.id,
                amount: principal,
                source: InvestmentSource::Secondary,
                at: now,
            },
        )
        .await?;
        id
    };
    listings::sold(
        &txn,
        listing.id,
        Sale {
            buyer: buyer_id,
            buyer_investment: bought,
            price: terms.price,
            fee,
            entry: entry_id,
        },
        now,
    )
    .await?;
    let people = users::get_many(&txn, &[buyer_id, listing.seller_id]).await?;
    let person = |id: &UserId| people.get(id).ok_or(AppError::NotFound);
    let (seller, buyer) = (person(&listing.seller_id)?, person(&buyer_id)?);
    let emails = vec![
        outbox::render(
            seller.email.as_str(),
            &SecondarySaleDone {
                full_name: seller.full_name.clone(),
                url: outbox::link(base_url, paths::INVESTMENTS),
                principal,
                price: terms.price,
                seller: Some((fee, to_seller)),
            },
        )?,
        outbox::render(
            buyer.email.as_str(),
            &SecondarySaleDone {
                full_name: buyer.full_name.clone(),
                url: outbox::link(base_url, &paths::investment(bought)),
                principal,
                price: terms.price,
                seller: None,
            },
        )?,
    ];
    outbox::queue(&txn, now, emails).await?;
    db::commit(txn).await?;
    Ok(Bought {
        investment_id: bought,
        principal,
        price: terms.price,
    })
}

/// Withdraws every open listing whose loan is no longer repaying or has an
/// installment overdue; returns how many. Run after the servicing jobs.
///
/// # Errors
/// Database failures.
pub async fn withdraw_unsellable(
    db: &DatabaseConnection,
    clock: &dyn Clock,
) -> Result<u64, AppError> {
    let txn = db::begin_write(db).await?;
    let loans = listings::loans_with_open(&txn).await?;
    let mut unsellable = Vec::new();
    for loan in loans::lock_many(&txn, &loans).await? {
        let overdue = installments::of_loan(&txn, loan.id, loan.currency())
            .await?
            .iter()
            .any(|i| i.status == InstallmentStatus::Overdue);
        if overdue || loan.status != LoanStatus::Active {
            unsellable.push(loan.id);
        }
    }
    let withdrawn = listings::withdraw(
        &txn,
        Withdrawn::OfLoans(&unsellable),
        "its loan is overdue or no longer repaying",
        clock.now(),
    )
    .await?;
    db::commit(txn).await?;
    Ok(withdrawn)
}

/// A listing as buyers see it.
#[derive(Debug, Clone)]
pub struct Offered {
    pub listing: Listing,
    pub loan: Loan,
    pub price: Money,
    /// The buyer's yield a year at this price, if it can be worked out.
    pub yield_to_maturity: Option<rust_decimal::Decimal>,
    /// The principal and its accrued interest less the grade's expected loss.
    pub fair_value: Option<Money>,
}

fn offered(
    listing: Listing,
    loan: Loan,
    schedule: &[crate::domain::installment::Installment],
    today: chrono::NaiveDate,
) -> Result<Offered, AppError> {
    let price = crate::domain::secondary::price(listing.principal, listing.markup)
        .map_err(AppError::unexpected)?;
    let (flows, accrued) = buyer_view(listing.principal, schedule, today);
    let yield_to_maturity = match yield_to_maturity(price, today, &flows) {
        Xirr::Rate(rate) => Some(rate),
        _ => None,
    };
    let fair_value = loan
        .grade
        .map(|grade| fair_value(listing.principal, accrued, grade))
        .transpose()
        .map_err(AppError::unexpected)?;
    Ok(Offered {
        listing,
        loan,
        price,
        yield_to_maturity,
        fair_value,
    })
}

/// One page of the listings on sale and where the next one starts.
#[derive(Debug, Clone)]
pub struct Market {
    pub offered: Vec<Offered>,
    pub next: Option<queries::Cursor>,
}

/// One page of the listings on sale that match `filter`, oldest first,
/// after `after` (plain reads).
///
/// # Errors
/// Database failures.
pub async fn market(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    filter: &SecondaryFilter,
    after: Option<queries::Cursor>,
) -> Result<Market, AppError> {
    let found = queries::open(db, filter, after).await?;
    let loans: Vec<(LoanId, Currency)> = found
        .items
        .iter()
        .map(|(_, loan)| (loan.id, loan.currency()))
        .collect();
    let schedules = installments::of_loans(db, &loans).await?;
    let today = clock.today();
    let offered = found
        .items
        .into_iter()
        .map(|(listing, loan)| {
            let schedule = schedules.get(&loan.id).map_or(&[][..], Vec::as_slice);
            offered(listing, loan, schedule, today)
        })
        .collect::<Result<_, _>>()?;
    Ok(Market {
        offered,
        next: found.next,
    })
}

/// One listing still on sale, as buyers see it.
///
/// # Errors
/// `NotFound` for an unknown listing; `Domain` for one no longer on sale.
pub async fn on_sale(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    listing_id: ListingId,
) -> Result<Offered, AppError> {
    let listing = listings::find(db, listing_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if listing.status != ListingStatus::Open {
        return Err(DomainError::ListingClosed.into());
    }
    let loan = loans::get(db, listing.loan_id).await?;
    let schedule = installments::of_loan(db, loan.id, loan.currency()).await?;
    offered(listing, loan, &schedule, clock.today())
}

/// What the sell form shows: the stake, the band, the fee, and its open
/// listing with its place in the queue.
#[derive(Debug, Clone)]
pub struct SellPreview {
    pub investment: Investment,
    pub loan: Loan,
    pub stake: Stake,
    pub band: MarkupBand,
    pub fee: Rate,
    pub min_ticket: Money,
    /// Its open listing and place (1 = next) among the loan's listings at
    /// the same markup.
    pub open: Option<(Listing, usize)>,
}

/// `seller_id`'s stake as the sell form shows it (plain reads).
///
/// # Errors
/// `NotFound` for someone else's investment.
pub async fn sell_preview(
    db: &DatabaseConnection,
    seller_id: UserId,
    investment_id: InvestmentId,
) -> Result<SellPreview, AppError> {
    let settings = settings::load(db).await?;
    let (investment, loan) = investments::owned_by(db, seller_id, investment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let stake = stake_of(db, &investment, &loan).await?;
    let listed = listings::open_of_loan(db, loan.id).await?;
    let queue: Vec<_> = listed.iter().map(Listing::queued).collect();
    let open = listed
        .iter()
        .find(|l| l.investment_id == investment.id)
        .and_then(|l| place_in_queue(&queue, l.id).map(|place| (l.clone(), place)));
    Ok(SellPreview {
        investment,
        loan,
        stake,
        band: settings.secondary_band,
        fee: settings.secondary_fee,
        min_ticket: settings.min_investment,
        open,
    })
}
