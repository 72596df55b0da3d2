//! The scorecard (DESIGN.md section 5, step 2): deterministic and
//! explainable. Eight factors each give points from a published table; the
//! points add up to a score from 0 to 1000, the score gives a grade A to F,
//! and the grade's band (a platform setting) gives the suggested rate and
//! the largest amount and term. Hard rules decline an application whatever
//! its score. Every factor keeps its input and points, so staff see exactly
//! why, and a borrower is told which single change would raise the grade.
//!
//! Education, gender, nationality and the like are deliberately not inputs.

use std::fmt;

use crate::domain::money::{Money, Rate};

/// Stored with every result, so a later change of the tables never rewrites
/// what an old decision was based on.
pub const MODEL_VERSION: &str = "scorecard-2026.11";

/// The best possible score.
pub const MAX_SCORE: u32 = 1000;

/// Employment as the borrower declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Employment {
    Employed,
    SelfEmployed,
    Retired,
    Student,
    Unemployed,
}

impl Employment {
    pub const ALL: [Self; 5] = [
        Self::Employed,
        Self::SelfEmployed,
        Self::Retired,
        Self::Student,
        Self::Unemployed,
    ];

    /// The word stored in `borrower_profiles.employment_status`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Employed => "employed",
            Self::SelfEmployed => "self_employed",
            Self::Retired => "retired",
            Self::Student => "student",
            Self::Unemployed => "unemployed",
        }
    }

    #[must_use]
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == word)
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Employed => "Employed",
            Self::SelfEmployed => "Self-employed",
            Self::Retired => "Retired",
            Self::Student => "Student",
            Self::Unemployed => "Not working",
        }
    }
}

/// Everything the scorecard looks at, already validated. Money in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applicant {
    pub age_years: u32,
    pub employment: Employment,
    /// Months in the current job (ignored unless employed or self-employed).
    pub months_employed: u32,
    pub monthly_income: Money,
    /// What existing loans and cards cost each month.
    pub monthly_debt_payments: Money,
    /// The monthly installment of the loan applied for.
    pub new_installment: Money,
    /// The credit bureau's score, 0 to 1000.
    pub bureau_score: u32,
    pub defaults_12m: u32,
    pub inquiries_12m: u32,
    /// Assets weighted by the share the borrower owns.
    pub owned_assets: Money,
    pub amount: Money,
}

/// The limits of the hard rules (platform settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub min_age: u32,
    /// Debt-to-income above this, in basis points of income, declines.
    pub max_dti_bps: u32,
    /// More defaults than this in the last 12 months declines.
    pub max_defaults_12m: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min_age: 18,
            max_dti_bps: 6_000,
            max_defaults_12m: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grade {
    A,
    B,
    C,
    D,
    E,
    F,
}

impl Grade {
    pub const ALL: [Self; 6] = [Self::A, Self::B, Self::C, Self::D, Self::E, Self::F];

    /// The lowest score of each grade; below E's is F.
    const FLOORS: [(Self, u32); 5] = [
        (Self::A, 800),
        (Self::B, 700),
        (Self::C, 600),
        (Self::D, 500),
        (Self::E, 400),
    ];

    #[must_use]
    pub fn for_score(score: u32) -> Self {
        Self::FLOORS
            .iter()
            .find(|(_, floor)| score >= *floor)
            .map_or(Self::F, |(grade, _)| *grade)
    }

    /// The scores this grade covers, `lo..hi` (hi exclusive; A ends at 1001).
    #[must_use]
    pub fn score_range(self) -> (u32, u32) {
        let lo = Self::FLOORS
            .iter()
            .find(|(g, _)| *g == self)
            .map_or(0, |(_, floor)| *floor);
        let hi = match self {
            Self::A => MAX_SCORE + 1,
            other => Self::FLOORS
                .iter()
                .rev()
                .find(|(g, _)| *g < other)
                .map_or(MAX_SCORE + 1, |(_, floor)| *floor),
        };
        (lo, hi)
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
            Self::D => "D",
            Self::E => "E",
            Self::F => "F",
        }
    }

    #[must_use]
    pub fn parse(letter: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == letter)
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a grade may borrow, and at what rate (a platform setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GradeBand {
    pub grade: Grade,
    pub min_rate: Rate,
    pub max_rate: Rate,
    pub max_amount: Money,
    pub max_term_months: u32,
}

impl GradeBand {
    /// The rate for `score` within this band: the band's highest rate at the
    /// bottom of the grade, falling evenly to its lowest at the top.
    #[must_use]
    pub fn rate_for(&self, score: u32) -> Rate {
        let (lo, hi) = self.grade.score_range();
        let span = u64::from(hi - 1 - lo).max(1);
        let position = u64::from(score.clamp(lo, hi - 1) - lo);
        let spread = u64::from(self.max_rate.bps().saturating_sub(self.min_rate.bps()));
        let reduction = u32::try_from(spread * position / span).unwrap_or(0);
        Rate::from_bps(self.max_rate.bps() - reduction).unwrap_or(self.max_rate)
    }
}

/// One line of the scorecard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factor {
    pub key: &'static str,
    pub name: &'static str,
    /// The input as people read it ("28 %", "3 years 2 months").
    pub input: String,
    pub points: u32,
    pub max_points: u32,
    /// The next better step of this factor's table, if there is one.
    pub next_step: Option<Step>,
}

/// A better bracket of a factor: what it takes and what it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// "a debt-to-income ratio of 35 % or less"
    pub condition: String,
    pub points: u32,
}

/// A rule that declines the application whatever the score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardRuleFailure {
    pub key: &'static str,
    pub message: String,
    /// What would lift the rule, in the borrower's terms.
    pub remedy: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scorecard {
    pub model_version: &'static str,
    pub score: u32,
    pub grade: Grade,
    pub factors: Vec<Factor>,
    pub hard_rule_failures: Vec<HardRuleFailure>,
}

/// A single change that would lift the grade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Improvement {
    pub factor: &'static str,
    pub condition: String,
    pub new_grade: Grade,
}

impl fmt::Display for Improvement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut condition = self.condition.clone();
        if let Some(first) = condition.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        write!(
            f,
            "{condition} would raise the grade to {}.",
            self.new_grade
        )
    }
}

impl Scorecard {
    /// Whether a hard rule declines the application.
    #[must_use]
    pub fn declined(&self) -> bool {
        !self.hard_rule_failures.is_empty()
    }

    /// Each single factor change that alone would reach a better grade, best first.
    #[must_use]
    pub fn improvements(&self) -> Vec<Improvement> {
        let mut found: Vec<Improvement> = self
            .factors
            .iter()
            .filter_map(|factor| {
                let step = factor.next_step.as_ref()?;
                let score = self.score - factor.points + step.points;
                let new_grade = Grade::for_score(score);
                (new_grade < self.grade).then(|| Improvement {
                    factor: factor.name,
                    condition: step.condition.clone(),
                    new_grade,
                })
            })
            .collect();
        found.sort_by_key(|i| i.new_grade);
        found
    }
}

/// A factor's table: thresholds, best first, and the points each gives.
struct Table {
    /// (threshold, points, how the condition reads)
    steps: &'static [(u64, u32, &'static str)],
    /// Whether a lower input is better (ratios) or a higher one (months, score).
    lower_is_better: bool,
}

impl Table {
    fn points(&self, value: u64) -> (u32, Option<Step>) {
        let meets = |threshold: u64| {
            if self.lower_is_better {
                value <= threshold
            } else {
                value >= threshold
            }
        };
        let index = self
            .steps
            .iter()
            .position(|(threshold, _, _)| meets(*threshold));
        let points = index.map_or(0, |i| self.steps[i].1);
        let better = match index {
            Some(0) => None,
            Some(i) => Some(i - 1),
            None => self.steps.len().checked_sub(1),
        };
        let next_step = better.map(|i| Step {
            condition: self.steps[i].2.to_owned(),
            points: self.steps[i].1,
        });
        (points, next_step)
    }
}

const DTI: Table = Table {
    steps: &[
        (2_000, 200, "a debt-to-income ratio of 20 % or less"),
        (3_000, 160, "a debt-to-income ratio of 30 % or less"),
        (3_500, 130, "a debt-to-income ratio of 35 % or less"),
        (4_000, 100, "a debt-to-income ratio of 40 % or less"),
        (5_000, 40, "a debt-to-income ratio of 50 % or less"),
    ],
    lower_is_better: true,
};

const MONTHS_EMPLOYED: Table = Table {
    steps: &[
        (60, 150, "five years or more in your current job"),
        (36, 125, "three years or more in your current job"),
        (24, 100, "two years or more in your current job"),
        (12, 70, "a year or more in your current job"),
        (6, 40, "six months or more in your current job"),
        (0, 15, "any time in a job"),
    ],
    lower_is_better: false,
};

const DEFAULTS: Table = Table {
    steps: &[
        (0, 120, "no defaults in the last 12 months"),
        (1, 40, "at most one default in the last 12 months"),
    ],
    lower_is_better: true,
};

const INQUIRIES: Table = Table {
    steps: &[
        (1, 60, "at most one credit inquiry in the last 12 months"),
        (
            3,
            40,
            "at most three credit inquiries in the last 12 months",
        ),
        (6, 15, "at most six credit inquiries in the last 12 months"),
    ],
    lower_is_better: true,
};

const ASSET_COVERAGE: Table = Table {
    steps: &[
        (10_000, 100, "assets worth at least the amount borrowed"),
        (5_000, 60, "assets worth at least half the amount borrowed"),
        (
            2_000,
            30,
            "assets worth at least a fifth of the amount borrowed",
        ),
    ],
    lower_is_better: false,
};

const AMOUNT_TO_INCOME: Table = Table {
    steps: &[
        (2_500, 80, "borrowing at most three months' income"),
        (5_000, 55, "borrowing at most six months' income"),
        (10_000, 25, "borrowing at most a year's income"),
    ],
    lower_is_better: true,
};

const BUREAU_MAX_POINTS: u32 = 250;

/// `part / whole` in basis points, saturating; a zero whole is "infinitely
/// much". Rounded against the borrower: up for ratios where less is better
/// (20.001 % is not "20 % or less"), down where more is better.
fn ratio_bps(part: i128, whole: i128, round_up: bool) -> u64 {
    let (part, whole) = (part.max(0), whole.max(0));
    if whole == 0 {
        return if part == 0 { 0 } else { u64::MAX };
    }
    let scaled = part * 10_000;
    let bps = if round_up {
        (scaled + whole - 1) / whole
    } else {
        scaled / whole
    };
    u64::try_from(bps).unwrap_or(u64::MAX)
}

fn percent(bps: u64) -> String {
    if bps == u64::MAX {
        "no income".to_owned()
    } else {
        format!("{} %", bps / 100)
    }
}

fn duration(months: u32) -> String {
    match (months / 12, months % 12) {
        (0, m) => format!("{m} months"),
        (y, 0) => format!("{y} years"),
        (y, m) => format!("{y} years {m} months"),
    }
}

fn table_factor(
    key: &'static str,
    name: &'static str,
    input: String,
    table: &Table,
    value: u64,
) -> Factor {
    let (points, next_step) = table.points(value);
    Factor {
        key,
        name,
        input,
        points,
        max_points: table.steps[0].1,
        next_step,
    }
}

/// Scores `applicant` under `policy`.
#[must_use]
pub fn score(applicant: &Applicant, policy: &Policy) -> Scorecard {
    let a = applicant;
    // In exact minor units: sums of amounts may exceed what one `Money` holds.
    let minor = |money: Money| i128::from(money.minor());
    let monthly_obligations = minor(a.monthly_debt_payments) + minor(a.new_installment);
    let dti = ratio_bps(monthly_obligations, minor(a.monthly_income), true);
    let amount_to_income = ratio_bps(minor(a.amount), minor(a.monthly_income) * 12, true);
    let coverage = ratio_bps(minor(a.owned_assets), minor(a.amount), false);

    let mut factors = Vec::with_capacity(8);
    let bureau = a.bureau_score.min(1000);
    let bureau_points = bureau * BUREAU_MAX_POINTS / 1000;
    factors.push(Factor {
        key: "bureau_score",
        name: "Credit bureau score",
        input: format!("{bureau} of 1000"),
        points: bureau_points,
        max_points: BUREAU_MAX_POINTS,
        next_step: (bureau < 1000).then(|| {
            // The bureau score counts linearly: the next hundred is the step shown.
            let target = (bureau / 100 + 1) * 100;
            Step {
                condition: format!("a credit bureau score of {target} or more"),
                points: target * BUREAU_MAX_POINTS / 1000,
            }
        }),
    });
    factors.push(table_factor(
        "dti",
        "Debt-to-income, with this loan",
        percent(dti),
        &DTI,
        dti,
    ));
    let (employment_input, months) = match a.employment {
        Employment::Employed | Employment::SelfEmployed => (
            format!("{}, {}", a.employment.label(), duration(a.months_employed)),
            Some(a.months_employed),
        ),
        other => (other.label().to_owned(), None),
    };
    match months {
        Some(months) => factors.push(table_factor(
            "employment",
            "Employment and its length",
            employment_input,
            &MONTHS_EMPLOYED,
            u64::from(months),
        )),
        None => {
            let points = match a.employment {
                Employment::Retired => 110,
                Employment::Student => 20,
                _ => 0,
            };
            factors.push(Factor {
                key: "employment",
                name: "Employment and its length",
                input: employment_input,
                points,
                max_points: MONTHS_EMPLOYED.steps[0].1,
                next_step: None,
            });
        }
    }
    factors.push(table_factor(
        "defaults_12m",
        "Defaults in the last 12 months",
        a.defaults_12m.to_string(),
        &DEFAULTS,
        u64::from(a.defaults_12m),
    ));
    factors.push(table_factor(
        "inquiries_12m",
        "Credit inquiries in the last 12 months",
        a.inquiries_12m.to_string(),
        &INQUIRIES,
        u64::from(a.inquiries_12m),
    ));
    factors.push(table_factor(
        "asset_coverage",
        "Assets against the amount",
        if coverage == u64::MAX {
            "—".to_owned()
        } else {
            percent(coverage)
        },
        &ASSET_COVERAGE,
        coverage,
    ));
    factors.push(table_factor(
        "amount_to_income",
        "Amount against a year's income",
        percent(amount_to_income),
        &AMOUNT_TO_INCOME,
        amount_to_income,
    ));
    let age_points = match a.age_years {
        0..=17 => 0,
        18..=21 => 10,
        22..=25 => 25,
        26..=60 => 40,
        61..=70 => 25,
        _ => 10,
    };
    factors.push(Factor {
        key: "age",
        name: "Age",
        input: a.age_years.to_string(),
        points: age_points,
        max_points: 40,
        next_step: None,
    });

    let mut hard_rule_failures = Vec::new();
    if a.age_years < policy.min_age {
        hard_rule_failures.push(HardRuleFailure {
            key: "min_age",
            message: format!("Borrowers must be at least {} years old.", policy.min_age),
            remedy: format!("You can apply once you are {}.", policy.min_age),
        });
    }
    if !a.monthly_income.is_positive() {
        hard_rule_failures.push(HardRuleFailure {
            key: "no_income",
            message: "A loan needs a regular income to repay it.".to_owned(),
            remedy: "A regular income, from work, a business or a pension, would make the application possible.".to_owned(),
        });
    } else if dti > u64::from(policy.max_dti_bps) {
        hard_rule_failures.push(HardRuleFailure {
            key: "max_dti",
            message: format!(
                "With this loan, debt payments would take {} of income; the limit is {} %.",
                percent(dti),
                policy.max_dti_bps / 100
            ),
            remedy: format!(
                "A smaller amount, a longer term or paying off a debt first would bring debt payments to {} % of income or less.",
                policy.max_dti_bps / 100
            ),
        });
    }
    if a.defaults_12m > policy.max_defaults_12m {
        hard_rule_failures.push(HardRuleFailure {
            key: "recent_defaults",
            message: format!(
                "{} defaults in the last 12 months; at most {} is accepted.",
                a.defaults_12m, policy.max_defaults_12m
            ),
            remedy: format!(
                "Once no more than {} default{} fall{} within the last 12 months, the application can be considered.",
                policy.max_defaults_12m,
                if policy.max_defaults_12m == 1 { "" } else { "s" },
                if policy.max_defaults_12m == 1 { "s" } else { "" }
            ),
        });
    }

    let score = factors.iter().map(|f| f.points).sum::<u32>().min(MAX_SCORE);
    Scorecard {
        model_version: MODEL_VERSION,
        score,
        grade: Grade::for_score(score),
        factors,
        hard_rule_failures,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::money::Currency;

    fn rub(roubles: i64) -> Money {
        Money::from_minor(roubles * 100, Currency::Rub).unwrap()
    }

    /// A solid applicant: every factor in its best bracket but the bureau score.
    fn applicant() -> Applicant {
        Applicant {
            age_years: 35,
            employment: Employment::Employed,
            months_employed: 72,
            monthly_income: rub(100_000),
            monthly_debt_payments: rub(5_000),
            new_installment: rub(10_000),
            bureau_score: 800,
            defaults_12m: 0,
            inquiries_12m: 1,
            owned_assets: rub(600_000),
            amount: rub(300_000),
        }
    }

    fn points(card: &Scorecard, key: &str) -> u32 {
        card.factors.iter().find(|f| f.key == key).unwrap().points
    }

    #[test]
    fn the_points_add_up_to_the_score_and_the_maxima_to_1000() {
        let card = score(&applicant(), &Policy::default());
        assert_eq!(card.factors.len(), 8);
        assert_eq!(
            card.score,
            card.factors.iter().map(|f| f.points).sum::<u32>()
        );
        assert_eq!(
            card.factors.iter().map(|f| f.max_points).sum::<u32>(),
            MAX_SCORE
        );
        // 200 (bureau 800) + 200 + 150 + 120 + 60 + 100 + 80 + 40
        assert_eq!(card.score, 950);
        assert_eq!(card.grade, Grade::A);
        assert_eq!(card.model_version, MODEL_VERSION);
        assert!(!card.declined());
    }

    #[test]
    fn each_table_factor_scores_its_brackets_at_the_edges() {
        let policy = Policy {
            max_dti_bps: 10_000,
            ..Policy::default()
        };
        // (field setter, factor key, [(value, expected points)])
        type Case = (fn(&mut Applicant, i64), &'static str, &'static [(i64, u32)]);
        let cases: [Case; 6] = [
            // Debt-to-income with income 100 000: existing payments + 10 000 installment.
            (
                |a, v| a.monthly_debt_payments = rub(v - 10_000),
                "dti",
                &[
                    (20_000, 200),
                    (20_001, 160),
                    (30_000, 160),
                    (35_000, 130),
                    (40_000, 100),
                    (50_000, 40),
                    (50_001, 0),
                ],
            ),
            (
                |a, v| a.months_employed = u32::try_from(v).unwrap(),
                "employment",
                &[
                    (0, 15),
                    (5, 15),
                    (6, 40),
                    (12, 70),
                    (24, 100),
                    (35, 100),
                    (36, 125),
                    (60, 150),
                    (400, 150),
                ],
            ),
            (
                |a, v| a.defaults_12m = u32::try_from(v).unwrap(),
                "defaults_12m",
                &[(0, 120), (1, 40), (2, 0), (9, 0)],
            ),
            (
                |a, v| a.inquiries_12m = u32::try_from(v).unwrap(),
                "inquiries_12m",
                &[(0, 60), (1, 60), (2, 40), (3, 40), (4, 15), (6, 15), (7, 0)],
            ),
            // Assets against a 300 000 loan.
            (
                |a, v| a.owned_assets = rub(v),
                "asset_coverage",
                &[
                    (0, 0),
                    (59_999, 0),
                    (60_000, 30),
                    (150_000, 60),
                    (299_999, 60),
                    (300_000, 100),
                ],
            ),
            // The amount against a year's income of 1 200 000.
            (
                |a, v| a.amount = rub(v),
                "amount_to_income",
                &[
                    (300_000, 80),
                    (300_001, 55),
                    (600_000, 55),
                    (1_200_000, 25),
                    (1_200_001, 0),
                ],
            ),
        ];
        for (set, key, brackets) in cases {
            for (value, expected) in brackets {
                let mut a = applicant();
                set(&mut a, *value);
                assert_eq!(
                    points(&score(&a, &policy), key),
                    *expected,
                    "{key} at {value}"
                );
            }
        }
    }

    #[test]
    fn bureau_employment_and_age_points() {
        for (bureau, expected) in [(0, 0), (399, 99), (400, 100), (1000, 250), (1500, 250)] {
            let a = Applicant {
                bureau_score: bureau,
                ..applicant()
            };
            assert_eq!(
                points(&score(&a, &Policy::default()), "bureau_score"),
                expected,
                "{bureau}"
            );
        }
        for (employment, expected) in [
            (Employment::Retired, 110),
            (Employment::Student, 20),
            (Employment::Unemployed, 0),
            (Employment::SelfEmployed, 150),
        ] {
            let a = Applicant {
                employment,
                ..applicant()
            };
            assert_eq!(
                points(&score(&a, &Policy::default()), "employment"),
                expected,
                "{employment:?}"
            );
        }
        for (age, expected) in [
            (17, 0),
            (18, 10),
            (22, 25),
            (26, 40),
            (60, 40),
            (61, 25),
            (71, 10),
        ] {
            let a = Applicant {
                age_years: age,
                ..applicant()
            };
            assert_eq!(
                points(&score(&a, &Policy::default()), "age"),
                expected,
                "{age}"
            );
        }
    }

    #[test]
    fn hard_rules_decline_whatever_the_score() {
        let policy = Policy::default();
        let keys = |a: Applicant| -> Vec<&'static str> {
            score(&a, &policy)
                .hard_rule_failures
                .iter()
                .map(|f| f.key)
                .collect()
        };
        assert!(keys(applicant()).is_empty());
        assert_eq!(
            keys(Applicant {
                age_years: 17,
                ..applicant()
            }),
            ["min_age"]
        );
        assert!(
            keys(Applicant {
                monthly_debt_payments: rub(50_000),
                ..applicant()
            })
            .is_empty(),
            "60 % is the limit"
        );
        assert_eq!(
            keys(Applicant {
                monthly_debt_payments: rub(50_001),
                ..applicant()
            }),
            ["max_dti"]
        );
        assert_eq!(
            keys(Applicant {
                defaults_12m: 2,
                ..applicant()
            }),
            ["recent_defaults"]
        );
        assert_eq!(
            keys(Applicant {
                monthly_income: rub(0),
                ..applicant()
            }),
            ["no_income"]
        );
        let card = score(
            &Applicant {
                monthly_debt_payments: rub(70_000),
                ..applicant()
            },
            &policy,
        );
        assert_eq!(
            card.hard_rule_failures[0].message,
            "With this loan, debt payments would take 80 % of income; the limit is 60 %."
        );
        let card = score(
            &Applicant {
                defaults_12m: 3,
                age_years: 16,
                ..applicant()
            },
            &policy,
        );
        assert!(card.declined());
        assert_eq!(card.hard_rule_failures.len(), 2);
        assert_eq!(
            (card.score, card.grade),
            (790, Grade::B),
            "the score is still computed (950 less 120 and 40); the rules decline"
        );
    }

    #[test]
    fn sums_beyond_one_amount_are_exact_not_clamped() {
        // A year of this income, or these two payments together, exceed what one amount holds.
        let huge = Money::from_minor(crate::domain::money::MAX_MINOR, Currency::Rub).unwrap();
        let rich = Applicant {
            monthly_income: huge,
            amount: huge,
            ..applicant()
        };
        assert_eq!(
            points(&score(&rich, &Policy::default()), "amount_to_income"),
            80,
            "borrowing one month's income"
        );
        let indebted = Applicant {
            monthly_debt_payments: huge,
            new_installment: huge,
            monthly_income: huge,
            ..applicant()
        };
        let card = score(&indebted, &Policy::default());
        assert_eq!(card.factors[1].input, "200 %");
        assert_eq!(card.hard_rule_failures[0].key, "max_dti");
    }

    #[test]
    fn grades_cover_the_scores_without_gaps() {
        for (score, grade) in [
            (1000, Grade::A),
            (800, Grade::A),
            (799, Grade::B),
            (700, Grade::B),
            (699, Grade::C),
            (600, Grade::C),
            (500, Grade::D),
            (499, Grade::E),
            (400, Grade::E),
            (399, Grade::F),
            (0, Grade::F),
        ] {
            assert_eq!(Grade::for_score(score), grade, "{score}");
        }
        assert_eq!(Grade::A.score_range(), (800, 1001));
        assert_eq!(Grade::C.score_range(), (600, 700));
        assert_eq!(Grade::F.score_range(), (0, 400));
        for grade in Grade::ALL {
            assert_eq!(Grade::parse(grade.as_str()), Some(grade));
        }
    }

    #[test]
    fn the_rate_falls_across_the_band_as_the_score_rises() {
        let band = GradeBand {
            grade: Grade::C,
            min_rate: Rate::from_bps(1_800).unwrap(),
            max_rate: Rate::from_bps(2_400).unwrap(),
            max_amount: rub(1_000_000),
            max_term_months: 36,
        };
        assert_eq!(band.rate_for(600).bps(), 2_400);
        assert_eq!(band.rate_for(699).bps(), 1_800);
        assert_eq!(band.rate_for(650).bps(), 2_400 - 600 * 50 / 99);
        let rates: Vec<u32> = (600..700).map(|s| band.rate_for(s).bps()).collect();
        assert!(rates.windows(2).all(|w| w[1] <= w[0]));
        assert_eq!(
            band.rate_for(900).bps(),
            1_800,
            "scores outside the grade are clamped"
        );
    }

    #[test]
    fn the_borrower_is_told_which_single_change_would_raise_the_grade() {
        let a = Applicant {
            bureau_score: 520,
            monthly_debt_payments: rub(26_000),
            inquiries_12m: 2,
            owned_assets: rub(60_000),
            ..applicant()
        };
        let card = score(&a, &Policy::default());
        // 130 + 100 (36 % DTI) + 150 + 120 + 40 + 30 + 80 + 40
        assert_eq!(card.score, 690);
        assert_eq!(card.grade, Grade::C);
        let advice: Vec<String> = card
            .improvements()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            advice,
            [
                "A credit bureau score of 600 or more would raise the grade to B.",
                "A debt-to-income ratio of 35 % or less would raise the grade to B.",
                "At most one credit inquiry in the last 12 months would raise the grade to B.",
                "Assets worth at least half the amount borrowed would raise the grade to B.",
            ]
        );
        // An A has nothing to improve to.
        assert!(
            score(&applicant(), &Policy::default())
                .improvements()
                .is_empty()
        );
    }

    fn applicants() -> impl Strategy<Value = Applicant> {
        (
            18_u32..90,
            0_u32..400,
            1_i64..1_000_000,
            0_i64..500_000,
            0_i64..200_000,
            0_u32..=1000,
            0_u32..5,
            0_u32..12,
            0_i64..10_000_000,
            1_i64..5_000_000,
        )
            .prop_map(
                |(
                    age,
                    months,
                    income,
                    debt,
                    installment,
                    bureau,
                    defaults,
                    inquiries,
                    assets,
                    amount,
                )| Applicant {
                    age_years: age,
                    employment: Employment::Employed,
                    months_employed: months,
                    monthly_income: rub(income),
                    monthly_debt_payments: rub(debt),
                    new_installment: rub(installment),
                    bureau_score: bureau,
                    defaults_12m: defaults,
                    inquiries_12m: inquiries,
                    owned_assets: rub(assets),
                    amount: rub(amount),
                },
            )
    }

    proptest! {
        #[test]
        fn a_better_input_never_lowers_the_score(a in applicants(), by in 1_i64..100_000, n in 1_u32..50) {
            let base = score(&a, &Policy::default()).score;
            let better = [
                Applicant { monthly_income: rub(a.monthly_income.minor() / 100 + by), ..a },
                Applicant { monthly_debt_payments: rub((a.monthly_debt_payments.minor() / 100 - by).max(0)), ..a },
                Applicant { bureau_score: (a.bureau_score + n).min(1000), ..a },
                Applicant { months_employed: a.months_employed + n, ..a },
                Applicant { defaults_12m: a.defaults_12m.saturating_sub(n), ..a },
                Applicant { inquiries_12m: a.inquiries_12m.saturating_sub(n), ..a },
                Applicant { owned_assets: rub(a.owned_assets.minor() / 100 + by), ..a },
                Applicant { amount: rub((a.amount.minor() / 100 - by).max(1)), ..a },
            ];
            for (i, b) in better.iter().enumerate() {
                prop_assert!(score(b, &Policy::default()).score >= base, "change {} lowered the score", i);
            }
        }

        #[test]
        fn scores_stay_within_0_to_1000(a in applicants()) {
            let card = score(&a, &Policy::default());
            prop_assert!(card.score <= MAX_SCORE);
            prop_assert_eq!(card.grade, Grade::for_score(card.score));
        }
    }
}
