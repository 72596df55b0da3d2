//! A real SMTP server for the tests, on a random local port: enough of the
//! protocol for lettre (greeting, EHLO/HELO, MAIL, RCPT, DATA with
//! dot-unstuffing, RSET, NOOP, QUIT). It records every message it accepts,
//! and can be told to refuse senders (e.g. `554`) to test failures.
//!
//! ```ignore
//! let smtp = SmtpServer::start().await;
//! let app = spawn_app_with(&[("SMTP_URL", &smtp.url())]).await;
//! // ... something queues an email ...
//! app.run_outbox().await;
//! let message = smtp.single_message();
//! assert_eq!(message.to, ["someone@example.com"]);
//! assert_eq!(message.subject(), "Your identity is verified");
//! ```

use std::sync::{Arc, Mutex};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

/// How the server answers `MAIL FROM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Accept every message.
    Accept,
    /// Answer `MAIL FROM` with this reply code (`554` permanent, `421` temporary).
    RefuseSender(u16),
}

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message itself, as sent after `DATA` (dot-unstuffed, CRLF line ends).
    pub data: String,
}

impl ReceivedMessage {
    pub fn parsed(&self) -> mailparse::ParsedMail<'_> {
        mailparse::parse_mail(self.data.as_bytes()).expect("the message parses")
    }

    /// The decoded `Subject` header.
    pub fn subject(&self) -> String {
        header(&self.parsed(), "Subject")
    }

    /// The decoded body of the first part of this MIME type (`text/plain`, `text/html`).
    pub fn body(&self, mime: &str) -> String {
        part_body(&self.parsed(), mime).unwrap_or_else(|| panic!("the message has a {mime} part"))
    }
}

/// The value of header `name` (decoded), or "".
pub fn header(mail: &mailparse::ParsedMail<'_>, name: &str) -> String {
    use mailparse::MailHeaderMap;
    mail.headers.get_first_value(name).unwrap_or_default()
}

/// The decoded body of the first part with this MIME type, searching nested parts.
pub fn part_body(mail: &mailparse::ParsedMail<'_>, mime: &str) -> Option<String> {
    if mail.subparts.is_empty() {
        return (mail.ctype.mimetype == mime).then(|| mail.get_body().unwrap());
    }
    mail.subparts.iter().find_map(|part| part_body(part, mime))
}

pub struct SmtpServer {
    pub port: u16,
    behaviour: Arc<Mutex<Behaviour>>,
    received: Arc<Mutex<Vec<ReceivedMessage>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpServer {
    /// A server that accepts every message.
    pub async fn start() -> Self {
        Self::with(Behaviour::Accept).await
    }

    /// A server that answers `MAIL FROM` with `code`.
    pub async fn refusing(code: u16) -> Self {
        Self::with(Behaviour::RefuseSender(code)).await
    }

    pub async fn with(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let behaviour = Arc::new(Mutex::new(behaviour));
        let received = Arc::new(Mutex::new(Vec::new()));
        let task = {
            let behaviour = behaviour.clone();
            let received = received.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let behaviour = *behaviour.lock().unwrap();
                    let received = received.clone();
                    tokio::spawn(async move {
                        // A client that hangs up mid-conversation is its business.
                        let _ = converse(stream, behaviour, received).await;
                    });
                }
            })
        };
        Self {
            port,
            behaviour,
            received,
            task,
        }
    }

    /// `smtp://127.0.0.1:PORT`, for `SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Changes how new connections are answered.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    /// Every accepted message, in the order they arrived.
    pub fn received(&self) -> Vec<ReceivedMessage> {
        self.received.lock().unwrap().clone()
    }

    /// The one message received (fails when there are none or several).
    pub fn single_message(&self) -> ReceivedMessage {
        let received = self.received();
        assert_eq!(received.len(), 1, "exactly one message: {received:#?}");
        received.into_iter().next().unwrap()
    }
}

/// The address inside `MAIL FROM:<a@b> SIZE=1` or `RCPT TO:<a@b>`.
fn address(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |i| i + 1);
    let end = argument[start..]
        .find('>')
        .map_or(argument.len(), |i| start + i);
    argument[start..end].to_owned()
}

async fn converse(
    stream: TcpStream,
    behaviour: Behaviour,
    received: Arc<Mutex<Vec<ReceivedMessage>>>,
) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    writer.write_all(b"220 test.local ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-test.local greets you\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n",
            "HELO" => b"250 test.local\r\n",
            "MAIL" => match behaviour {
                Behaviour::Accept => {
                    from = address(command);
                    to.clear();
                    b"250 2.1.0 OK\r\n"
                }
                Behaviour::RefuseSender(code) => {
                    let reply = format!("{code} 5.7.1 Sender refused by the test server\r\n");
                    writer.write_all(reply.as_bytes()).await?;
                    continue;
                }
            },
            "RCPT" => {
                to.push(address(command));
                b"250 2.1.5 OK\r\n"
            }
            "DATA" => {
                writer
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                received.lock().unwrap().push(ReceivedMessage {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                });
                b"250 2.0.0 Queued\r\n"
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 2.0.0 OK\r\n"
            }
            "NOOP" => b"250 2.0.0 OK\r\n",
            "QUIT" => {
                writer.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 5.5.2 Command not recognised\r\n",
        };
        writer.write_all(reply).await?;
    }
}
