//! Auto-invest (DESIGN.md section 8): investors' standing rules, created
//! off and switched on by their owner after a preview; and the allocation
//! that shares a listed loan among the rules that look for it, in one
//! transaction per loan, every piece an ordinary commitment with source
//! `auto`.
//!
//! An allocation takes the platform's locks in its one order: the wallets
//! of every investor whose rules look for the loan (by id), then the loan.
//! Everything it decides on is read under those locks (cash, what each rule
//! has placed, which rules are in the loan already, this year's
//! commitments), so two allocations at once (two instances, the job and a
//! listing) wait for each other and never over-invest; the reservation and
//! the loan's funded amount are still conditional updates, and
//! `UNIQUE(rule_id, loan_id)` still refuses a rule investing twice.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use url::Url;

use crate::{
    clock::Clock,
    db::{
        self,
        queries::{auto_invest as queries, investments as investment_queries},
        repo::{
            auto_invest as rules,
            investments::{self, NewCommitment},
            loans, users, wallets,
        },
    },
    domain::{
        auto_invest::{
            Allocation, Candidate, Criteria, Listed, Purse, Rule, Simulation, Skip, Standing,
            allocate, check_rule, matches, simulate,
        },
        ids::{InvestmentId, LoanId, RuleId, UserId},
        investing::YearlyLimit,
        investment::InvestmentSource,
        loan::{Loan, funded_percent},
        money::{Currency, Money},
        settings::Settings,
    },
    error::{AppError, FieldErrors},
    ledger::store,
    mail::messages::InvestmentConfirmed,
    paths,
    services::{
        funding,
        investing::{calendar_year, fully_subscribed, may_invest},
        outbox, receipts, settings,
    },
};

/// The currency rules invest in (the platform's, until multi-currency
/// loans arrive).
pub const CURRENCY: Currency = Currency::Rub;

/// How far back a preview replays the listings.
pub const PREVIEW_DAYS: i64 = 90;

/// A rule as the investor set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub criteria: Criteria,
    pub reinvest: bool,
    /// Switched on at once (the form's box, unticked unless the investor
    /// ticks it after the preview).
    pub active: bool,
}

/// Stores a new rule for `investor_id`.
///
/// # Errors
/// `Validation` for a rule the platform refuses (each field with its
/// message); database failures.
pub async fn create(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    investor_id: UserId,
    draft: &Draft,
) -> Result<RuleId, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let settings = settings::load(&txn).await?;
    refuse_problems(&draft.criteria, draft.reinvest, &settings)?;
    let rule = Rule {
        id: RuleId::new(),
        investor_id,
        active: draft.active,
        criteria: draft.criteria.clone(),
        reinvest: draft.reinvest,
        placed_total: Money::zero(CURRENCY),
        last_served: None,
        created_at: now,
    };
    rules::insert(&txn, &rule).await?;
    db::commit(txn).await?;
    Ok(rule.id)
}

fn refuse_problems(
    criteria: &Criteria,
    reinvest: bool,
    settings: &Settings,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    for problem in check_rule(criteria, reinvest, settings.min_investment) {
        errors.add(problem.field, problem.message);
    }
    errors.into_result()
}

/// Checks a rule as the investor set it, before the preview.
///
/// # Errors
/// `Validation` as [`create`]; database failures.
pub async fn check(
    db: &DatabaseConnection,
    criteria: &Criteria,
    reinvest: bool,
) -> Result<(), AppError> {
    refuse_problems(criteria, reinvest, &settings::load(db).await?)
}

/// Switches `investor_id`'s rule `rule_id` on or off.
///
/// # Errors
/// `NotFound` for someone else's rule; database failures.
pub async fn switch(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    investor_id: UserId,
    rule_id: RuleId,
    on: bool,
) -> Result<(), AppError> {
    let txn = db::begin_write(db).await?;
    rules::switch(&txn, investor_id, rule_id, on, clock.now()).await?;
    db::commit(txn).await?;
    Ok(())
}

/// What a rule would do, as the preview page shows it.
#[derive(Debug, Clone)]
pub struct Preview {
    /// With the cash the investor has now.
    pub available: Money,
    /// Against the loans open for investment now (as much as each still
    /// needs).
    pub now: Simulation,
    /// Against every loan listed in the last [`PREVIEW_DAYS`] days, each
    /// as it was listed (whole).
    pub past: Simulation,
}

/// Runs `criteria` for `investor_id` over the loans open now and those
/// listed in the last [`PREVIEW_DAYS`] days, with the investor's cash and
/// yearly room as they are now (plain reads; nothing is invested).
///
/// # Errors
/// `NotFound` without an investor wallet; database failures.
pub async fn preview(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    investor_id: UserId,
    criteria: &Criteria,
) -> Result<Preview, AppError> {
    let now = clock.now();
    let settings = settings::load(db).await?;
    let investor = users::investor(db, investor_id).await?;
    let wallet = wallets::of_user(db, investor_id, CURRENCY)
        .await?
        .ok_or(AppError::NotFound)?;
    let yearly = if investor.qualified {
        None
    } else {
        let (from, to) = calendar_year(now);
        let used = investment_queries::committed_between(db, investor_id, from, to).await?;
        Some(YearlyLimit {
            limit: settings.unqualified_annual_limit,
            used: Money::from_minor(used, CURRENCY).map_err(AppError::unexpected)?,
        })
    };
    let purse = Purse {
        available: wallet.available(),
        yearly,
    };
    let open: Vec<Listed> = queries::funding(db, CURRENCY)
        .await?
        .iter()
        .filter(|loan| loan.open_for_investment(now).is_ok())
        .map(|loan| listed(loan, loan.remaining()))
        .collect();
    let past: Vec<Listed> =
        queries::listed_since(db, CURRENCY, now - TimeDelta::days(PREVIEW_DAYS))
            .await?
            .iter()
            .map(|loan| listed(loan, loan.amount))
            .collect();
    let nothing = Money::zero(CURRENCY);
    let min_ticket = settings.min_investment;
    Ok(Preview {
        available: purse.available,
        now: simulate(criteria, nothing, purse, &open, min_ticket),
        past: simulate(criteria, nothing, purse, &past, min_ticket),
    })
}

fn listed(loan: &Loan, remaining: Money) -> Listed {
    Listed {
        amount: loan.amount,
        remaining,
        grade: loan.grade,
        rate: loan.rate,
        term_months: loan.term_months,
        purpose: loan.purpose,
    }
}

/// A rule with what it has outstanding, for the investor's pages.
#[derive(Debug, Clone)]
pub struct RuleView {
    pub rule: Rule,
    /// What its investments still have outstanding.
    pub outstanding: Money,
}

/// `investor_id`'s rules, oldest first, each with what it has outstanding.
///
/// # Errors
/// Database failures.
pub async fn rules_of(
    db: &DatabaseConnection,
    investor_id: UserId,
) -> Result<Vec<RuleView>, AppError> {
    let found = rules::of_investor(db, investor_id).await?;
    let ids: Vec<RuleId> = found.iter().map(|r| r.id).collect();
    let outstanding = outstanding(db, &ids).await?;
    Ok(found
        .into_iter()
        .map(|rule| RuleView {
            outstanding: money(outstanding.get(&rule.id).copied().unwrap_or(0)),
            rule,
        })
        .collect())
}

/// One rule's page: the rule, what it invested in, what it passed over.
#[derive(Debug, Clone)]
pub struct RulePage {
    pub view: RuleView,
    pub invested: Vec<queries::Invested>,
    pub passed: Vec<queries::Passed>,
}

/// `investor_id`'s rule `rule_id` with its latest decisions.
///
/// # Errors
/// `NotFound` for someone else's rule; database failures.
pub async fn rule_page(
    db: &DatabaseConnection,
    investor_id: UserId,
    rule_id: RuleId,
) -> Result<RulePage, AppError> {
    let rule = rules::owned_by(db, investor_id, rule_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let outstanding = outstanding(db, &[rule.id]).await?;
    Ok(RulePage {
        view: RuleView {
            outstanding: money(outstanding.get(&rule.id).copied().unwrap_or(0)),
            rule,
        },
        invested: queries::invested(db, rule_id).await?,
        passed: queries::passed(db, rule_id).await?,
    })
}

fn money(minor: i64) -> Money {
    Money::from_minor(minor, CURRENCY).unwrap_or(Money::zero(CURRENCY))
}

/// What each of `rules` has outstanding: its investments awaiting payout,
/// and the principal of paid-out ones not yet returned.
async fn outstanding(
    conn: &impl ConnectionTrait,
    ids: &[RuleId],
) -> Result<BTreeMap<RuleId, i64>, AppError> {
    let stakes = rules::stakes(conn, ids).await?;
    let loans: Vec<LoanId> = stakes
        .iter()
        .map(|s| s.loan)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut returned = BTreeMap::new();
    for chunk in loans.chunks(db::ROWS_PER_INSERT) {
        returned.extend(receipts::returned_principal(conn, chunk).await?);
    }
    let mut out: BTreeMap<RuleId, i64> = BTreeMap::new();
    for stake in stakes {
        let back = returned.get(&stake.investment).copied().unwrap_or(0);
        *out.entry(stake.rule).or_default() += stake.amount - back;
    }
    Ok(out)
}

/// How a loan is offered to the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Whatever the rules take; the loan stays listed for the rest.
    Share,
    /// All of it or nothing (instant allocation at listing).
    Whole,
}

/// What an allocation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allocated {
    /// Investments made.
    pub investments: usize,
    pub amount: i64,
    /// Whether they filled the loan (it is `funded` now).
    pub filled: bool,
}

/// Offers `loan_id` to the rules that look for it, in one transaction.
/// The caller pays a filled loan out (`funding::pay_out_if_automatic`).
///
/// # Errors
/// `Conflict` when something it wrote moved meanwhile (try again);
/// database failures.
pub async fn allocate_loan(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    loan_id: LoanId,
    mode: Mode,
    base_url: &Url,
) -> Result<Allocated, AppError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let settings = settings::load(&txn).await?;
    let loan = loans::get(&txn, loan_id).await?;
    if loan.open_for_investment(now).is_err() {
        return Ok(Allocated::default());
    }
    let looking: Vec<Rule> = rules::active_in(&txn, loan.currency())
        .await?
        .into_iter()
        .filter(|rule| matches(&rule.criteria, &listed(&loan, loan.remaining())).is_ok())
        .collect();
    if looking.is_empty() {
        return Ok(Allocated::default());
    }
    let investors: Vec<UserId> = looking
        .iter()
        .map(|r| r.investor_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let locked = wallets::lock(&txn, &investors, &[], loan.currency()).await?;
    let loan = loans::lock(&txn, loan_id).await?;
    if loan.open_for_investment(now).is_err() {
        return Ok(Allocated::default());
    }
    let (allocation, holders) = share(&txn, &settings, &loan, looking, &locked, now).await?;
    let total: i64 = allocation.placed.iter().map(|(_, m)| m.minor()).sum();
    if mode == Mode::Whole && total < loan.remaining().minor() {
        return Ok(Allocated::default());
    }
    let done = write(
        &txn,
        &loan,
        &allocation,
        &holders,
        settings.disbursement_automatic,
        base_url,
        now,
    )
    .await?;
    db::commit(txn).await?;
    Ok(done)
}

/// A rule's candidate investor and wallet, as the allocation is written.
struct Holder {
    investor: UserId,
    wallet: uuid::Uuid,
}

/// Shares `loan` among `looking` (rules whose criteria it meets), with
/// everything read under the locks the caller holds. Returns the
/// allocation, and who holds each rule and with which wallet.
async fn share(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    loan: &Loan,
    looking: Vec<Rule>,
    locked: &[crate::domain::wallet::Wallet],
    now: DateTime<Utc>,
) -> Result<(Allocation<RuleId>, BTreeMap<RuleId, Holder>), AppError> {
    let investor_ids: Vec<UserId> = locked.iter().filter_map(|w| w.owner).collect();
    let standings = users::investors(txn, &investor_ids).await?;
    let unqualified: Vec<UserId> = standings
        .values()
        .filter(|s| !s.qualified)
        .map(|s| s.user.id)
        .collect();
    let (from, to) = calendar_year(now);
    let used = investment_queries::committed_between_by(txn, &unqualified, from, to).await?;
    let mut purses = BTreeMap::new();
    let mut wallet_of = BTreeMap::new();
    for wallet in locked {
        let Some(owner) = wallet.owner else { continue };
        let Some(standing) = standings.get(&owner) else {
            continue;
        };
        if may_invest(standing, settings.kyc_required).is_err() {
            continue;
        }
        let yearly = (!standing.qualified)
            .then(|| {
                Money::from_minor(used.get(&owner).copied().unwrap_or(0), loan.currency()).map(
                    |used| YearlyLimit {
                        limit: settings.unqualified_annual_limit,
                        used,
                    },
                )
            })
            .transpose()
            .map_err(AppError::unexpected)?;
        purses.insert(
            owner,
            Purse {
                available: wallet.available(),
                yearly,
            },
        );
        wallet_of.insert(owner, wallet.id.as_uuid());
    }
    let ids: Vec<RuleId> = looking.iter().map(|r| r.id).collect();
    let outstanding = outstanding(txn, &ids).await?;
    let in_loan = rules::invested_in(txn, &[loan.id]).await?;
    let mut blocked = Vec::new();
    let mut holders = BTreeMap::new();
    let mut candidates = Vec::with_capacity(looking.len());
    for rule in looking {
        let Some(wallet) = wallet_of.get(&rule.investor_id) else {
            blocked.push((rule.id, Skip::InvestorBlocked));
            continue;
        };
        holders.insert(
            rule.id,
            Holder {
                investor: rule.investor_id,
                wallet: *wallet,
            },
        );
        let exposure = rule.exposure(money(outstanding.get(&rule.id).copied().unwrap_or(0)));
        candidates.push(Candidate {
            rule: rule.id,
            investor: rule.investor_id,
            active: rule.active,
            standing: Standing {
                placed: exposure,
                in_loan: in_loan.contains(&(rule.id, loan.id)),
            },
            placed_ever: rule.placed_total,
            last_served: rule.last_served,
            criteria: rule.criteria,
        });
    }
    let mut allocation = allocate(
        &listed(loan, loan.remaining()),
        candidates,
        &mut purses,
        settings.min_investment,
    );
    allocation.skipped.extend(blocked);
    Ok((allocation, holders))
}

/// Writes an allocation: the reservations, the investments and the loan's
/// funded amount, what each rule did, and the emails; a filled loan becomes
/// `funded`.
async fn write(
    txn: &impl ConnectionTrait,
    loan: &Loan,
    allocation: &Allocation<RuleId>,
    holders: &BTreeMap<RuleId, Holder>,
    automatic_payout: bool,
    base_url: &Url,
    now: DateTime<Utc>,
) -> Result<Allocated, AppError> {
    let worth_keeping: Vec<(RuleId, Skip)> = allocation
        .skipped
        .iter()
        .copied()
        .filter(|(_, skip)| !skip.is_criterion() && *skip != Skip::NothingLeft)
        .collect();
    let mut reservations: BTreeMap<uuid::Uuid, i64> = BTreeMap::new();
    let mut commitments = Vec::with_capacity(allocation.placed.len());
    let mut placed = Vec::with_capacity(allocation.placed.len());
    for (rule, amount) in &allocation.placed {
        let holder = holders
            .get(rule)
            .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("rule {rule} has no holder")))?;
        *reservations.entry(holder.wallet).or_default() += amount.minor();
        let id = InvestmentId::new();
        commitments.push(NewCommitment {
            id,
            investor_id: holder.investor,
            loan_id: loan.id,
            amount: *amount,
            source: InvestmentSource::Auto,
            at: now,
        });
        placed.push((*rule, id));
    }
    let total: i64 = reservations.values().sum();
    if total > 0 {
        let reservations: Vec<(uuid::Uuid, i64)> = reservations.into_iter().collect();
        store::reserve_all(txn, &reservations).await?;
        loans::add_funded(txn, loan.id, total, now).await?;
        investments::insert_all(txn, &commitments).await?;
        let first_seq = rules::next_seq(txn).await?;
        rules::served(txn, &allocation.placed, first_seq, now).await?;
    }
    rules::record(txn, loan.id, &placed, &worth_keeping, now).await?;
    let funded = Money::from_minor(loan.funded.minor() + total, loan.currency())
        .map_err(AppError::unexpected)?;
    let filled = total > 0 && funded == loan.amount;
    if filled {
        let raised = Loan {
            funded,
            ..loan.clone()
        };
        fully_subscribed(
            txn,
            &raised,
            Default::default(),
            automatic_payout,
            base_url,
            now,
        )
        .await?;
    } else if total > 0 {
        tell_invested(txn, loan, funded, (&commitments, &placed), base_url, now).await?;
    }
    Ok(Allocated {
        investments: commitments.len(),
        amount: total,
        filled,
    })
}

/// Tells each investor whose rule invested what it did (a loan that filled
/// tells them it is funded instead).
async fn tell_invested(
    conn: &impl ConnectionTrait,
    loan: &Loan,
    funded: Money,
    (commitments, placed): (&[NewCommitment], &[(RuleId, InvestmentId)]),
    base_url: &Url,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let ids: Vec<UserId> = commitments.iter().map(|c| c.investor_id).collect();
    let people = users::get_many(conn, &ids).await?;
    let rate = loan.rate.ok_or_else(|| {
        AppError::unexpected(anyhow::anyhow!("loan {} is listed without a rate", loan.id))
    })?;
    let mut emails = Vec::with_capacity(commitments.len());
    for (commitment, (rule, _)) in commitments.iter().zip(placed) {
        let investor = people
            .get(&commitment.investor_id)
            .ok_or(AppError::NotFound)?;
        emails.push(outbox::render(
            investor.email.as_str(),
            &InvestmentConfirmed {
                full_name: investor.full_name.clone(),
                investment_url: outbox::link(base_url, &paths::investment(commitment.id)),
                amount: commitment.amount,
                loan_amount: loan.amount,
                rate,
                term_months: i32::try_from(loan.term_months).unwrap_or(i32::MAX),
                grade: loan
                    .grade
                    .map(|g| g.as_str().to_owned())
                    .unwrap_or_default(),
                funded_percent: funded_percent(funded, loan.amount),
                funding_deadline: loan.funding_deadline,
                rule_url: Some(outbox::link(base_url, &paths::auto_invest_rule(*rule))),
            },
        )?);
    }
    outbox::queue(conn, now, emails).await
}

/// Offers a loan just listed to the rules: whole when instant allocation
/// is on (funded at once, or left as listed), otherwise as much as they
/// take; a loan they fill is paid out when payout is automatic. Never
/// fails the listing: a failure is logged and the `auto-invest` job offers
/// the loan again.
pub async fn offer_listed(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    loan_id: LoanId,
    base_url: &Url,
) -> Allocated {
    let mode = match settings::load(db).await {
        Ok(settings) if settings.auto_invest_instant => Mode::Whole,
        Ok(_) => Mode::Share,
        Err(err) => {
            tracing::warn!(%loan_id, error = %err, "cannot read the settings to offer a loan to auto-invest");
            return Allocated::default();
        }
    };
    match allocate_loan(db, clock, loan_id, mode, base_url).await {
        Ok(done) => {
            if done.filled {
                funding::pay_out_if_automatic(db, clock, loan_id, base_url).await;
            }
            done
        }
        Err(err) => {
            tracing::warn!(%loan_id, error = ?err, "auto-invest at listing failed; the job tries again");
            Allocated::default()
        }
    }
}

/// What one pass of the `auto-invest` job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Loans open for investment that some rule could invest in.
    pub loans: u32,
    pub investments: usize,
    pub amount: i64,
    pub filled: u32,
}

/// The `auto-invest` job: offers every loan open for investment, earliest
/// listed first, to the rules, one transaction per loan; a filled loan is
/// paid out when payout is automatic. A loan whose allocation fails is
/// logged and offered again on the next pass.
///
/// # Errors
/// When the loans open for investment cannot be read.
pub async fn run(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    base_url: &Url,
) -> Result<Report, AppError> {
    let mut report = Report::default();
    let active = rules::active_in(db, CURRENCY).await?;
    if active.is_empty() {
        return Ok(report);
    }
    let now = clock.now();
    let min_ticket = settings::load(db).await?.min_investment;
    let open: Vec<Loan> = queries::funding(db, CURRENCY)
        .await?
        .into_iter()
        .filter(|loan| loan.open_for_investment(now).is_ok())
        .collect();
    let loan_ids: Vec<LoanId> = open.iter().map(|l| l.id).collect();
    let in_loans = rules::invested_in(db, &loan_ids).await?;
    let investors: Vec<UserId> = active.iter().map(|r| r.investor_id).collect();
    let available: BTreeMap<UserId, i64> = wallets::of_users(db, &investors, CURRENCY)
        .await?
        .into_iter()
        .filter_map(|w| Some((w.owner?, w.available().minor())))
        .collect();
    // A plain look first: only a loan some rule could put a ticket into
    // now is offered (and locked for it).
    let could_take = |rule: &Rule, loan: &Loan| {
        let free = available.get(&rule.investor_id).copied().unwrap_or(0)
            - rule.criteria.cash_reserve.minor();
        free >= min_ticket.minor().min(loan.remaining().minor())
            && !in_loans.contains(&(rule.id, loan.id))
            && matches(&rule.criteria, &listed(loan, loan.remaining())).is_ok()
    };
    for loan in open {
        if !active.iter().any(|rule| could_take(rule, &loan)) {
            continue;
        }
        report.loans += 1;
        match allocate_loan(db, clock, loan.id, Mode::Share, base_url).await {
            Ok(done) => {
                report.investments += done.investments;
                report.amount += done.amount;
                if done.filled {
                    report.filled += 1;
                    funding::pay_out_if_automatic(db, clock, loan.id, base_url).await;
                }
            }
            Err(err) => {
                tracing::warn!(loan_id = %loan.id, error = ?err, "auto-invest could not offer the loan");
            }
        }
    }
    Ok(report)
}
