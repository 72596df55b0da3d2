//! What investors may learn about a borrower (DESIGN.md section 8): facts in
//! bands and totals, never a name or an exact figure that would identify
//! the person.

use chrono::NaiveDate;

use crate::domain::{
    application::{Profile, age_on},
    money::{Money, MoneyError},
    scoring::Employment,
};

/// Incomes are shown in bands this wide (in minor units: 50 000).
const INCOME_BAND_MINOR: i64 = 5_000_000;

/// A borrower as the marketplace describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosedBorrower {
    /// A decade of age, e.g. (30, 39).
    pub age_band: (u32, u32),
    pub employment: Employment,
    /// The band the monthly income falls in: [low, high).
    pub income_band: (Money, Money),
    pub debts: usize,
    /// What the debts cost a month together.
    pub debts_monthly: Money,
    pub assets: usize,
    /// What the assets are worth together, by the share owned.
    pub assets_value: Money,
}

/// What of `profile` may be shown to investors on `today`.
///
/// # Errors
/// `TooLarge` when a total leaves what money holds.
pub fn disclose(profile: &Profile, today: NaiveDate) -> Result<DisclosedBorrower, MoneyError> {
    let currency = profile.monthly_income.currency();
    let decade = age_on(profile.birth_date, today) / 10 * 10;
    let low = profile.monthly_income.minor() / INCOME_BAND_MINOR * INCOME_BAND_MINOR;
    let debts_monthly = profile
        .liabilities
        .iter()
        .try_fold(Money::zero(currency), |sum, l| {
            sum.checked_add(l.monthly_payment)
        })?;
    // The share owned, rounded down to the cent: never more than is owned.
    let assets_value = profile
        .assets
        .iter()
        .try_fold(Money::zero(currency), |sum, a| {
            let owned = a.value.minor() * i64::from(a.ownership_pct) / 100;
            sum.checked_add(Money::from_minor(owned, currency)?)
        })?;
    Ok(DisclosedBorrower {
        age_band: (decade, decade + 9),
        employment: profile.employment,
        income_band: (
            Money::from_minor(low, currency)?,
            Money::from_minor(low + INCOME_BAND_MINOR, currency)?,
        ),
        debts: profile.liabilities.len(),
        debts_monthly,
        assets: profile.assets.len(),
        assets_value,
    })
}
