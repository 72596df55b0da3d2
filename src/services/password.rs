//! argon2id hashing, off the async executor (a hash takes tens of
//! milliseconds and 19 MiB), a few at a time: one per core, at most
//! [`MAX_HASHING_AT_ONCE`]; the rest queue. Sign-ins in a burst then cost
//! the memory of that many hashes, not of one per request.

use std::sync::LazyLock;

use anyhow::Context;
use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use tokio::sync::Semaphore;

/// A valid hash of a random password, verified against when the email is
/// unknown so that a wrong email costs as much time as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$gZiV/M1gPc22ElAH/Jh1Hw$CWOrkoo7oJBQ/iyh7uJ0LO2aLEfrHwTWllSAxT0zRno";

/// The most hashes computed at once, whatever the number of cores.
pub const MAX_HASHING_AT_ONCE: usize = 4;

static HASHING_SLOTS: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    Semaphore::new(cores.min(MAX_HASHING_AT_ONCE))
});

/// Runs `work` on the blocking pool once a hashing slot is free.
async fn in_hashing_slot<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let _slot = HASHING_SLOTS
        .acquire()
        .await
        .context("the hashing slots are closed")?;
    tokio::task::spawn_blocking(work)
        .await
        .context("the hashing task failed")
}

/// Hashes with argon2id and the library's defaults (m=19 MiB, t=2, p=1: OWASP's minimum).
///
/// # Errors
/// When hashing fails (out of memory) or the worker thread panics.
pub async fn hash(password: String) -> anyhow::Result<String> {
    in_hashing_slot(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| anyhow::anyhow!("argon2 hashing failed: {err}"))
    })
    .await?
}

/// Checks a password against a stored hash, or against a dummy hash when
/// there is no account, so timing does not reveal which emails exist.
///
/// # Errors
/// When the stored hash is unreadable or the worker thread panics.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    in_hashing_slot(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&stored)
            .map_err(|err| anyhow::anyhow!("stored password hash is unreadable: {err}"))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await?
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_there_are_slots() {
        use std::sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        };
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(in_hashing_slot(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let slots = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(MAX_HASHING_AT_ONCE);
        assert!(most.load(Ordering::SeqCst) <= slots);
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify("anything at all".into(), None).await.unwrap());
    }
}
