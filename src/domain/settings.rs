//! Platform settings: the limits and prices admins tune at run time, with the
//! defaults DESIGN.md gives. Stored as text under stable keys in
//! `platform_settings` (the keys double as the settings form's field names,
//! e.g. `loan_max_amount`, `grade_B_max_rate`); this module is the one place
//! that knows each key's meaning, its default, how it is written and what
//! values are sensible.

use rust_decimal::Decimal;

use crate::domain::{
    money::{Currency, Money, Rate},
    schedule::MAX_TERM_MONTHS,
    scoring::{Grade, GradeBand, Policy},
    secondary::{Markup, MarkupBand},
};

/// Everything tunable, typed. Amounts are in roubles (the platform's
/// currency until multi-currency loans arrive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub min_loan_amount: Money,
    pub max_loan_amount: Money,
    /// The terms a borrower may choose, in months, ascending.
    pub loan_terms: Vec<u32>,
    /// How long a listed loan stays open for investment.
    pub funding_days: u32,
    pub policy: Policy,
    /// One band per grade, A first.
    pub bands: Vec<GradeBand>,
    /// Taken from every repayment before it is split among investors.
    pub servicing_fee: Rate,
    /// Kept from the loan at disbursement for the reserve fund.
    pub reserve_contribution: Rate,
    /// Charged to the borrower at disbursement.
    pub origination_fee: Rate,
    pub min_investment: Money,
    /// What an unqualified investor may invest per calendar year (259-FZ).
    pub unqualified_annual_limit: Money,
    /// Whether borrowers and investors must pass the identity check first.
    pub kyc_required: bool,
    /// Whether a fully funded loan is paid out at once, or waits for staff.
    pub disbursement_automatic: bool,
    /// The markups a secondary-market listing may have.
    pub secondary_band: MarkupBand,
    /// Kept from a secondary-market sale's price, paid by the seller.
    pub secondary_fee: Rate,
    /// Whether a loan is offered whole to the auto-invest rules when it is
    /// listed, and funded at once if they cover all of it (otherwise it is
    /// listed as usual).
    pub auto_invest_instant: bool,
    /// The most one user may withdraw to their bank accounts in a calendar
    /// day (UTC).
    pub daily_withdrawal_limit: Money,
    /// How many days before an installment's due date the borrower is
    /// reminded (0: no reminders).
    pub reminder_days: u32,
    /// Penalty interest per day on an overdue installment's unpaid amount.
    pub penalty_daily: Rate,
    /// The most penalty interest one installment can accrue, as a share of
    /// its scheduled amount.
    pub penalty_cap: Rate,
    /// Charged once on an installment the day after it went unpaid.
    pub late_fee: Money,
    /// Days an installment may stay overdue before the loan defaults.
    pub default_after_days: u32,
}

/// The settings that are yes/no (a checkbox on the settings form).
pub const SWITCHES: [&str; 3] = [
    "kyc_required",
    "disbursement_automatic",
    "auto_invest_instant",
];

fn rub(roubles: i64) -> Money {
    Money::from_minor(roubles * 100, Currency::Rub).unwrap_or_else(|_| Money::zero(Currency::Rub))
}

/// A default rate; every default is well under 100 %.
fn rate(bps: u32) -> Rate {
    Rate::from_bps(bps).unwrap_or(Rate::ZERO)
}

impl Default for Settings {
    fn default() -> Self {
        let band = |grade, min, max, amount, term| GradeBand {
            grade,
            min_rate: rate(min),
            max_rate: rate(max),
            max_amount: rub(amount),
            max_term_months: term,
        };
        Self {
            min_loan_amount: rub(10_000),
            max_loan_amount: rub(3_000_000),
            loan_terms: vec![3, 6, 9, 12, 18, 24, 36, 48, 60],
            funding_days: 14,
            policy: Policy::default(),
            bands: vec![
                band(Grade::A, 1_200, 1_600, 3_000_000, 60),
                band(Grade::B, 1_600, 2_000, 2_000_000, 48),
                band(Grade::C, 2_000, 2_600, 1_000_000, 36),
                band(Grade::D, 2_600, 3_200, 500_000, 24),
                band(Grade::E, 3_200, 4_000, 250_000, 12),
                band(Grade::F, 4_000, 5_000, 100_000, 6),
            ],
            servicing_fee: rate(100),
            reserve_contribution: rate(200),
            origination_fee: rate(100),
            min_investment: rub(1_000),
            unqualified_annual_limit: rub(600_000),
            kyc_required: true,
            disbursement_automatic: true,
            auto_invest_instant: false,
            secondary_band: MarkupBand::default(),
            secondary_fee: rate(100),
            daily_withdrawal_limit: rub(1_000_000),
            reminder_days: 3,
            penalty_daily: rate(10),
            penalty_cap: rate(2_000),
            late_fee: rub(300),
            default_after_days: 90,
        }
    }
}

/// A value that does not fit its setting, for the field named `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub key: String,
    pub message: String,
}

impl SettingError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

const GRADE_FIELDS: [&str; 4] = ["min_rate", "max_rate", "max_amount", "max_term"];

impl Settings {
    /// Every key with its current value as stored: the keys are the public
    /// names (and the form's field names).
    #[must_use]
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let money = |m: Money| m.amount().to_string();
        let percent = |r: Rate| r.percent().normalize().to_string();
        let markup = |m: Markup| Decimal::new(i64::from(m.bps()), 2).normalize().to_string();
        let mut pairs = vec![
            ("loan_min_amount".to_owned(), money(self.min_loan_amount)),
            ("loan_max_amount".to_owned(), money(self.max_loan_amount)),
            (
                "loan_terms".to_owned(),
                self.loan_terms
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("funding_days".to_owned(), self.funding_days.to_string()),
            (
                "scoring_min_age".to_owned(),
                self.policy.min_age.to_string(),
            ),
            (
                "scoring_max_dti_percent".to_owned(),
                (self.policy.max_dti_bps / 100).to_string(),
            ),
            (
                "scoring_max_defaults_12m".to_owned(),
                self.policy.max_defaults_12m.to_string(),
            ),
        ];
        for band in &self.bands {
            let g = band.grade.as_str();
            pairs.push((format!("grade_{g}_min_rate"), percent(band.min_rate)));
            pairs.push((format!("grade_{g}_max_rate"), percent(band.max_rate)));
            pairs.push((format!("grade_{g}_max_amount"), money(band.max_amount)));
            pairs.push((
                format!("grade_{g}_max_term"),
                band.max_term_months.to_string(),
            ));
        }
        pairs.extend([
            (
                "fees_servicing_percent".to_owned(),
                percent(self.servicing_fee),
            ),
            (
                "fees_origination_percent".to_owned(),
                percent(self.origination_fee),
            ),
            (
                "reserve_contribution_percent".to_owned(),
                percent(self.reserve_contribution),
            ),
            ("invest_min_amount".to_owned(), money(self.min_investment)),
            (
                "invest_unqualified_annual_limit".to_owned(),
                money(self.unqualified_annual_limit),
            ),
            (
                "wallet_daily_withdrawal_limit".to_owned(),
                money(self.daily_withdrawal_limit),
            ),
            (
                "servicing_reminder_days".to_owned(),
                self.reminder_days.to_string(),
            ),
            (
                "servicing_penalty_daily_percent".to_owned(),
                percent(self.penalty_daily),
            ),
            (
                "servicing_penalty_cap_percent".to_owned(),
                percent(self.penalty_cap),
            ),
            ("servicing_late_fee".to_owned(), money(self.late_fee)),
            (
                "servicing_default_after_days".to_owned(),
                self.default_after_days.to_string(),
            ),
            ("kyc_required".to_owned(), self.kyc_required.to_string()),
            (
                "disbursement_automatic".to_owned(),
                self.disbursement_automatic.to_string(),
            ),
            (
                "auto_invest_instant".to_owned(),
                self.auto_invest_instant.to_string(),
            ),
            (
                "secondary_markup_min_percent".to_owned(),
                markup(self.secondary_band.min),
            ),
            (
                "secondary_markup_max_percent".to_owned(),
                markup(self.secondary_band.max),
            ),
            (
                "secondary_fee_percent".to_owned(),
                percent(self.secondary_fee),
            ),
        ]);
        pairs
    }

    /// Sets one key from text as an admin typed it or as it was stored.
    ///
    /// # Errors
    /// A message for the field when the key is unknown or the value does not parse.
    pub fn apply(&mut self, key: &str, value: &str) -> Result<(), SettingError> {
        let err = |message: &str| SettingError::new(key, message);
        let money = || {
            Money::parse(value, Currency::Rub).map_err(|e| SettingError::new(key, e.to_string()))
        };
        let percent = || {
            Rate::parse_percent(value)
                .map_err(|_| err("Enter a percentage from 0 to 100, like 12.5."))
        };
        let count = |max: u32| {
            value
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| {
                    SettingError::new(key, format!("Enter a whole number from 0 to {max}."))
                })
        };
        match key {
            "loan_min_amount" => self.min_loan_amount = money()?,
            "loan_max_amount" => self.max_loan_amount = money()?,
            "loan_terms" => self.loan_terms = parse_terms(value).ok_or_else(|| {
                err("List terms in months between 1 and 360, separated by commas, like 6, 12, 24.")
            })?,
            "funding_days" => self.funding_days = count(365)?,
            "scoring_min_age" => self.policy.min_age = count(120)?,
            "scoring_max_dti_percent" => self.policy.max_dti_bps = count(100)? * 100,
            "scoring_max_defaults_12m" => self.policy.max_defaults_12m = count(100)?,
            "fees_servicing_percent" => self.servicing_fee = percent()?,
            "fees_origination_percent" => self.origination_fee = percent()?,
            "reserve_contribution_percent" => self.reserve_contribution = percent()?,
            "invest_min_amount" => self.min_investment = money()?,
            "invest_unqualified_annual_limit" => self.unqualified_annual_limit = money()?,
            "wallet_daily_withdrawal_limit" => self.daily_withdrawal_limit = money()?,
            "servicing_reminder_days" => self.reminder_days = count(60)?,
            "servicing_penalty_daily_percent" => self.penalty_daily = percent()?,
            "servicing_penalty_cap_percent" => self.penalty_cap = percent()?,
            "servicing_late_fee" => self.late_fee = money()?,
            "servicing_default_after_days" => self.default_after_days = count(3_650)?,
            "secondary_markup_min_percent" | "secondary_markup_max_percent" => {
                let markup = Markup::parse_percent(value)
                    .map_err(|_| err("Enter a percentage, like -20 or 5."))?;
                if key == "secondary_markup_min_percent" {
                    self.secondary_band.min = markup;
                } else {
                    self.secondary_band.max = markup;
                }
            }
            "secondary_fee_percent" => self.secondary_fee = percent()?,
            "kyc_required" | "disbursement_automatic" | "auto_invest_instant" => {
                let on = match value.trim() {
                    "true" | "on" => true,
                    "false" | "off" | "" => false,
                    _ => return Err(err("Choose yes or no.")),
                };
                match key {
                    "kyc_required" => self.kyc_required = on,
                    "disbursement_automatic" => self.disbursement_automatic = on,
                    _ => self.auto_invest_instant = on,
                }
            }
            _ => {
                let Some((grade, field)) = key
                    .strip_prefix("grade_")
                    .and_then(|rest| rest.split_once('_'))
                    .and_then(|(g, f)| Some((Grade::parse(g)?, f)))
                    .filter(|(_, f)| GRADE_FIELDS.contains(f))
                else {
                    return Err(err("There is no such setting."));
                };
                let Some(band) = self.bands.iter_mut().find(|b| b.grade == grade) else {
                    return Err(err("There is no such grade."));
                };
                match field {
                    "min_rate" => band.min_rate = percent()?,
                    "max_rate" => band.max_rate = percent()?,
                    "max_amount" => band.max_amount = money()?,
                    _ => band.max_term_months = count(MAX_TERM_MONTHS)?,
                }
            }
        }
        Ok(())
    }

    /// The defaults overridden by what is stored. A stored value that no
    /// longer parses keeps the default and is reported, never fatal.
    #[must_use]
    pub fn from_stored<'a>(
        stored: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (Self, Vec<SettingError>) {
        let mut settings = Self::default();
        let problems = stored
            .into_iter()
            .filter_map(|(key, value)| settings.apply(key, value).err())
            .collect();
        (settings, problems)
    }

    /// Rules across settings, checked before an edit is saved.
    ///
    /// # Errors
    /// One message per broken rule, on the field to change.
    pub fn validate(&self) -> Result<(), Vec<SettingError>> {
        let mut errors = Vec::new();
        if !self.min_loan_amount.is_positive() {
            errors.push(SettingError::new(
                "loan_min_amount",
                "The smallest loan must be more than zero.",
            ));
        }
        if self.max_loan_amount.minor() < self.min_loan_amount.minor() {
            errors.push(SettingError::new(
                "loan_max_amount",
                "The largest loan cannot be smaller than the smallest.",
            ));
        }
        if self.funding_days == 0 {
            errors.push(SettingError::new(
                "funding_days",
                "Give investors at least one day.",
            ));
        }
        if self.secondary_band.min.bps() > 0
            || self.secondary_band.max.bps() < 0
            || self.secondary_band.min.bps() <= -10_000
        {
            errors.push(SettingError::new(
                "secondary_markup_min_percent",
                "The band must include 0 %: a discount (above -100 %) up to a premium.",
            ));
        }
        if !self.min_investment.is_positive() {
            errors.push(SettingError::new(
                "invest_min_amount",
                "The smallest investment must be more than zero.",
            ));
        }
        if !self.daily_withdrawal_limit.is_positive() {
            errors.push(SettingError::new(
                "wallet_daily_withdrawal_limit",
                "The daily withdrawal limit must be more than zero.",
            ));
        }
        if self.default_after_days == 0 {
            errors.push(SettingError::new(
                "servicing_default_after_days",
                "Give a borrower at least one day before the loan defaults.",
            ));
        }
        let mut previous: Option<&GradeBand> = None;
        for band in &self.bands {
            let g = band.grade.as_str();
            if band.min_rate.bps() > band.max_rate.bps() {
                errors.push(SettingError::new(
                    format!("grade_{g}_min_rate"),
                    format!("Grade {g}'s lowest rate is above its highest."),
                ));
            }
            if band.max_amount.minor() > self.max_loan_amount.minor() {
                errors.push(SettingError::new(
                    format!("grade_{g}_max_amount"),
                    format!("Grade {g} cannot lend more than the largest loan."),
                ));
            }
            if band.max_term_months == 0
                || !self.loan_terms.iter().any(|t| *t <= band.max_term_months)
            {
                errors.push(SettingError::new(
                    format!("grade_{g}_max_term"),
                    format!("Grade {g}'s longest term must allow at least one of the loan terms."),
                ));
            }
            if let Some(better) = previous
                && better.max_rate.bps() > band.max_rate.bps()
            {
                errors.push(SettingError::new(
                    format!("grade_{g}_max_rate"),
                    format!("Grade {g} cannot be cheaper than grade {}.", better.grade),
                ));
            }
            previous = Some(band);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The band of `grade`.
    #[must_use]
    pub fn band(&self, grade: Grade) -> Option<&GradeBand> {
        self.bands.iter().find(|band| band.grade == grade)
    }
}

/// "6, 12,24" → [6, 12, 24]: distinct, ascending, each 1..=360.
fn parse_terms(text: &str) -> Option<Vec<u32>> {
    let mut terms = text
        .split(',')
        .map(|part| {
            part.trim()
                .parse::<u32>()
                .ok()
                .filter(|t| (1..=MAX_TERM_MONTHS).contains(t))
        })
        .collect::<Option<Vec<u32>>>()?;
    terms.sort_unstable();
    terms.dedup();
    (!terms.is_empty()).then_some(terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_hold_their_own_rules_and_round_trip_through_text() {
        let defaults = Settings::default();
        assert_eq!(defaults.validate(), Ok(()));
        let pairs = defaults.to_pairs();
        assert_eq!(pairs.len(), 7 + 6 * 4 + 17);
        let (read, problems) =
            Settings::from_stored(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(read, defaults);
        assert_eq!(defaults.band(Grade::C).unwrap().max_term_months, 36);
        assert_eq!(defaults.min_investment.minor(), 100_000);
        assert_eq!(defaults.servicing_fee.bps(), 100);
    }

    #[test]
    fn stored_values_override_defaults_and_bad_ones_are_reported_not_fatal() {
        let stored = [
            ("loan_max_amount", "2 000 000"),
            ("grade_B_max_rate", "21.5"),
            ("loan_terms", "24, 6,12, 6"),
            ("funding_days", "ten"),
            ("no_such_key", "1"),
        ];
        let (settings, problems) = Settings::from_stored(stored);
        assert_eq!(settings.max_loan_amount.minor(), 200_000_000);
        assert_eq!(settings.band(Grade::B).unwrap().max_rate.bps(), 2_150);
        assert_eq!(settings.loan_terms, [6, 12, 24]);
        assert_eq!(settings.funding_days, 14, "the default stays");
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["funding_days", "no_such_key"]);
    }

    #[test]
    fn each_kind_of_value_is_checked_with_a_message() {
        let mut s = Settings::default();
        for (key, value, message) in [
            ("loan_min_amount", "-5", "cannot be negative"),
            ("loan_terms", "0, 12", "between 1 and 360"),
            ("loan_terms", "", "between 1 and 360"),
            ("scoring_max_dti_percent", "120", "from 0 to 100"),
            ("grade_A_min_rate", "abc", "percentage"),
            ("grade_G_min_rate", "10", "no such setting"),
            ("grade_A_colour", "10", "no such setting"),
            ("grade_A_max_term", "361", "from 0 to 360"),
            ("kyc_required", "maybe", "yes or no"),
        ] {
            let err = s.apply(key, value).unwrap_err();
            assert_eq!(err.key, key);
            assert!(
                err.message.contains(message),
                "{key}={value}: {}",
                err.message
            );
        }
        assert_eq!(s, Settings::default(), "a refused value changes nothing");
    }

    #[test]
    fn rules_across_settings_name_the_field_to_change() {
        let broken = |key: &str, value: &str| {
            let mut s = Settings::default();
            s.apply(key, value).unwrap();
            s.validate()
                .unwrap_err()
                .into_iter()
                .map(|e| e.key)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            broken("loan_max_amount", "5000"),
            [
                "loan_max_amount",
                "grade_A_max_amount",
                "grade_B_max_amount",
                "grade_C_max_amount",
                "grade_D_max_amount",
                "grade_E_max_amount",
                "grade_F_max_amount",
            ]
        );
        assert_eq!(broken("grade_C_min_rate", "30"), ["grade_C_min_rate"]);
        assert_eq!(broken("grade_B_max_rate", "30"), ["grade_C_max_rate"]);
        assert_eq!(broken("grade_F_max_term", "2"), ["grade_F_max_term"]);
        assert_eq!(broken("funding_days", "0"), ["funding_days"]);
        assert_eq!(broken("loan_min_amount", "0"), ["loan_min_amount"]);
        assert_eq!(
            broken("wallet_daily_withdrawal_limit", "0"),
            ["wallet_daily_withdrawal_limit"]
        );
    }
}
