//! An investor's profile: the tax id (a Russian individual's INN, checked
//! digit by digit), the qualified-investor declaration, and the nominees who
//! would receive the portfolio, with shares that add up to 100 %.

use std::fmt;

/// A person's taxpayer number (INN): 12 digits, the last two check digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxId(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TaxIdError {
    #[error("Enter your taxpayer number (INN).")]
    Empty,
    #[error("A personal INN has 12 digits.")]
    Format,
    #[error("This INN's check digits do not match: check it for a typing mistake.")]
    Checksum,
}

/// The weights of the INN's two check digits (11th and 12th).
const WEIGHTS_11: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const WEIGHTS_12: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

fn check_digit(digits: &[u32], weights: &[u32]) -> u32 {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    sum % 11 % 10
}

impl TaxId {
    /// Accepts 12 digits, ignoring spaces, with valid check digits.
    ///
    /// # Errors
    /// [`TaxIdError`] naming what is wrong.
    pub fn parse(input: &str) -> Result<Self, TaxIdError> {
        let compact: String = input.chars().filter(|c| *c != ' ').collect();
        if compact.is_empty() {
            return Err(TaxIdError::Empty);
        }
        if compact.len() != 12 || !compact.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TaxIdError::Format);
        }
        let digits: Vec<u32> = compact.bytes().map(|b| u32::from(b - b'0')).collect();
        if check_digit(&digits[..10], &WEIGHTS_11) != digits[10]
            || check_digit(&digits[..11], &WEIGHTS_12) != digits[11]
        {
            return Err(TaxIdError::Checksum);
        }
        Ok(Self(compact))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

word_enum!(
    /// How a nominee is related to the investor.
    Kinship {
        Spouse => "spouse", "Spouse";
        Child => "child", "Child";
        Parent => "parent", "Parent";
        Sibling => "sibling", "Brother or sister";
        Other => "other", "Someone else";
    }
);

/// Someone named to receive a share of the portfolio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nominee {
    pub name: String,
    pub relation: Kinship,
    /// Whole percent, 1 to 100.
    pub share_pct: u32,
}

/// The most nominees one investor names.
pub const MAX_NOMINEES: usize = 10;

/// What an investor declares about themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvestorProfile {
    pub tax_id: TaxId,
    pub qualified: bool,
    pub nominees: Vec<Nominee>,
}

/// A rule the nominees break: the form field and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NomineeProblem {
    pub field: String,
    pub message: String,
}

impl InvestorProfile {
    /// The nominees' rules; empty when they hold. No nominees is fine.
    #[must_use]
    pub fn problems(&self) -> Vec<NomineeProblem> {
        let mut problems = Vec::new();
        if self.nominees.len() > MAX_NOMINEES {
            problems.push(NomineeProblem {
                field: "nominees".to_owned(),
                message: format!("Name at most {MAX_NOMINEES} nominees."),
            });
        }
        for (i, nominee) in self.nominees.iter().enumerate() {
            if !(1..=100).contains(&nominee.share_pct) {
                problems.push(NomineeProblem {
                    field: format!("nominee_share_pct_{i}"),
                    message: "Enter a share from 1 to 100 %.".to_owned(),
                });
            }
        }
        let total: u32 = self.nominees.iter().map(|n| n.share_pct).sum();
        if !self.nominees.is_empty() && total != 100 {
            problems.push(NomineeProblem {
                field: "nominees".to_owned(),
                message: format!(
                    "The nominees' shares add up to {total} %; they must add up to 100 %."
                ),
            });
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_ids_are_checked_digit_by_digit() {
        // A valid personal INN (check digits 5 and 9).
        assert_eq!(
            TaxId::parse("500100732259").unwrap().as_str(),
            "500100732259"
        );
        assert_eq!(
            TaxId::parse(" 5001 0073 2259 ").unwrap().as_str(),
            "500100732259"
        );
        assert_eq!(TaxId::parse(""), Err(TaxIdError::Empty));
        assert_eq!(
            TaxId::parse("7707083893"),
            Err(TaxIdError::Format),
            "a company's 10 digits"
        );
        assert_eq!(TaxId::parse("50010073225x"), Err(TaxIdError::Format));
        assert_eq!(TaxId::parse("500100732258"), Err(TaxIdError::Checksum));
        assert_eq!(TaxId::parse("500100732269"), Err(TaxIdError::Checksum));
        assert_eq!(
            TaxId::parse("５００１００７３２２５９"),
            Err(TaxIdError::Format)
        );
    }

    fn nominee(share_pct: u32) -> Nominee {
        Nominee {
            name: "Анна Петрова".to_owned(),
            relation: Kinship::Spouse,
            share_pct,
        }
    }

    fn profile(nominees: Vec<Nominee>) -> InvestorProfile {
        InvestorProfile {
            tax_id: TaxId::parse("500100732259").unwrap(),
            qualified: false,
            nominees,
        }
    }

    #[test]
    fn nominee_shares_add_up_to_a_hundred() {
        assert!(profile(vec![]).problems().is_empty());
        assert!(
            profile(vec![nominee(60), nominee(40)])
                .problems()
                .is_empty()
        );
        let problems = profile(vec![nominee(60), nominee(30)]).problems();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "nominees");
        assert!(problems[0].message.contains("add up to 90 %"));
        let problems = profile(vec![nominee(0), nominee(100)]).problems();
        assert_eq!(problems[0].field, "nominee_share_pct_0");
        assert_eq!(
            profile(vec![nominee(10); 11]).problems()[0].message,
            "Name at most 10 nominees."
        );
    }
}
