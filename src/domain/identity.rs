//! The identity check (KYC): what a borrower or investor submits, the rules
//! each field follows, and how a submission and a staff decision move the
//! account's KYC status (`none|pending|verified|rejected`).

use chrono::{Datelike, NaiveDate};

use crate::domain::user::KycStatus;

/// The identity documents the platform accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentType {
    Passport,
    NationalId,
    DrivingLicence,
}

impl DocumentType {
    pub const ALL: [Self; 3] = [Self::Passport, Self::NationalId, Self::DrivingLicence];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passport => "passport",
            Self::NationalId => "national_id",
            Self::DrivingLicence => "driving_licence",
        }
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Passport => "Passport",
            Self::NationalId => "National identity card",
            Self::DrivingLicence => "Driving licence",
        }
    }

    /// # Errors
    /// `DocumentType` for anything but the stored names.
    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == raw.trim())
            .ok_or(IdentityError::DocumentType)
    }
}

/// Why a field of the identity form was not accepted (the message says what to do).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("Choose the kind of document: passport, national identity card or driving licence.")]
    DocumentType,
    #[error(
        "Enter the document number as printed: 4 to 30 letters and digits (spaces and hyphens are fine)."
    )]
    DocumentNumber,
    #[error("Enter the date the document was issued, like 2020-03-31.")]
    IssuedOnMalformed,
    #[error("The issue date cannot be in the future.")]
    IssuedInFuture,
    #[error("Check the issue date: it is more than 100 years ago.")]
    IssuedTooLongAgo,
    #[error("Enter your full home address: 10 to 300 characters.")]
    Address,
}

/// The longest document number accepted, in characters.
pub const MAX_DOCUMENT_NUMBER_CHARS: usize = 30;
/// The longest address accepted, in characters.
pub const MAX_ADDRESS_CHARS: usize = 300;

/// A document number: letters and digits, stored in capitals with single
/// spaces, so "ab 12-34" and "AB  12-34" are the same document.
///
/// # Errors
/// `DocumentNumber` when it has fewer than 4 letters and digits, more than
/// 30 characters, or anything but letters, digits, spaces and hyphens.
pub fn parse_document_number(raw: &str) -> Result<String, IdentityError> {
    let number = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let significant = number.chars().filter(char::is_ascii_alphanumeric).count();
    let allowed = number
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-'));
    if !allowed || significant < 4 || number.chars().count() > MAX_DOCUMENT_NUMBER_CHARS {
        return Err(IdentityError::DocumentNumber);
    }
    Ok(number.to_ascii_uppercase())
}

/// The issue date (`YYYY-MM-DD`, as a date input sends it), no later than `today`.
///
/// # Errors
/// `IssuedOnMalformed`, `IssuedInFuture` or `IssuedTooLongAgo`.
pub fn parse_issued_on(raw: &str, today: NaiveDate) -> Result<NaiveDate, IdentityError> {
    let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| IdentityError::IssuedOnMalformed)?;
    if date > today {
        return Err(IdentityError::IssuedInFuture);
    }
    if today.year() - date.year() > 100 {
        return Err(IdentityError::IssuedTooLongAgo);
    }
    Ok(date)
}

/// A home address on one line, without control characters or markup.
///
/// # Errors
/// `Address` when shorter than 10 or longer than 300 characters, or with
/// characters no address has.
pub fn parse_address(raw: &str) -> Result<String, IdentityError> {
    let address = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let length = address.chars().count();
    if !(10..=MAX_ADDRESS_CHARS).contains(&length)
        || address
            .chars()
            .any(|c| c.is_control() || matches!(c, '<' | '>' | '{' | '}' | '\\'))
    {
        return Err(IdentityError::Address);
    }
    Ok(address)
}

/// A complete, checked identity submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityDocument {
    pub document_type: DocumentType,
    pub document_number: String,
    pub issued_on: NaiveDate,
    pub address: String,
}

/// The status after a user submits their details: anything submitted goes
/// to review, except resubmitting exactly what is already verified or
/// already waiting for review, which changes nothing.
#[must_use]
pub fn status_after_submission(current: KycStatus, document_changed: bool) -> KycStatus {
    match current {
        KycStatus::Verified | KycStatus::Pending if !document_changed => current,
        _ => KycStatus::Pending,
    }
}

/// The longest reason a reviewer may give.
pub const MAX_REASON_CHARS: usize = 500;

/// A reviewer's decision on submitted details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KycReview {
    Verify,
    Reject { reason: String },
}

/// Why a review form was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KycReviewError {
    #[error("Choose whether to verify or reject.")]
    Decision,
    #[error("Say why the details are rejected: the person reads this reason.")]
    ReasonRequired,
    #[error("Keep the reason to 500 characters.")]
    ReasonTooLong,
    #[error("The reason cannot contain control characters.")]
    ReasonCharacters,
}

impl KycReview {
    /// `decision` is `verify` or `reject`; a rejection needs a reason (which a
    /// verification may also carry, and then ignores).
    ///
    /// # Errors
    /// A [`KycReviewError`]; `Decision` is about the `decision` field, the
    /// others about `reason`.
    pub fn parse(decision: &str, reason: &str) -> Result<Self, KycReviewError> {
        match decision.trim() {
            "verify" => Ok(Self::Verify),
            "reject" => {
                let reason = reason.trim();
                if reason.is_empty() {
                    return Err(KycReviewError::ReasonRequired);
                }
                if reason.chars().count() > MAX_REASON_CHARS {
                    return Err(KycReviewError::ReasonTooLong);
                }
                if reason
                    .chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
                {
                    return Err(KycReviewError::ReasonCharacters);
                }
                Ok(Self::Reject {
                    reason: reason.to_owned(),
                })
            }
            _ => Err(KycReviewError::Decision),
        }
    }

    /// The status the decision leads to.
    #[must_use]
    pub fn status(&self) -> KycStatus {
        match self {
            Self::Verify => KycStatus::Verified,
            Self::Reject { .. } => KycStatus::Rejected,
        }
    }

    #[must_use]
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Verify => None,
            Self::Reject { reason } => Some(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn document_numbers_are_normalised_and_checked() {
        assert_eq!(
            parse_document_number(" ab  12-34 56 ").unwrap(),
            "AB 12-34 56"
        );
        for bad in ["", "12", "1-2-3", "12<34>", "№ 1234", &"1".repeat(31)] {
            assert_eq!(
                parse_document_number(bad),
                Err(IdentityError::DocumentNumber),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_issue_date_is_a_real_day_not_in_the_future() {
        let today = day("2026-11-23");
        assert_eq!(parse_issued_on("2026-11-23", today), Ok(today));
        assert_eq!(
            parse_issued_on("2026-11-24", today),
            Err(IdentityError::IssuedInFuture)
        );
        assert_eq!(
            parse_issued_on("2026-02-30", today),
            Err(IdentityError::IssuedOnMalformed)
        );
        assert_eq!(
            parse_issued_on("23.11.2020", today),
            Err(IdentityError::IssuedOnMalformed)
        );
        assert_eq!(
            parse_issued_on("1900-01-01", today),
            Err(IdentityError::IssuedTooLongAgo)
        );
    }

    #[test]
    fn addresses_are_one_clean_line() {
        assert_eq!(
            parse_address("  12 Garden St,\n  Springfield ").unwrap(),
            "12 Garden St, Springfield"
        );
        for bad in [
            "short",
            "<script>alert(1)</script> street",
            &"a".repeat(301),
        ] {
            assert_eq!(parse_address(bad), Err(IdentityError::Address), "{bad}");
        }
    }

    #[test]
    fn submitting_sends_the_account_to_review_unless_nothing_changed() {
        let after = status_after_submission;
        assert_eq!(after(KycStatus::None, true), KycStatus::Pending);
        assert_eq!(after(KycStatus::Rejected, false), KycStatus::Pending);
        assert_eq!(after(KycStatus::Verified, true), KycStatus::Pending);
        assert_eq!(after(KycStatus::Verified, false), KycStatus::Verified);
        assert_eq!(after(KycStatus::Pending, false), KycStatus::Pending);
    }

    #[test]
    fn a_rejection_needs_a_short_reason() {
        assert_eq!(KycReview::parse("verify", ""), Ok(KycReview::Verify));
        assert_eq!(
            KycReview::parse("reject", "  "),
            Err(KycReviewError::ReasonRequired)
        );
        assert_eq!(
            KycReview::parse("reject", &"x".repeat(501)),
            Err(KycReviewError::ReasonTooLong)
        );
        assert_eq!(
            KycReview::parse("approve", "x"),
            Err(KycReviewError::Decision)
        );
        let review = KycReview::parse("reject", " Blurry scan ").unwrap();
        assert_eq!(review.reason(), Some("Blurry scan"));
        assert_eq!(review.status(), KycStatus::Rejected);
    }
}
