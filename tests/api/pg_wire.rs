//! A TCP relay in front of PostgreSQL that counts the app's round trips on
//! the wire. Every exchange the client waits for ends with a `Sync` (the
//! extended protocol) or is one `Query` (the simple protocol), so counting
//! those, and what came before each `Sync`, tells statements from statement
//! preparations and pings (a `Sync` alone: sqlx's connection check).
//! Connections through it must not ask for TLS (`sslmode=disable`).

use std::sync::{Arc, Mutex};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// Round trips seen so far, by what they carried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundTrips {
    /// Bind and Execute: a prepared statement run.
    pub executes: usize,
    /// Parse without Execute: a statement prepared for later runs.
    pub prepares: usize,
    /// A Sync with nothing before it: a connection check.
    pub pings: usize,
    /// A simple-protocol query (`BEGIN`, `COMMIT`, unprepared SQL).
    pub simple_queries: usize,
    /// Connections opened (a start-up message).
    pub connections: usize,
}

impl RoundTrips {
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            executes: self.executes - earlier.executes,
            prepares: self.prepares - earlier.prepares,
            pings: self.pings - earlier.pings,
            simple_queries: self.simple_queries - earlier.simple_queries,
            connections: self.connections - earlier.connections,
        }
    }
}

#[derive(Clone)]
pub struct PgWire {
    pub port: u16,
    counts: Arc<Mutex<RoundTrips>>,
}

impl PgWire {
    /// Relays connections on a free local port to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let counts = Arc::new(Mutex::new(RoundTrips::default()));
        let shared = counts.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(&upstream).await.unwrap();
                tokio::spawn(relay(client, server, shared.clone()));
            }
        });
        Self { port, counts }
    }

    pub fn counts(&self) -> RoundTrips {
        *self.counts.lock().unwrap()
    }
}

async fn relay(client: TcpStream, server: TcpStream, counts: Arc<Mutex<RoundTrips>>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let replies = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    });
    let mut pending: Vec<u8> = Vec::new();
    let mut batch: Vec<u8> = Vec::new();
    let mut started = false;
    let mut buffer = vec![0_u8; 64 * 1024];
    loop {
        let read = match client_read.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        pending.extend_from_slice(&buffer[..read]);
        if server_write.write_all(&buffer[..read]).await.is_err() {
            break;
        }
        // Whole messages only: the start-up message has no type byte, every
        // other one is a type byte then a length that counts itself.
        loop {
            if !started {
                let Some(length) = length_at(&pending, 0) else {
                    break;
                };
                if pending.len() < length {
                    break;
                }
                pending.drain(..length);
                started = true;
                counts.lock().unwrap().connections += 1;
                continue;
            }
            let Some(length) = length_at(&pending, 1) else {
                break;
            };
            if pending.len() < 1 + length {
                break;
            }
            let kind = pending[0];
            pending.drain(..1 + length);
            let mut counts = counts.lock().unwrap();
            match kind {
                b'Q' => counts.simple_queries += 1,
                b'S' => {
                    if batch.contains(&b'E') {
                        counts.executes += 1;
                    } else if batch.contains(&b'P') {
                        counts.prepares += 1;
                    } else {
                        counts.pings += 1;
                    }
                    batch.clear();
                }
                other => batch.push(other),
            }
        }
    }
    replies.abort();
}

fn length_at(bytes: &[u8], at: usize) -> Option<usize> {
    let raw: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    usize::try_from(u32::from_be_bytes(raw)).ok()
}
