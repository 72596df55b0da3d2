//! Demo data for `serve --demo` and `demo`: a fresh database gets one account
//! per role, the investors a bank account and 500 000 ₽ in their wallets, and
//! the borrowers profiles and applications: one waiting for review, one
//! approved and open for investment (part-funded by both investors), one
//! declined by the scorecard's rules, and two funded and paid out, with
//! their schedules and agreements. Of those two, Maxim keeps 40 000 ₽ in his
//! wallet besides the payout and repays on time; Elena's payout does not
//! cover every installment, so run forward in time (`jobs run all --from
//! … --to …`) her loan falls behind, is charged penalties, and defaults,
//! and the reserve fund covers the investors in part.
//! Never runs against a database that already has accounts.

use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr,
};
use url::Url;

use crate::{
    clock::Clock,
    db::{self, entities::users, repo::loans},
    domain::{
        application::{
            Asset, AssetKind, Education, Liability, LiabilityKind, ListingMode, LoanRequest,
            Profile, Purpose,
        },
        auto_invest::Criteria,
        ids::{LoanId, UserId},
        investor::{InvestorProfile, TaxId},
        money::{Currency, Money, TypedAmount},
        scoring::{Employment, Grade},
        user::{Email, KycStatus, NewPassword, PersonName, Role},
    },
    error::AppError,
    services::{
        RequestMeta, applications,
        auth::{self, NewAccount},
        auto_invest::{self, Draft},
        funding,
        idempotency::IdempotencyKey,
        investing::{self, Commitment},
        investor,
        offers::{self, OfferRequest},
        review::{self, ApprovedTerms, Decision, Review},
        settings,
        wallet::{self, BankTransferRequest, Direction, NewBankAccount},
    },
};

/// The demo investors' taxpayer number (a valid personal INN).
const DEMO_TAX_ID: &str = "500100732259";

/// What each demo investor starts with: 500 000 ₽.
const DEMO_DEPOSIT_MINOR: i64 = 50_000_000;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "demo-password";

/// The accounts `demo` creates: (email, name, role).
pub const DEMO_ACCOUNTS: &[(&str, &str, Role)] = &[
    ("admin@demo.local", "Alexandra Admin", Role::Admin),
    ("staff@demo.local", "Sergei Analyst", Role::Staff),
    ("borrower@demo.local", "Boris Borrower", Role::Borrower),
    ("borrower2@demo.local", "Daria Kuznetsova", Role::Borrower),
    ("borrower3@demo.local", "Pavel Smirnov", Role::Borrower),
    ("borrower4@demo.local", "Elena Volkova", Role::Borrower),
    ("borrower5@demo.local", "Maxim Orlov", Role::Borrower),
    ("borrower6@demo.local", "Olga Sokolova", Role::Borrower),
    ("investor@demo.local", "Irina Investor", Role::Investor),
    ("investor2@demo.local", "Ivan Petrov", Role::Investor),
];

/// Fills an empty database; returns `false` (and changes nothing) when there
/// are accounts already.
///
/// # Errors
/// On storage failures.
pub async fn seed(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    base_url: &Url,
) -> Result<bool, AppError> {
    if users::Entity::find().count(db).await? > 0 {
        return Ok(false);
    }
    let meta = RequestMeta::default();
    let mut ids = Vec::with_capacity(DEMO_ACCOUNTS.len());
    for (address, name, role) in DEMO_ACCOUNTS {
        let email = Email::parse(address).map_err(|e| anyhow::anyhow!("demo email: {e}"))?;
        let account = NewAccount {
            password: NewPassword::parse(DEMO_PASSWORD, Some(&email))
                .map_err(|e| anyhow::anyhow!("demo password: {e}"))?,
            email,
            full_name: PersonName::parse(name).map_err(|e| anyhow::anyhow!("demo name: {e}"))?,
            role: *role,
        };
        let user_id = auth::create_account(db, clock, None, account, &meta).await?;
        match *address {
            _ if *role == Role::Investor => {
                fund_wallet(db, clock, user_id, name, DEMO_DEPOSIT_MINOR, &meta).await?;
            }
            "borrower5@demo.local" => {
                fund_wallet(db, clock, user_id, name, 4_000_000, &meta).await?;
            }
            _ => {}
        }
        ids.push(user_id);
    }
    // Demo people have passed the identity check, so every feature is open to them.
    let txn = db::begin_write(db).await?;
    users::Entity::update_many()
        .col_expr(
            users::Column::KycStatus,
            Expr::value(KycStatus::Verified.as_str()),
        )
        .filter(users::Column::Role.is_in([Role::Borrower.as_str(), Role::Investor.as_str()]))
        .exec(&txn)
        .await?;
    db::commit(txn).await?;
    seed_applications(db, clock, &ids, base_url, &meta).await?;
    Ok(true)
}

fn rub(roubles: i64) -> Result<Money, AppError> {
    Money::from_minor(roubles * 100, Currency::Rub)
        .map_err(|e| anyhow::anyhow!("demo amount: {e}").into())
}

fn date(y: i32, m: u32, d: u32) -> Result<NaiveDate, AppError> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| anyhow::anyhow!("demo date").into())
}

/// A salaried engineer with a car loan and half a flat.
fn steady_profile(income: i64, defaults_12m: u32) -> Result<Profile, AppError> {
    Ok(Profile {
        birth_date: date(1988, 4, 12)?,
        employment: Employment::Employed,
        employer: Some("Северсталь".to_owned()),
        position: Some("Process engineer".to_owned()),
        employed_since: Some(date(2019, 2, 1)?),
        monthly_income: rub(income)?,
        monthly_expenses: rub(income * 2 / 5)?,
        education: Education::Master,
        university: Some("СПбГУ".to_owned()),
        graduation_year: Some(2010),
        credit_score: if defaults_12m > 0 { 430 } else { 760 },
        avg_bank_balance: rub(income / 2)?,
        defaults_12m,
        inquiries_12m: 1,
        liabilities: vec![Liability {
            kind: LiabilityKind::CarLoan,
            outstanding: rub(280_000)?,
            monthly_payment: rub(11_500)?,
            start_date: date(2024, 1, 10)?,
            end_date: Some(date(2027, 1, 10)?),
        }],
        assets: vec![Asset {
            kind: AssetKind::RealEstate,
            value: rub(5_200_000)?,
            ownership_pct: 50,
            held_since: Some(date(2015, 6, 1)?),
        }],
    })
}

/// Profiles and applications for the demo borrowers, and the demo investors'
/// profiles and commitments, through the same use cases people use: Boris's
/// application waits for review, Daria's was approved by the demo analyst and
/// is open for investment, Pavel's was declined at once, Elena's and
/// Maxim's were funded by both investors and paid out, Olga's is priced by
/// lenders' offers and has Ivan's; Irina has an auto-invest rule, off.
async fn seed_applications(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    ids: &[UserId],
    base_url: &Url,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let id_of = |email: &str| {
        DEMO_ACCOUNTS
            .iter()
            .position(|(e, _, _)| *e == email)
            .and_then(|i| ids.get(i).copied())
            .ok_or_else(|| AppError::from(anyhow::anyhow!("demo account {email} missing")))
    };
    let request = |amount: i64, term: u32, purpose: Purpose, description: &str| {
        Ok::<_, AppError>(LoanRequest {
            amount: rub(amount)?,
            term_months: term,
            purpose,
            description: description.to_owned(),
            listing_mode: ListingMode::Fixed,
        })
    };
    let boris = id_of("borrower@demo.local")?;
    applications::save_profile(db, clock, boris, &steady_profile(140_000, 0)?, meta).await?;
    applications::submit(
        db,
        clock,
        boris,
        &request(
            350_000,
            24,
            Purpose::HomeImprovement,
            "New windows and insulation for the flat before winter; repaid from my salary.",
        )?,
        base_url,
        meta,
    )
    .await?;

    let daria = id_of("borrower2@demo.local")?;
    applications::save_profile(db, clock, daria, &steady_profile(190_000, 0)?, meta).await?;
    let listed = applications::submit(
        db,
        clock,
        daria,
        &request(
            600_000,
            36,
            Purpose::Business,
            "Second coffee machine and a kiosk fit-out for my café near the station.",
        )?,
        base_url,
        meta,
    )
    .await?;
    let analyst = id_of("staff@demo.local")?;
    approve_as_scored(
        db,
        clock,
        (analyst, listed.loan_id),
        (500_000, 36),
        "Café has two years of accounts; approved for less than asked to keep payments under a third of income.",
        (base_url, meta),
    )
    .await?;

    let pavel = id_of("borrower3@demo.local")?;
    applications::save_profile(db, clock, pavel, &steady_profile(70_000, 3)?, meta).await?;
    applications::submit(
        db,
        clock,
        pavel,
        &request(
            200_000,
            12,
            Purpose::DebtConsolidation,
            "Paying off two credit cards at a lower rate in one loan.",
        )?,
        base_url,
        meta,
    )
    .await?;

    // Elena's loan is approved, funded by both demo investors and paid out.
    let elena = id_of("borrower4@demo.local")?;
    applications::save_profile(db, clock, elena, &steady_profile(160_000, 0)?, meta).await?;
    let repaying = applications::submit(
        db,
        clock,
        elena,
        &request(
            120_000,
            12,
            Purpose::Car,
            "A reliable used car for commuting to the hospital where I work night shifts.",
        )?,
        base_url,
        meta,
    )
    .await?;
    approve_as_scored(
        db,
        clock,
        (analyst, repaying.loan_id),
        (120_000, 12),
        "Stable employment and low debts; approved as asked.",
        (base_url, meta),
    )
    .await?;

    let maxim = id_of("borrower5@demo.local")?;
    applications::save_profile(db, clock, maxim, &steady_profile(150_000, 0)?, meta).await?;
    let on_time = applications::submit(
        db,
        clock,
        maxim,
        &request(
            60_000,
            6,
            Purpose::Education,
            "An evening course in data analysis; repaid from my salary over half a year.",
        )?,
        base_url,
        meta,
    )
    .await?;
    approve_as_scored(
        db,
        clock,
        (analyst, on_time.loan_id),
        (60_000, 6),
        "Long employment, no debts; approved as asked.",
        (base_url, meta),
    )
    .await?;

    // Olga's loan is priced by lenders' offers; Ivan has made one.
    let olga = id_of("borrower6@demo.local")?;
    applications::save_profile(db, clock, olga, &steady_profile(170_000, 0)?, meta).await?;
    let by_offers = applications::submit(
        db,
        clock,
        olga,
        &LoanRequest {
            listing_mode: ListingMode::Offers,
            ..request(
                150_000,
                12,
                Purpose::HomeImprovement,
                "A new kitchen for the flat I own; I would like lenders to offer their rates.",
            )?
        },
        base_url,
        meta,
    )
    .await?;
    approve_as_scored(
        db,
        clock,
        (analyst, by_offers.loan_id),
        (150_000, 12),
        "Steady salary and no debts; listed for lenders' offers as the borrower asked.",
        (base_url, meta),
    )
    .await?;

    let irina = id_of("investor@demo.local")?;
    let ivan = id_of("investor2@demo.local")?;
    for (investor, qualified) in [(irina, false), (ivan, true)] {
        let profile = InvestorProfile {
            tax_id: TaxId::parse(DEMO_TAX_ID).map_err(|e| anyhow::anyhow!("demo tax id: {e}"))?,
            qualified,
            nominees: Vec::new(),
        };
        investor::save_profile(db, clock, investor, &profile, true, meta).await?;
    }
    // Daria's loan is part-funded; Elena's and Maxim's are filled, which
    // pays them out.
    for (investor, loan_id, roubles) in [
        (irina, listed.loan_id, 50_000),
        (ivan, listed.loan_id, 120_000),
        (irina, repaying.loan_id, 40_000),
        (ivan, repaying.loan_id, 80_000),
        (irina, on_time.loan_id, 25_000),
        (ivan, on_time.loan_id, 35_000),
    ] {
        let commitment = Commitment {
            loan_id,
            amount: TypedAmount::parse(&roubles.to_string())
                .map_err(|e| anyhow::anyhow!("demo amount: {e}"))?,
            key: IdempotencyKey::parse(&IdempotencyKey::generate())?,
        };
        let invested = investing::invest(db, clock, investor, &commitment, base_url).await?;
        if invested.filled {
            funding::pay_out_if_automatic(db, clock, loan_id, base_url).await;
        }
    }
    // Ivan offers the guide rate for Olga's loan; Irina has an auto-invest
    // rule set up but off, to preview and switch on.
    let guide = loans::get(db, by_offers.loan_id)
        .await?
        .rate
        .ok_or_else(|| anyhow::anyhow!("demo: the offers loan has no rate"))?;
    offers::make(
        db,
        clock,
        ivan,
        &OfferRequest {
            loan_id: by_offers.loan_id,
            rate: guide,
            key: IdempotencyKey::parse(&IdempotencyKey::generate())?,
        },
        base_url,
    )
    .await?;
    auto_invest::create(
        db,
        clock,
        irina,
        &Draft {
            criteria: Criteria {
                max_per_loan: rub(5_000)?,
                min_loan_amount: None,
                max_loan_amount: None,
                grades: vec![Grade::A, Grade::B],
                min_rate: None,
                max_term_months: Some(36),
                purposes: Vec::new(),
                exposure_cap: Some(rub(100_000)?),
                cash_reserve: rub(20_000)?,
            },
            reinvest: true,
            active: false,
        },
    )
    .await?;
    Ok(())
}

/// Staff approve a scored application with the grade and rate the
/// scorecard gave, for at most `max` (roubles, months) within the grade's band.
async fn approve_as_scored(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    (analyst, loan_id): (UserId, LoanId),
    (max_amount, max_term): (i64, u32),
    comment: &str,
    (base_url, meta): (&Url, &RequestMeta),
) -> Result<(), AppError> {
    let loan = loans::get(db, loan_id).await?;
    let platform = settings::load(db).await?;
    let (Some(grade), Some(rate)) = (loan.grade, loan.rate) else {
        return Ok(());
    };
    let Some(band) = platform.band(grade) else {
        return Ok(());
    };
    let amount = rub(max_amount)?;
    let amount = if amount.minor() > band.max_amount.minor() {
        band.max_amount
    } else {
        amount
    };
    let term_months = platform
        .loan_terms
        .iter()
        .copied()
        .filter(|t| *t <= band.max_term_months.min(max_term))
        .max()
        .unwrap_or(12);
    review::decide(
        db,
        clock,
        analyst,
        loan_id,
        &Review {
            decision: Decision::Approve(ApprovedTerms {
                grade,
                amount,
                term_months,
                rate,
            }),
            comment: comment.to_owned(),
        },
        base_url,
        meta,
    )
    .await?;
    Ok(())
}

/// Gives a demo account a bank account and `minor` kopecks in the wallet,
/// through the same use cases a person would go through.
async fn fund_wallet(
    db: &DatabaseConnection,
    clock: &dyn Clock,
    user_id: UserId,
    name: &str,
    minor: i64,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let account = NewBankAccount::parse(name, "Demo Bank", "40817810000000000001")
        .map_err(|e| anyhow::anyhow!("demo bank account: {e:?}"))?;
    let bank_account_id = wallet::add_bank_account(db, clock, user_id, account, meta).await?;
    let request = BankTransferRequest {
        direction: Direction::Deposit,
        amount: Money::from_minor(minor, Currency::Rub)
            .map_err(|e| anyhow::anyhow!("demo deposit: {e}"))?,
        bank_account_id,
        key: IdempotencyKey::parse(&IdempotencyKey::generate())?,
    };
    wallet::transfer(db, clock, user_id, &request).await?;
    Ok(())
}
