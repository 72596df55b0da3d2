//! argon2id hashing, off the async executor (a hash takes tens of milliseconds).

use anyhow::Context;
use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

/// A valid hash of a random password, verified against when the email is
/// unknown so that a wrong email costs as much time as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$gZiV/M1gPc22ElAH/Jh1Hw$CWOrkoo7oJBQ/iyh7uJ0LO2aLEfrHwTWllSAxT0zRno";

/// Hashes with argon2id and the library's defaults (m=19 MiB, t=2, p=1: OWASP's minimum).
///
/// # Errors
/// When hashing fails (out of memory) or the worker thread panics.
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| anyhow::anyhow!("argon2 hashing failed: {err}"))
    })
    .await
    .context("the hashing task failed")?
}

/// Checks a password against a stored hash, or against a dummy hash when
/// there is no account, so timing does not reveal which emails exist.
///
/// # Errors
/// When the stored hash is unreadable or the worker thread panics.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&stored)
            .map_err(|err| anyhow::anyhow!("stored password hash is unreadable: {err}"))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
    .context("the verification task failed")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let first = hash("correct-horse-battery".into()).await.unwrap();
        let second = hash("correct-horse-battery".into()).await.unwrap();
        assert!(first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_ne!(first, second, "each hash has its own salt");
        assert!(
            verify("correct-horse-battery".into(), Some(first.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("correct-horse-batter".into(), Some(first))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify("anything at all".into(), None).await.unwrap());
    }
}
