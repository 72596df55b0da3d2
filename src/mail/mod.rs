//! Sending email. The [`Mailer`] takes a queued row of `outbox_emails` (already
//! rendered when it was queued) and hands it to an SMTP server, or, when no
//! `SMTP_URL` is configured, writes it as an `.eml` file under
//! `DATA_DIR/mail` for development. Nothing here touches the database: the
//! `outbox` job decides what to send and records the outcome.

pub mod messages;

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
    transport::smtp::extension::ClientId,
};

use crate::{config::Settings, db::entities::outbox_emails};

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
    /// and HTML). Its `Message-ID` is derived from the row's id, so a message
    /// sent twice after a crash mid-send can be recognised as one.
    ///
    /// The whole send is bounded by `SMTP_TIMEOUT`: lettre's own timeout
    /// covers connecting and each read, but a server that accepts the
    /// connection and never answers would otherwise hold the sender forever.
    ///
    /// # Errors
    /// What went wrong, in one line, to store with the row and show staff.
    pub async fn send(&self, email: &outbox_emails::Model) -> Result<(), String> {
        let message = self.message(email)?;
        tokio::time::timeout(self.timeout, self.deliver(message))
            .await
            .unwrap_or_else(|_| {
                let seconds = self.timeout.as_secs();
                Err(format!(
                    "no answer from {} within {seconds} second{}; the attempt was abandoned",
                    self.describe(),
                    if seconds == 1 { "" } else { "s" }
                ))
            })
    }

    async fn deliver(&self, message: Message) -> Result<(), String> {
        match &self.transport {
            Transport::Smtp { transport, .. } => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|err| error_line(&err)),
            Transport::Files { dir, transport } => {
                tokio::fs::create_dir_all(dir).await.map_err(|err| {
                    format!("cannot create the mail folder {}: {err}", dir.display())
                })?;
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|err| error_line(&err))
            }
        }
    }

    fn message(&self, email: &outbox_emails::Model) -> Result<Message, String> {
        let to: Mailbox = email.to_address.parse().map_err(|err| {
            format!(
                "the address \u{201c}{}\u{201d} cannot receive email: {err}",
                email.to_address
            )
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
            .map_err(|err| format!("the message could not be built: {err}"))
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
