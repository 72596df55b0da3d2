//! Settings from the environment (and an optional `.env`). Every variable is
//! read here and nowhere else; a bad value stops start-up with one line that
//! names the variable. `.env.example` documents each one.

use std::{
    fmt,
    net::SocketAddr,
    num::NonZeroUsize,
    path::{Path, PathBuf},
    time::Duration,
};

use rand::{Rng, distributions::Alphanumeric};
use sha2::{Digest, Sha256};
use url::Url;

/// Secrets shorter than this are refused: the cookie signing key is derived from it.
pub const MIN_SECRET_KEY_LEN: usize = 64;

#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind: SocketAddr,
    pub base_url: Url,
    pub data_dir: PathBuf,
    pub secret_key: SecretKey,
    /// Take the client address from `X-Forwarded-For` (only behind a reverse
    /// proxy that appends to it; otherwise anyone could spoof their address).
    pub trust_proxy_headers: bool,
    /// How many trusted proxies append to `X-Forwarded-For` in front of the
    /// app: the client is the entry this many places from the right (entries
    /// further left were written by the client). Used only with
    /// `trust_proxy_headers`.
    pub trusted_proxy_hops: NonZeroUsize,
    /// Where emails go: an SMTP server, or (when unset) `.eml` files under
    /// `DATA_DIR/mail`.
    pub smtp_url: Option<SmtpUrl>,
    /// The sender of every email, e.g. `Crowdlend <no-reply@example.com>`.
    pub mail_from: lettre::message::Mailbox,
    /// The longest one email may take to send, connecting and the whole SMTP
    /// conversation included; longer counts as a failed attempt.
    pub smtp_timeout: Duration,
    /// How many money-moving submissions one user may make in a window
    /// (`None`: no limit).
    pub money_rate_limit: Option<RateLimit>,
}

/// At most `requests` in any `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

impl RateLimit {
    /// Parses `5/10s` (five in ten seconds); `off` is no limit.
    ///
    /// # Errors
    /// A message for the operator when the text has another shape.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        let raw = raw.trim();
        if raw == "off" {
            return Ok(None);
        }
        let shape = || format!("`{raw}` is not a limit like 5/10s (five in ten seconds) or off");
        let (requests, seconds) = raw.split_once('/').ok_or_else(shape)?;
        let requests = requests
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(shape)?;
        let seconds = seconds
            .trim()
            .strip_suffix('s')
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|s| (1..=3600).contains(s))
            .ok_or_else(shape)?;
        Ok(Some(Self {
            requests,
            per: Duration::from_secs(seconds),
        }))
    }
}

/// Five money-moving submissions in ten seconds: more than any person makes.
pub const DEFAULT_MONEY_RATE_LIMIT: RateLimit = RateLimit {
    requests: 5,
    per: Duration::from_secs(10),
};

/// The longest `SMTP_TIMEOUT` allowed: an email's claim lasts
/// `services::outbox::CLAIM_TIMEOUT`, which must outlast any send.
pub const MAX_SMTP_TIMEOUT_SECS: u64 = 60;

/// A secret that never appears in `Debug` output or logs.
#[derive(Clone)]
pub struct SecretKey(String);

impl SecretKey {
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Key material for one purpose only (`"device cookies"`, `"anonymous
    /// csrf"`), so what is signed for one purpose is never accepted for another.
    #[must_use]
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        Sha256::new()
            .chain_update(b"crowdlend ")
            .chain_update(purpose.as_bytes())
            .chain_update(b"\0")
            .chain_update(self.0.as_bytes())
            .finalize()
            .into()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// An SMTP server in lettre's URL form (`smtp://user:pass@host:2525`,
/// `smtps://...`, `smtp://host:587?tls=required`); its password never
/// appears in `Debug` output or logs.
#[derive(Clone)]
pub struct SmtpUrl(Url);

impl SmtpUrl {
    /// The URL with its password, for the mail transport only.
    #[must_use]
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// The server's host name.
    #[must_use]
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpUrl({})", redact_url(self.0.as_str()))
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("base_url", &self.base_url.as_str())
            .field("data_dir", &self.data_dir)
            .field("secret_key", &self.secret_key)
            .field("trust_proxy_headers", &self.trust_proxy_headers)
            .field("trusted_proxy_hops", &self.trusted_proxy_hops)
            .field("smtp_url", &self.smtp_url)
            .field("mail_from", &self.mail_from.to_string())
            .field("smtp_timeout", &self.smtp_timeout)
            .field("money_rate_limit", &self.money_rate_limit)
            .finish()
    }
}

/// A configuration problem, shown to the operator as one line.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl ConfigError {
    fn new(var: &'static str, message: impl Into<String>) -> Self {
        Self {
            var,
            message: message.into(),
        }
    }
}

/// Whether a generated secret key was written during loading (the caller logs a warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKeySource {
    Environment,
    DataDir,
    Generated,
    /// Made up for this run only and written nowhere (a command that only reads).
    Ephemeral,
}

/// What loading does when `SECRET_KEY` is unset and `DATA_DIR` keeps none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingSecret {
    /// Generate one and keep it in `DATA_DIR/secret_key`, so cookies signed
    /// now are accepted after a restart (every command that serves or writes).
    GenerateAndKeep,
    /// Use a throw-away one and write nothing (commands that only read, like `verify`).
    Ephemeral,
}

impl Settings {
    /// Reads `.env` (if present) and the process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable with a bad value.
    pub fn from_env(missing_secret: MissingSecret) -> Result<(Self, SecretKeySource), ConfigError> {
        // A missing .env is normal; a malformed one is an operator error worth reporting.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(err) if err.not_found() => {}
            Err(err) => return Err(ConfigError::new(".env", err.to_string())),
        }
        Self::from_lookup_with(|name| std::env::var(name).ok(), missing_secret)
    }

    /// Builds settings from any variable source (tests pass a map),
    /// generating and keeping a secret key when none is set.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable with a bad value.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(Self, SecretKeySource), ConfigError> {
        Self::from_lookup_with(lookup, MissingSecret::GenerateAndKeep)
    }

    /// As [`Settings::from_lookup`], choosing what happens without a secret key.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable with a bad value.
    pub fn from_lookup_with(
        lookup: impl Fn(&str) -> Option<String>,
        missing_secret: MissingSecret,
    ) -> Result<(Self, SecretKeySource), ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "./data".to_owned()));
        if data_dir.exists() && !data_dir.is_dir() {
            return Err(ConfigError::new(
                "DATA_DIR",
                "exists but is not a directory",
            ));
        }

        let bind = match get("BIND") {
            Some(raw) => raw.trim().parse::<SocketAddr>().map_err(|_| {
                ConfigError::new(
                    "BIND",
                    format!("`{raw}` is not an address like 127.0.0.1:8080"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };

        let database_url = match get("DATABASE_URL") {
            Some(url) => {
                if !(url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://"))
                {
                    return Err(ConfigError::new(
                        "DATABASE_URL",
                        "must start with sqlite: or postgres:// (e.g. sqlite://./data/crowdlend.db?mode=rwc)",
                    ));
                }
                url
            }
            None => format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("crowdlend.db").to_string_lossy()
            ),
        };

        let base_url = match get("BASE_URL") {
            Some(raw) => {
                let url = Url::parse(raw.trim()).map_err(|err| {
                    ConfigError::new("BASE_URL", format!("`{raw}` is not a URL ({err})"))
                })?;
                if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                    return Err(ConfigError::new(
                        "BASE_URL",
                        "must be an http:// or https:// URL with a host",
                    ));
                }
                url
            }
            None => Url::parse(&format!("http://{bind}"))
                .map_err(|err| ConfigError::new("BIND", err.to_string()))?,
        };

        let trust_proxy_headers = match get("TRUST_PROXY_HEADERS").as_deref() {
            None | Some("false" | "0" | "no") => false,
            Some("true" | "1" | "yes") => true,
            Some(other) => {
                return Err(ConfigError::new(
                    "TRUST_PROXY_HEADERS",
                    format!("`{other}` is not true or false"),
                ));
            }
        };

        let trusted_proxy_hops = match get("TRUSTED_PROXY_HOPS") {
            Some(raw) => raw.trim().parse::<NonZeroUsize>().map_err(|_| {
                ConfigError::new(
                    "TRUSTED_PROXY_HOPS",
                    format!("`{raw}` is not a number of proxies (1, 2, ...)"),
                )
            })?,
            None => NonZeroUsize::MIN,
        };

        let (secret_key, source) = match get("SECRET_KEY") {
            Some(key) => (check_secret(&key)?, SecretKeySource::Environment),
            None => load_or_generate_secret(&data_dir, missing_secret)?,
        };

        let smtp_url = get("SMTP_URL")
            .map(|raw| parse_smtp_url(&raw))
            .transpose()?;

        let mail_from = match get("MAIL_FROM") {
            Some(raw) => raw.trim().parse().map_err(|_| {
                ConfigError::new(
                    "MAIL_FROM",
                    format!("`{raw}` is not an address like Crowdlend <no-reply@example.com>"),
                )
            })?,
            None => default_mail_from(&base_url)?,
        };

        let smtp_timeout = match get("SMTP_TIMEOUT") {
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|secs| (1..=MAX_SMTP_TIMEOUT_SECS).contains(secs))
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    ConfigError::new(
                        "SMTP_TIMEOUT",
                        format!("`{raw}` is not a whole number of seconds from 1 to {MAX_SMTP_TIMEOUT_SECS}"),
                    )
                })?,
            None => Duration::from_secs(10),
        };

        let money_rate_limit = match get("MONEY_RATE_LIMIT") {
            Some(raw) => {
                RateLimit::parse(&raw).map_err(|err| ConfigError::new("MONEY_RATE_LIMIT", err))?
            }
            None => Some(DEFAULT_MONEY_RATE_LIMIT),
        };

        Ok((
            Self {
                database_url,
                bind,
                base_url,
                data_dir,
                secret_key,
                trust_proxy_headers,
                trusted_proxy_hops,
                smtp_url,
                mail_from,
                smtp_timeout,
                money_rate_limit,
            },
            source,
        ))
    }

    /// Cookies get the `Secure` flag only when the site is served over https,
    /// or logins over plain http on localhost would silently fail.
    #[must_use]
    pub fn cookies_secure(&self) -> bool {
        self.base_url.scheme() == "https"
    }
}

fn check_secret(key: &str) -> Result<SecretKey, ConfigError> {
    if key.chars().count() < MIN_SECRET_KEY_LEN {
        return Err(ConfigError::new(
            "SECRET_KEY",
            format!("must be at least {MIN_SECRET_KEY_LEN} characters long"),
        ));
    }
    Ok(SecretKey(key.to_owned()))
}

fn parse_smtp_url(raw: &str) -> Result<SmtpUrl, ConfigError> {
    let shape = "must be like smtp://user:password@host:2525 or smtps://user:password@host";
    let url = Url::parse(raw.trim()).map_err(|_| ConfigError::new("SMTP_URL", shape))?;
    if !matches!(url.scheme(), "smtp" | "smtps") || url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::new("SMTP_URL", shape));
    }
    Ok(SmtpUrl(url))
}

/// `Crowdlend <no-reply@HOST>` with the host of `BASE_URL` when it is a
/// domain name; `localhost` otherwise (an IP address makes no mail domain).
fn default_mail_from(base_url: &Url) -> Result<lettre::message::Mailbox, ConfigError> {
    let domain = match base_url.host() {
        Some(url::Host::Domain(domain)) => domain.to_owned(),
        _ => "localhost".to_owned(),
    };
    lettre::Address::new("no-reply", &domain)
        .or_else(|_| lettre::Address::new("no-reply", "localhost"))
        .map(|address| lettre::message::Mailbox::new(Some("Crowdlend".to_owned()), address))
        .map_err(|_| ConfigError::new("MAIL_FROM", "set the sender address of emails"))
}

const SECRET_FILE: &str = "secret_key";

fn load_or_generate_secret(
    data_dir: &Path,
    missing_secret: MissingSecret,
) -> Result<(SecretKey, SecretKeySource), ConfigError> {
    let path = data_dir.join(SECRET_FILE);
    if path.exists() {
        let stored = std::fs::read_to_string(&path).map_err(|err| {
            ConfigError::new(
                "SECRET_KEY",
                format!("cannot read {}: {err}", path.display()),
            )
        })?;
        return Ok((check_secret(stored.trim())?, SecretKeySource::DataDir));
    }
    let key: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(MIN_SECRET_KEY_LEN * 2)
        .map(char::from)
        .collect();
    if missing_secret == MissingSecret::Ephemeral {
        return Ok((SecretKey(key), SecretKeySource::Ephemeral));
    }
    std::fs::create_dir_all(data_dir).map_err(|err| {
        ConfigError::new(
            "DATA_DIR",
            format!("cannot create {}: {err}", data_dir.display()),
        )
    })?;
    write_private_file(&path, &key).map_err(|err| {
        ConfigError::new(
            "SECRET_KEY",
            format!("cannot write {}: {err}", path.display()),
        )
    })?;
    Ok((SecretKey(key), SecretKeySource::Generated))
}

#[cfg(unix)]
fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// Hides the password part of a database URL.
#[must_use]
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("redacted"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = std::env::temp_dir().join(format!("crowdlend-config-{}", uuid::Uuid::new_v4()));
        let mut map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        map.entry("DATA_DIR".into())
            .or_insert_with(|| dir.to_string_lossy().into_owned());
        Settings::from_lookup(|name| map.get(name).cloned()).map(|(settings, _)| settings)
    }

    #[test]
    fn env_example_documents_every_setting() {
        let example = include_str!("../.env.example");
        for var in [
            "DATABASE_URL",
            "BIND",
            "BASE_URL",
            "DATA_DIR",
            "SECRET_KEY",
            "TRUST_PROXY_HEADERS",
            "TRUSTED_PROXY_HOPS",
            "SMTP_URL",
            "SMTP_TIMEOUT",
            "MAIL_FROM",
            "MONEY_RATE_LIMIT",
            "RUST_LOG",
        ] {
            assert!(
                example.contains(&format!("{var}=")),
                "{var} is missing from .env.example"
            );
        }
        let source = include_str!("config.rs");
        let read = source.matches("get(\"").count();
        assert_eq!(
            read, 11,
            "a setting was added: document it in .env.example and here"
        );
    }

    #[test]
    fn defaults_are_sqlite_under_the_data_dir_on_localhost() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert!(s.database_url.starts_with("sqlite://"));
        assert!(s.database_url.ends_with("crowdlend.db?mode=rwc"));
        assert!(!s.cookies_secure());
        assert!(!s.trust_proxy_headers);
        assert_eq!(s.trusted_proxy_hops.get(), 1, "one proxy in front");
    }

    #[test]
    fn a_generated_secret_is_kept_and_reused() {
        let dir = std::env::temp_dir().join(format!("crowdlend-secret-{}", uuid::Uuid::new_v4()));
        let dir_str = dir.to_string_lossy().into_owned();
        let lookup = |name: &str| (name == "DATA_DIR").then(|| dir_str.clone());
        let (first, source) = Settings::from_lookup(lookup).unwrap();
        assert_eq!(source, SecretKeySource::Generated);
        let (second, source) = Settings::from_lookup(lookup).unwrap();
        assert_eq!(source, SecretKeySource::DataDir);
        assert_eq!(first.secret_key.expose(), second.secret_key.expose());
        assert!(first.secret_key.expose().len() >= MIN_SECRET_KEY_LEN);
    }

    #[test]
    fn the_money_rate_limit_is_five_in_ten_seconds_unless_set() {
        assert_eq!(
            settings(&[]).unwrap().money_rate_limit,
            Some(DEFAULT_MONEY_RATE_LIMIT)
        );
        let s = settings(&[("MONEY_RATE_LIMIT", " 3/60s ")]).unwrap();
        assert_eq!(
            s.money_rate_limit,
            Some(RateLimit {
                requests: 3,
                per: Duration::from_secs(60)
            })
        );
        let s = settings(&[("MONEY_RATE_LIMIT", "off")]).unwrap();
        assert_eq!(s.money_rate_limit, None);
    }

    #[test]
    fn a_read_only_command_writes_no_secret() {
        let dir = std::env::temp_dir().join(format!("crowdlend-secret-{}", uuid::Uuid::new_v4()));
        let dir_str = dir.to_string_lossy().into_owned();
        let lookup = |name: &str| (name == "DATA_DIR").then(|| dir_str.clone());
        let (_, source) = Settings::from_lookup_with(lookup, MissingSecret::Ephemeral).unwrap();
        assert_eq!(source, SecretKeySource::Ephemeral);
        assert!(!dir.exists(), "nothing written, not even the folder");
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (var, value) in [
            ("BIND", "not-an-address"),
            ("DATABASE_URL", "mysql://x"),
            ("BASE_URL", "ftp://example.com"),
            ("SECRET_KEY", "short"),
            ("TRUST_PROXY_HEADERS", "maybe"),
            ("TRUSTED_PROXY_HOPS", "0"),
            ("TRUSTED_PROXY_HOPS", "-1"),
            ("TRUSTED_PROXY_HOPS", "one"),
            ("SMTP_URL", "http://mail.example.com"),
            ("SMTP_URL", "smtp://"),
            ("MAIL_FROM", "not an address"),
            ("SMTP_TIMEOUT", "0"),
            ("SMTP_TIMEOUT", "61"),
            ("SMTP_TIMEOUT", "ten"),
            ("MONEY_RATE_LIMIT", "5"),
            ("MONEY_RATE_LIMIT", "0/10s"),
            ("MONEY_RATE_LIMIT", "5/0s"),
            ("MONEY_RATE_LIMIT", "5/10m"),
        ] {
            let err = settings(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().starts_with(var), "{err}");
            assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn https_base_url_makes_cookies_secure_and_debug_hides_secrets() {
        let key = "k".repeat(64);
        let s = settings(&[
            ("BASE_URL", "https://lend.example"),
            ("SECRET_KEY", &key),
            ("DATABASE_URL", "postgres://app:hunter2@db/crowdlend"),
            ("SMTP_URL", "smtps://mailer:swordfish@smtp.lend.example"),
        ])
        .unwrap();
        assert!(s.cookies_secure());
        let debug = format!("{s:?}");
        assert!(!debug.contains(&key));
        assert!(!debug.contains("hunter2"));
        assert!(!debug.contains("swordfish"), "{debug}");
        assert!(debug.contains("smtp.lend.example"));
        assert_eq!(s.mail_from.to_string(), "Crowdlend <no-reply@lend.example>");
    }

    #[test]
    fn emails_go_to_files_from_localhost_unless_told_otherwise() {
        let s = settings(&[]).unwrap();
        assert!(s.smtp_url.is_none());
        assert_eq!(s.mail_from.to_string(), "Crowdlend <no-reply@localhost>");
        let s = settings(&[
            ("SMTP_URL", "smtp://127.0.0.1:2525"),
            ("MAIL_FROM", "Loans Team <loans@lend.example>"),
        ])
        .unwrap();
        assert_eq!(s.smtp_url.unwrap().host(), "127.0.0.1");
        assert_eq!(s.mail_from.email.to_string(), "loans@lend.example");
    }
}
