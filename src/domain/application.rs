//! A borrower's profile and loan application: the typed values the forms
//! parse into, the rules between fields, and the assessment that turns them
//! into a scorecard under the platform settings (DESIGN.md section 5, steps 1-2).

use chrono::{Datelike, NaiveDate};

use crate::domain::{
    money::{Money, Rate},
    schedule::{self, LoanTerms},
    scoring::{self, Applicant, Employment, Grade, GradeBand, Scorecard},
    settings::Settings,
};

word_enum!(
    /// Highest qualification.
    Education {
        None => "none", "No formal qualification";
        Secondary => "secondary", "Secondary school";
        Vocational => "vocational", "Vocational training";
        Bachelor => "bachelor", "Bachelor's degree";
        Master => "master", "Master's degree or specialist";
        Doctorate => "doctorate", "Doctorate";
    }
);

word_enum!(
    /// What the money is for.
    Purpose {
        DebtConsolidation => "debt_consolidation", "Paying off other debts";
        Business => "business", "Business";
        HomeImprovement => "home_improvement", "Home improvement";
        Car => "car", "Car";
        Education => "education", "Education";
        Medical => "medical", "Medical costs";
        Travel => "travel", "Travel";
        Other => "other", "Something else";
    }
);

word_enum!(
    /// How the loan is priced: the platform's rate, or lenders' offers.
    ListingMode {
        Fixed => "fixed", "At the platform's rate";
        Offers => "offers", "Lenders make offers";
    }
);

word_enum!(
    LiabilityKind {
        Mortgage => "mortgage", "Mortgage";
        CarLoan => "car_loan", "Car loan";
        ConsumerLoan => "consumer_loan", "Consumer loan";
        CreditCard => "credit_card", "Credit card";
        Other => "other", "Other debt";
    }
);

word_enum!(
    AssetKind {
        RealEstate => "real_estate", "Real estate";
        Vehicle => "vehicle", "Vehicle";
        Deposit => "deposit", "Bank deposit";
        Securities => "securities", "Securities";
        Other => "other", "Other asset";
    }
);

/// The youngest and oldest ages a birth date may give.
pub const AGE_RANGE: (u32, u32) = (14, 120);
/// Counts of defaults and inquiries above this are typing mistakes.
pub const MAX_EVENTS_12M: u32 = 99;
/// Rows a borrower may list of each kind.
pub const MAX_ROWS: usize = 20;
/// Characters of the free-text description.
pub const DESCRIPTION_LENGTH: (usize, usize) = (20, 2000);

/// An existing debt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Liability {
    pub kind: LiabilityKind,
    pub outstanding: Money,
    pub monthly_payment: Money,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
}

/// Something the borrower owns, wholly or in part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub kind: AssetKind,
    pub value: Money,
    /// Whole percent, 1 to 100.
    pub ownership_pct: u32,
    pub held_since: Option<NaiveDate>,
}

/// Everything a borrower tells about themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub birth_date: NaiveDate,
    pub employment: Employment,
    pub employer: Option<String>,
    pub position: Option<String>,
    pub employed_since: Option<NaiveDate>,
    pub monthly_income: Money,
    pub monthly_expenses: Money,
    pub education: Education,
    pub university: Option<String>,
    pub graduation_year: Option<i32>,
    pub credit_score: u32,
    pub avg_bank_balance: Money,
    pub defaults_12m: u32,
    pub inquiries_12m: u32,
    pub liabilities: Vec<Liability>,
    pub assets: Vec<Asset>,
}

/// A rule between fields that a value broke: the form field and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Full years between `birth` and `today`.
#[must_use]
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> u32 {
    today.years_since(birth).unwrap_or(0)
}

/// Whole months between `since` and `today` (0 when `since` is later).
#[must_use]
pub fn months_between(since: NaiveDate, today: NaiveDate) -> u32 {
    let months = (today.year() - since.year()) * 12 + today.month0() as i32
        - since.month0() as i32
        - i32::from(today.day() < since.day());
    u32::try_from(months).unwrap_or(0)
}

impl Profile {
    /// The rules between fields and against `today`; empty when all hold.
    #[must_use]
    pub fn problems(&self, today: NaiveDate) -> Vec<Problem> {
        let mut problems = Vec::new();
        let age = age_on(self.birth_date, today);
        if self.birth_date > today {
            problems.push(Problem::new(
                "birth_date",
                "The birth date is in the future.",
            ));
        } else if !(AGE_RANGE.0..=AGE_RANGE.1).contains(&age) {
            problems.push(Problem::new(
                "birth_date",
                format!(
                    "Check the birth date: it gives an age of {age}, outside {} to {}.",
                    AGE_RANGE.0, AGE_RANGE.1
                ),
            ));
        }
        let working = matches!(
            self.employment,
            Employment::Employed | Employment::SelfEmployed
        );
        if working {
            if self.employer.is_none() {
                problems.push(Problem::new(
                    "employer",
                    if self.employment == Employment::SelfEmployed {
                        "Enter the name of your business."
                    } else {
                        "Enter your employer."
                    },
                ));
            }
            match self.employed_since {
                None => problems.push(Problem::new(
                    "employed_since",
                    "Enter the date you started in this work.",
                )),
                Some(since) if since > today => problems.push(Problem::new(
                    "employed_since",
                    "The start date is in the future.",
                )),
                Some(since) if since < self.birth_date => problems.push(Problem::new(
                    "employed_since",
                    "The start date is before the birth date.",
                )),
                Some(_) => {}
            }
        }
        if let Some(year) = self.graduation_year {
            if year > today.year() {
                problems.push(Problem::new(
                    "graduation_year",
                    "The graduation year is in the future.",
                ));
            } else if year < self.birth_date.year() {
                problems.push(Problem::new(
                    "graduation_year",
                    "The graduation year is before the birth year.",
                ));
            }
        }
        if self.liabilities.len() > MAX_ROWS || self.assets.len() > MAX_ROWS {
            problems.push(Problem::new(
                "liabilities",
                format!("List at most {MAX_ROWS} debts and {MAX_ROWS} assets."),
            ));
        }
        for (i, liability) in self.liabilities.iter().enumerate() {
            if liability.start_date > today {
                problems.push(Problem::new(
                    format!("liability_start_date_{i}"),
                    "The start date is in the future.",
                ));
            }
            if liability
                .end_date
                .is_some_and(|end| end < liability.start_date)
            {
                problems.push(Problem::new(
                    format!("liability_end_date_{i}"),
                    "The end date is before the start date.",
                ));
            }
        }
        for (i, asset) in self.assets.iter().enumerate() {
            if !(1..=100).contains(&asset.ownership_pct) {
                problems.push(Problem::new(
                    format!("asset_ownership_pct_{i}"),
                    "Enter a share from 1 to 100 %.",
                ));
            }
            if asset.held_since.is_some_and(|since| since > today) {
                problems.push(Problem::new(
                    format!("asset_held_since_{i}"),
                    "The date is in the future.",
                ));
            }
        }
        problems
    }

    /// What running debts cost each month (debts that ended before `today`
    /// no longer count), in exact minor units.
    fn monthly_debt_minor(&self, today: NaiveDate) -> i128 {
        self.liabilities
            .iter()
            .filter(|l| l.end_date.is_none_or(|end| end >= today))
            .map(|l| i128::from(l.monthly_payment.minor()))
            .sum()
    }

    /// The value of the assets by the share owned, rounded down to a cent.
    fn owned_assets_minor(&self) -> i128 {
        self.assets
            .iter()
            .map(|a| i128::from(a.value.minor()) * i128::from(a.ownership_pct) / 100)
            .sum()
    }
}

/// What the borrower asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanRequest {
    pub amount: Money,
    pub term_months: u32,
    pub purpose: Purpose,
    pub description: String,
    pub listing_mode: ListingMode,
}

impl LoanRequest {
    /// The platform's limits on a request; empty when all hold.
    #[must_use]
    pub fn problems(&self, settings: &Settings) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.amount.minor() < settings.min_loan_amount.minor()
            || self.amount.minor() > settings.max_loan_amount.minor()
        {
            problems.push(Problem::new(
                "amount",
                format!(
                    "Choose an amount from {} to {}.",
                    settings.min_loan_amount, settings.max_loan_amount
                ),
            ));
        }
        if !settings.loan_terms.contains(&self.term_months) {
            problems.push(Problem::new("term_months", terms_message(settings)));
        }
        let chars = self.description.chars().count();
        if chars < DESCRIPTION_LENGTH.0 || chars > DESCRIPTION_LENGTH.1 {
            problems.push(Problem::new(
                "description",
                format!(
                    "Describe what the loan is for in {} to {} characters (now {chars}).",
                    DESCRIPTION_LENGTH.0, DESCRIPTION_LENGTH.1
                ),
            ));
        }
        problems
    }
}

fn terms_message(settings: &Settings) -> String {
    let terms: Vec<String> = settings.loan_terms.iter().map(u32::to_string).collect();
    format!(
        "Choose one of the terms offered: {} months.",
        terms.join(", ")
    )
}

/// The scorecard over a profile and request, with what follows from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub scorecard: Scorecard,
    /// The band of the grade reached.
    pub band: GradeBand,
    /// The rate the scorecard suggests within the band.
    pub suggested_rate: Rate,
    /// The monthly installment counted in the debt-to-income ratio.
    pub new_installment: Money,
}

impl Assessment {
    /// Plain words for the borrower about what the amount and term mean for
    /// this grade.
    #[must_use]
    pub fn limits_notes(&self, request: &LoanRequest) -> Vec<String> {
        let mut notes = Vec::new();
        if request.amount.minor() > self.band.max_amount.minor() {
            notes.push(format!(
                "Grade {} may borrow at most {}; staff may approve that amount instead of the {} you asked for.",
                self.band.grade, self.band.max_amount, request.amount
            ));
        }
        if request.term_months > self.band.max_term_months {
            notes.push(format!(
                "Grade {} may borrow for at most {} months; staff may shorten the term.",
                self.band.grade, self.band.max_term_months
            ));
        }
        notes
    }
}

/// Scores `request` by `profile` on `today` under `settings`.
///
/// The debt-to-income ratio includes the new loan's installment, and the
/// installment depends on the rate, which depends on the grade. The loop
/// takes the best grade that stays consistent: the installment is computed
/// at the top of a grade's band, and the first grade (from A down) whose
/// scorecard reaches at least that grade wins. A worse grade only raises the
/// installment, so the answer is unique and never flatters the borrower.
///
/// # Errors
/// When the platform settings have no band for a grade, or the installment
/// cannot be computed (an amount beyond what the platform handles).
pub fn assess(
    profile: &Profile,
    request: &LoanRequest,
    settings: &Settings,
    today: NaiveDate,
) -> Result<Assessment, AssessmentError> {
    let currency = request.amount.currency();
    let clamp = |minor: i128| {
        Money::from_minor(
            i64::try_from(minor.min(i128::from(crate::domain::money::MAX_MINOR)))
                .unwrap_or(i64::MAX),
            currency,
        )
    };
    let monthly_debt_payments = clamp(profile.monthly_debt_minor(today))?;
    let owned_assets = clamp(profile.owned_assets_minor())?;
    let employed_months = profile
        .employed_since
        .map_or(0, |since| months_between(since, today));
    let mut last = None;
    for grade in Grade::ALL {
        let band = *settings
            .band(grade)
            .ok_or(AssessmentError::MissingBand(grade))?;
        let new_installment = schedule::annuity(&LoanTerms {
            principal: request.amount,
            rate: band.max_rate,
            term_months: request.term_months,
            start: today,
        })?
        .payment;
        let applicant = Applicant {
            age_years: age_on(profile.birth_date, today),
            employment: profile.employment,
            months_employed: employed_months,
            monthly_income: profile.monthly_income,
            monthly_debt_payments,
            new_installment,
            bureau_score: profile.credit_score,
            defaults_12m: profile.defaults_12m,
            inquiries_12m: profile.inquiries_12m,
            owned_assets,
            amount: request.amount,
        };
        let scorecard = scoring::score(&applicant, &settings.policy);
        let consistent = scorecard.grade <= grade;
        last = Some((scorecard, new_installment));
        if consistent {
            break;
        }
    }
    let (scorecard, new_installment) = last.ok_or(AssessmentError::MissingBand(Grade::F))?;
    let band = *settings
        .band(scorecard.grade)
        .ok_or(AssessmentError::MissingBand(scorecard.grade))?;
    Ok(Assessment {
        suggested_rate: band.rate_for(scorecard.score),
        scorecard,
        band,
        new_installment,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssessmentError {
    #[error("The platform settings have no band for grade {0}.")]
    MissingBand(Grade),
    #[error(transparent)]
    Schedule(#[from] schedule::ScheduleError),
    #[error(transparent)]
    Money(#[from] crate::domain::money::MoneyError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Currency;

    fn rub(roubles: i64) -> Money {
        Money::from_minor(roubles * 100, Currency::Rub).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn profile() -> Profile {
        Profile {
            birth_date: date(1988, 4, 12),
            employment: Employment::Employed,
            employer: Some("Северсталь".to_owned()),
            position: Some("Engineer".to_owned()),
            employed_since: Some(date(2019, 2, 1)),
            monthly_income: rub(150_000),
            monthly_expenses: rub(60_000),
            education: Education::Master,
            university: None,
            graduation_year: Some(2010),
            credit_score: 720,
            avg_bank_balance: rub(80_000),
            defaults_12m: 0,
            inquiries_12m: 1,
            liabilities: vec![Liability {
                kind: LiabilityKind::CarLoan,
                outstanding: rub(300_000),
                monthly_payment: rub(12_000),
                start_date: date(2024, 1, 10),
                end_date: Some(date(2027, 1, 10)),
            }],
            assets: vec![Asset {
                kind: AssetKind::RealEstate,
                value: rub(4_000_000),
                ownership_pct: 50,
                held_since: Some(date(2015, 6, 1)),
            }],
        }
    }

    fn request(amount: i64, term: u32) -> LoanRequest {
        LoanRequest {
            amount: rub(amount),
            term_months: term,
            purpose: Purpose::Car,
            description: "A used car to drive to the plant every day.".to_owned(),
            listing_mode: ListingMode::Fixed,
        }
    }

    const TODAY: (i32, u32, u32) = (2026, 11, 25);

    fn today() -> NaiveDate {
        date(TODAY.0, TODAY.1, TODAY.2)
    }

    #[test]
    fn words_round_trip() {
        for purpose in Purpose::ALL {
            assert_eq!(Purpose::parse(purpose.as_str()), Some(*purpose));
        }
        assert_eq!(Education::parse("phd"), None);
        assert_eq!(
            LiabilityKind::parse("car_loan"),
            Some(LiabilityKind::CarLoan)
        );
    }

    #[test]
    fn ages_and_months_count_whole_units() {
        assert_eq!(age_on(date(2008, 11, 26), today()), 17);
        assert_eq!(age_on(date(2008, 11, 25), today()), 18);
        assert_eq!(months_between(date(2026, 10, 26), today()), 0);
        assert_eq!(months_between(date(2026, 10, 25), today()), 1);
        assert_eq!(months_between(date(2019, 2, 1), today()), 93);
        assert_eq!(months_between(date(2027, 1, 1), today()), 0);
    }

    #[test]
    fn a_sound_profile_has_no_problems() {
        assert_eq!(profile().problems(today()), vec![]);
    }

    #[test]
    fn cross_field_rules_name_their_field() {
        type Change = Box<dyn Fn(&mut Profile)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|p| p.birth_date = date(2030, 1, 1)), "birth_date"),
            (Box::new(|p| p.birth_date = date(1890, 1, 1)), "birth_date"),
            (Box::new(|p| p.employer = None), "employer"),
            (Box::new(|p| p.employed_since = None), "employed_since"),
            (
                Box::new(|p| p.employed_since = Some(date(2027, 1, 1))),
                "employed_since",
            ),
            (
                Box::new(|p| p.employed_since = Some(date(1980, 1, 1))),
                "employed_since",
            ),
            (
                Box::new(|p| p.graduation_year = Some(2030)),
                "graduation_year",
            ),
            (
                Box::new(|p| p.graduation_year = Some(1980)),
                "graduation_year",
            ),
            (
                Box::new(|p| p.liabilities[0].start_date = date(2027, 1, 1)),
                "liability_start_date_0",
            ),
            (
                Box::new(|p| p.liabilities[0].end_date = Some(date(2020, 1, 1))),
                "liability_end_date_0",
            ),
            (
                Box::new(|p| p.assets[0].ownership_pct = 0),
                "asset_ownership_pct_0",
            ),
            (
                Box::new(|p| p.assets[0].ownership_pct = 101),
                "asset_ownership_pct_0",
            ),
            (
                Box::new(|p| p.assets[0].held_since = Some(date(2027, 1, 1))),
                "asset_held_since_0",
            ),
        ];
        for (change, field) in cases {
            let mut p = profile();
            change(&mut p);
            let problems = p.problems(today());
            assert_eq!(
                problems.first().map(|p| p.field.as_str()),
                Some(field),
                "{problems:?}"
            );
        }
        let mut retired = profile();
        retired.employment = Employment::Retired;
        retired.employer = None;
        retired.employed_since = None;
        assert_eq!(retired.problems(today()), vec![]);
    }

    #[test]
    fn requests_respect_the_platform_limits() {
        let settings = Settings::default();
        assert_eq!(request(300_000, 24).problems(&settings), vec![]);
        let fields = |r: LoanRequest| -> Vec<String> {
            r.problems(&settings).into_iter().map(|p| p.field).collect()
        };
        assert_eq!(fields(request(1, 24)), ["amount"]);
        assert_eq!(fields(request(1_000_000_000, 24)), ["amount"]);
        assert_eq!(fields(request(300_000, 25)), ["term_months"]);
        let mut short = request(300_000, 24);
        short.description = "car".to_owned();
        assert_eq!(fields(short), ["description"]);
        let mut offers = request(300_000, 24);
        offers.listing_mode = ListingMode::Offers;
        assert!(
            fields(offers).is_empty(),
            "a loan priced by offers is a request like any other"
        );
    }

    #[test]
    fn assessment_counts_running_debts_and_owned_share_of_assets() {
        let settings = Settings::default();
        let a = assess(&profile(), &request(300_000, 24), &settings, today()).unwrap();
        let dti = a.scorecard.factors.iter().find(|f| f.key == "dti").unwrap();
        assert!(dti.input.ends_with('%'), "{}", dti.input);
        assert_eq!(a.band.grade, a.scorecard.grade);
        assert!(a.suggested_rate >= a.band.min_rate && a.suggested_rate <= a.band.max_rate);

        // A finished debt no longer counts: the score can only rise.
        let mut paid_off = profile();
        paid_off.liabilities[0].end_date = Some(date(2025, 1, 1));
        let b = assess(&paid_off, &request(300_000, 24), &settings, today()).unwrap();
        assert!(b.scorecard.score >= a.scorecard.score);
    }

    #[test]
    fn the_installment_is_priced_at_the_top_of_the_grade_reached() {
        let settings = Settings::default();
        let a = assess(&profile(), &request(300_000, 24), &settings, today()).unwrap();
        let at_top = schedule::annuity(&LoanTerms {
            principal: rub(300_000),
            rate: a.band.max_rate,
            term_months: 24,
            start: today(),
        })
        .unwrap()
        .payment;
        // The grade reached is consistent with the rate assumed, or it is F.
        assert!(a.new_installment.minor() <= at_top.minor() || a.band.grade == Grade::F);
    }

    #[test]
    fn limits_notes_say_when_the_grade_caps_amount_or_term() {
        let settings = Settings::default();
        let a = assess(&profile(), &request(300_000, 24), &settings, today()).unwrap();
        assert!(a.limits_notes(&request(300_000, 24)).is_empty());
        let mut big = request(300_000, 24);
        big.amount = a.band.max_amount.checked_add(rub(1)).unwrap();
        assert!(a.limits_notes(&big)[0].contains("may borrow at most"));
    }
}
