//! Sending email. The [`Mailer`] takes an [`OutgoingEmail`] (plain data,
//! rendered when it was queued) and hands it to an SMTP server, or, when no
//! `SMTP_URL` is configured, writes it as an `.eml` file under
//! `DATA_DIR/mail` for development; what went wrong comes back as a
//! [`MailError`]. Nothing here knows the database: `services::outbox` builds
//! the email from the row it claimed, and the `outbox` job records the
//! outcome.

pub mod messages;

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
    transport::smtp::extension::ClientId,
};

use crate::{config::Settings, domain::ids::EmailId};

/// One email to send, as queued: already rendered, addressed, and named by
/// the id of its queue entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// The queue entry's id; the `Message-ID` is derived from it.
    pub id: EmailId,
    /// The recipient's address.
    pub to: String,
    pub subject: String,
    /// The plain-text body.
    pub text_body: String,
    /// The HTML body.
    pub html_body: String,
}

/// Why an email was not sent. Each reads as one line, causes included: the
/// text stored with the queued email and shown to staff. The causes are part
/// of the text rather than `source()`s, so that text is all there is to
/// store.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The recipient's address cannot be used.
    #[error("the address \u{201c}{address}\u{201d} cannot receive email: {reason}")]
    BadAddress {
        address: String,
        reason: lettre::address::AddressError,
    },
    /// The message could not be assembled from its parts.
    #[error("the message could not be built: {0}")]
    Build(lettre::error::Error),
    /// The transport did not finish within `SMTP_TIMEOUT`.
    #[error(
        "no answer from {destination} within {seconds} second{}; the attempt was abandoned",
        if *.seconds == 1 { "" } else { "s" }
    )]
    Timeout {
        /// Where the email was going ([`Mailer::describe`]).
        destination: String,
        seconds: u64,
    },
    /// The SMTP server refused the email or could not be reached: the
    /// transport's error and its causes on one line.
    #[error("{0}")]
    Transport(String),
    /// The `.eml` file (or its folder) could not be written: the reason on
    /// one line.
    #[error("{0}")]
    File(String),
}

/// Sends rendered emails through the configured transport.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
    /// The longest one send may take, whatever the transport does.
    timeout: Duration,
}

#[derive(Clone)]
enum Transport {
    Smtp {
        host: String,
        transport: AsyncSmtpTransport<Tokio1Executor>,
    },
    Files {
        dir: PathBuf,
        transport: AsyncFileTransport<Tokio1Executor>,
    },
}

impl Mailer {
    /// SMTP when `SMTP_URL` is set, otherwise `.eml` files under `DATA_DIR/mail`.
    ///
    /// # Errors
    /// When the SMTP URL names a TLS mode or scheme the transport cannot use.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let transport = match &settings.smtp_url {
            Some(url) => {
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .context("SMTP_URL cannot be used")?
                    .timeout(Some(settings.smtp_timeout));
                // Greet the server with the site's own name (a path in the URL
                // already chose one), not "localhost", which some servers refuse.
                if let Some(url::Host::Domain(domain)) = settings.base_url.host()
                    && url::Url::parse(url.expose()).is_ok_and(|u| u.path().len() <= 1)
                {
                    builder = builder.hello_name(ClientId::Domain(domain.to_owned()));
                }
                Transport::Smtp {
                    host: url.host().to_owned(),
                    transport: builder.build(),
                }
            }
            None => {
                let dir = settings.data_dir.join("mail");
                Transport::Files {
                    transport: AsyncFileTransport::new(&dir),
                    dir,
                }
            }
        };
        Ok(Self {
            from: settings.mail_from.clone(),
            transport,
            timeout: settings.smtp_timeout,
        })
    }

    /// Where emails go, for the logs and the back office.
    #[must_use]
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp { host, .. } => format!("the SMTP server {host}"),
            Transport::Files { dir, .. } => format!(".eml files in {}", dir.display()),
        }
    }

    /// Sends one queued email as a multipart/alternative message (plain text
    /// and HTML). Its `Message-ID` is derived from the queue entry's id, so a
    /// message sent twice after a crash mid-send can be recognised as one.
    ///
    /// The whole send is bounded by `SMTP_TIMEOUT`: lettre's own timeout
    /// covers connecting and each read, but a server that accepts the
    /// connection and never answers would otherwise hold the sender forever.
    ///
    /// # Errors
    /// A [`MailError`]; its text is what to store with the email and show
    /// staff.
    pub async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = self.message(email)?;
        tokio::time::timeout(self.timeout, self.deliver(message))
            .await
            .unwrap_or_else(|_| {
                Err(MailError::Timeout {
                    destination: self.describe(),
                    seconds: self.timeout.as_secs(),
                })
            })
    }

    async fn deliver(&self, message: Message) -> Result<(), MailError> {
        match &self.transport {
            Transport::Smtp { transport, .. } => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|err| MailError::Transport(error_line(&err))),
            Transport::Files { dir, transport } => {
                tokio::fs::create_dir_all(dir).await.map_err(|err| {
                    MailError::File(format!(
                        "cannot create the mail folder {}: {err}",
                        dir.display()
                    ))
                })?;
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|err| MailError::File(error_line(&err)))
            }
        }
    }

    fn message(&self, email: &OutgoingEmail) -> Result<Message, MailError> {
        let to: Mailbox = email.to.parse().map_err(|reason| MailError::BadAddress {
            address: email.to.clone(),
            reason,
        })?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(format!("<{}@{}>", email.id, self.from.email.domain())))
            .multipart(MultiPart::alternative_plain_html(
                email.text_body.clone(),
                email.html_body.clone(),
            ))
            .map_err(MailError::Build)
    }
}

/// An error and its causes on one line.
fn error_line(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = inner.source();
    }
    line.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailer(dir: PathBuf) -> Mailer {
        Mailer {
            from: "Crowdlend <no-reply@lend.example>".parse().unwrap(),
            transport: Transport::Files {
                transport: AsyncFileTransport::new(&dir),
                dir,
            },
            timeout: Duration::from_secs(5),
        }
    }

    fn email(to: &str) -> OutgoingEmail {
        OutgoingEmail {
            id: "0193f000-0000-7000-8000-00000000002a".parse().unwrap(),
            to: to.to_owned(),
            subject: "Your identity is verified".to_owned(),
            text_body: "Hello,\n".to_owned(),
            html_body: "<p>Hello,</p>".to_owned(),
        }
    }

    #[test]
    fn the_message_id_comes_from_the_queued_emails_id() {
        let mailer = mailer(PathBuf::from("unused"));
        let message = mailer.message(&email("someone@example.com")).unwrap();
        let text = String::from_utf8(message.formatted()).unwrap();
        assert!(
            text.contains("Message-ID: <0193f000-0000-7000-8000-00000000002a@lend.example>"),
            "{text}"
        );
    }

    #[test]
    fn an_address_that_cannot_receive_email_is_refused_before_sending() {
        let mailer = mailer(PathBuf::from("unused"));
        let err = mailer.message(&email("not an address")).unwrap_err();
        assert!(matches!(err, MailError::BadAddress { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("the address \u{201c}not an address\u{201d} cannot receive email: "),
            "{err}"
        );
    }

    #[test]
    fn a_timeout_reads_as_one_line_naming_where_and_how_long() {
        let one = MailError::Timeout {
            destination: "the SMTP server smtp.lend.example".to_owned(),
            seconds: 1,
        };
        assert_eq!(
            one.to_string(),
            "no answer from the SMTP server smtp.lend.example within 1 second; the attempt was abandoned"
        );
        let many = MailError::Timeout {
            destination: "x".to_owned(),
            seconds: 30,
        };
        assert!(many.to_string().contains("within 30 seconds;"));
    }

    #[tokio::test]
    async fn without_smtp_an_email_becomes_an_eml_file() {
        let dir = tempfile::tempdir().unwrap();
        let mail_dir = dir.path().join("mail");
        mailer(mail_dir.clone())
            .send(&email("someone@example.com"))
            .await
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(&mail_dir).unwrap().collect();
        assert_eq!(files.len(), 1);
    }

    #[tokio::test]
    async fn a_mail_folder_that_cannot_be_created_is_a_file_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "").unwrap();
        let err = mailer(file.join("mail"))
            .send(&email("someone@example.com"))
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::File(_)), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("cannot create the mail folder "),
            "{err}"
        );
        assert_eq!(err.to_string().lines().count(), 1);
    }
}
