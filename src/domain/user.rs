//! Accounts: emails, names, roles, KYC status and the password policy.

use std::fmt;

use crate::domain::ids::UserId;

/// An email address, trimmed and lowercased so that lookups are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter your email address.")]
    Empty,
    #[error("Email addresses are at most 254 characters.")]
    TooLong,
    #[error("Enter an email address like name@example.com.")]
    Malformed,
}

impl Email {
    /// # Errors
    /// When the input is empty, too long or not shaped like an address.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.len() > 254 {
            return Err(EmailError::TooLong);
        }
        if !validator::ValidateEmail::validate_email(&email) {
            return Err(EmailError::Malformed);
        }
        Ok(Self(email))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's full name as they want it shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonNameError {
    #[error("Enter your full name.")]
    Empty,
    #[error("Names are at most 100 characters.")]
    TooLong,
    #[error("Names cannot contain control characters or < > \" characters.")]
    ForbiddenCharacters,
}

impl PersonName {
    /// # Errors
    /// When the name is empty, too long, or contains characters no name has.
    pub fn parse(raw: &str) -> Result<Self, PersonNameError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(PersonNameError::Empty);
        }
        if name.chars().count() > 100 {
            return Err(PersonNameError::TooLong);
        }
        if name
            .chars()
            .any(|c| c.is_control() || matches!(c, '<' | '>' | '"' | '\\' | '{' | '}'))
        {
            return Err(PersonNameError::ForbiddenCharacters);
        }
        Ok(Self(name.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An account as the use cases see it (`db::repo::users` builds it from
/// the stored row): who they are, what they may do, where their identity
/// check stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub full_name: String,
    pub role: Role,
    pub kyc_status: KycStatus,
}

/// What an account may do. One account, one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Borrower,
    Investor,
    Staff,
    Admin,
}

impl Role {
    pub const ALL: [Self; 4] = [Self::Borrower, Self::Investor, Self::Staff, Self::Admin];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Borrower => "borrower",
            Self::Investor => "investor",
            Self::Staff => "staff",
            Self::Admin => "admin",
        }
    }

    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == raw)
    }

    /// Roles people may pick when they sign up themselves.
    #[must_use]
    pub fn is_self_registrable(self) -> bool {
        matches!(self, Self::Borrower | Self::Investor)
    }

    /// Staff and admins work in the back office.
    #[must_use]
    pub fn is_staff(self) -> bool {
        matches!(self, Self::Staff | Self::Admin)
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Borrower => "Borrower",
            Self::Investor => "Investor",
            Self::Staff => "Staff",
            Self::Admin => "Administrator",
        }
    }

    /// The page a user of this role lands on after signing in.
    #[must_use]
    pub fn home_path(self) -> &'static str {
        match self {
            Self::Borrower => "/borrower",
            Self::Investor => "/investor",
            Self::Staff | Self::Admin => "/admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Know-your-customer review state, set by staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KycStatus {
    None,
    Pending,
    Verified,
    Rejected,
}

impl KycStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Rejected => "rejected",
        }
    }

    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::None, Self::Pending, Self::Verified, Self::Rejected]
            .into_iter()
            .find(|status| status.as_str() == raw)
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "Not submitted",
            Self::Pending => "Under review",
            Self::Verified => "Verified",
            Self::Rejected => "Rejected",
        }
    }
}

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Passwords so common that attackers try them first (ASVS 2.1.7). Only ones
/// long enough to pass the length rule need listing.
const COMMON_PASSWORDS: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456123456",
    "111111111111",
    "000000000000",
    "qwertyuiopasdfgh",
    "qwertyuiop123",
    "qwerty123456",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "iloveyou1234",
    "letmein12345",
    "welcome12345",
    "administrator",
    "changeme1234",
    "trustno1trustno1",
    "superman1234",
    "abcdefghijkl",
    "abc123abc123",
    "aaaaaaaaaaaa",
    "crowdlend123",
    "crowdlend2026",
];

/// A new password that satisfies the policy. It never leaves the process except
/// as an argon2id hash, and never appears in `Debug` output.
#[derive(Clone)]
pub struct NewPassword(String);

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Use at least {MIN_PASSWORD_CHARS} characters.")]
    TooShort,
    #[error("Use at most {MAX_PASSWORD_CHARS} characters.")]
    TooLong,
    #[error("This password is too common; choose one that is harder to guess.")]
    TooCommon,
    #[error("The password must not contain your email address.")]
    ContainsEmail,
}

impl NewPassword {
    /// Checks the policy: 12 to 128 characters (any Unicode, counted as
    /// characters, never truncated), not a well-known password, not the email.
    ///
    /// # Errors
    /// The first rule the password breaks.
    pub fn parse(raw: &str, email: Option<&Email>) -> Result<Self, PasswordError> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(PasswordError::TooLong);
        }
        let lowered = raw.to_lowercase();
        if COMMON_PASSWORDS.contains(&lowered.as_str())
            || lowered.chars().all(|c| lowered.starts_with(c))
        {
            return Err(PasswordError::TooCommon);
        }
        if let Some(email) = email {
            let local = email.as_str().split('@').next().unwrap_or_default();
            if local.len() >= 4 && lowered.contains(local) {
                return Err(PasswordError::ContainsEmail);
            }
        }
        Ok(Self(raw.to_owned()))
    }

    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse("  Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        assert_eq!(Email::parse(""), Err(EmailError::Empty));
        assert_eq!(Email::parse("no-at-sign"), Err(EmailError::Malformed));
        assert_eq!(Email::parse("a@"), Err(EmailError::Malformed));
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn names_refuse_markup_and_control_characters() {
        assert_eq!(
            PersonName::parse(" Анна Петрова ").unwrap().as_str(),
            "Анна Петрова"
        );
        assert_eq!(PersonName::parse("   "), Err(PersonNameError::Empty));
        assert_eq!(
            PersonName::parse("<script>"),
            Err(PersonNameError::ForbiddenCharacters)
        );
        assert_eq!(
            PersonName::parse("a\nb"),
            Err(PersonNameError::ForbiddenCharacters)
        );
        assert_eq!(
            PersonName::parse(&"x".repeat(101)),
            Err(PersonNameError::TooLong)
        );
    }

    #[test]
    fn password_length_is_counted_in_characters_with_bounds_12_and_128() {
        assert_eq!(
            NewPassword::parse("short-pass1", None).unwrap_err(),
            PasswordError::TooShort
        );
        assert!(NewPassword::parse("correct-horse", None).is_ok());
        assert!(NewPassword::parse(&"ab".repeat(32), None).is_ok());
        assert!(NewPassword::parse(&"ab".repeat(64), None).is_ok());
        assert_eq!(
            NewPassword::parse(&"abc".repeat(43), None).unwrap_err(),
            PasswordError::TooLong
        );
        // Twelve Cyrillic letters are twelve characters, though 24 bytes.
        assert!(NewPassword::parse("пароль-вишня", None).is_ok());
    }

    #[test]
    fn common_passwords_and_the_email_are_refused() {
        assert_eq!(
            NewPassword::parse("Password1234", None).unwrap_err(),
            PasswordError::TooCommon
        );
        assert_eq!(
            NewPassword::parse("zzzzzzzzzzzzzz", None).unwrap_err(),
            PasswordError::TooCommon
        );
        let email = Email::parse("marina@example.com").unwrap();
        assert_eq!(
            NewPassword::parse("marina-is-great", Some(&email)).unwrap_err(),
            PasswordError::ContainsEmail
        );
    }

    #[test]
    fn roles_round_trip_and_only_borrowers_and_investors_self_register() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert!(Role::Borrower.is_self_registrable());
        assert!(!Role::Admin.is_self_registrable());
        assert!(!Role::Staff.is_self_registrable());
    }

    #[test]
    fn passwords_never_show_in_debug_output() {
        let password = NewPassword::parse("correct-horse-battery", None).unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
